"""The file outbox: one parseable .eml per message key, written once."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

from retain.messaging.outbox import FileOutbox, file_name
from tests.messaging.conftest import outgoing


def test_each_message_becomes_an_eml_file_a_mail_client_can_read(tmp_path: Path) -> None:
    with FileOutbox(tmp_path / "outbox") as outbox:
        results = outbox.send([outgoing(1, to_name="Zoë"), outgoing(2)])
    assert [(r.key, r.status) for r in results] == [("winback:1", "sent"), ("winback:2", "sent")]
    files = sorted((tmp_path / "outbox").iterdir())
    assert [f.name for f in files] == sorted(file_name(k) for k in ("winback:1", "winback:2"))
    mail = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert mail.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in mail.iter_parts()] == ["text/plain", "text/html"]
    assert (str(mail["To"]), mail["Subject"]) == ("Zoë <customer1@example.com>", "We miss you")


def test_the_same_key_is_written_once_and_never_overwritten(tmp_path: Path) -> None:
    outbox = FileOutbox(tmp_path)
    outbox.send([outgoing(1, subject="First")])
    again = outbox.send([outgoing(1, subject="Second"), outgoing(1, subject="Third")])
    assert [(r.status, r.detail) for r in again] == [("sent", "already in the outbox")] * 2
    [written] = tmp_path.iterdir()
    assert message_from_bytes(written.read_bytes(), policy=policy.default)["Subject"] == "First"


def test_file_names_are_safe_and_keys_that_read_alike_stay_apart() -> None:
    names = {file_name(k) for k in ("a/b", "a:b", "a b", "../../etc/passwd", "", "ä")}
    assert len(names) == 6
    for name in names:
        assert name.endswith(".eml")
        assert not name.startswith(".")
        assert set(name) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
    assert file_name("winback:42").startswith("winback_42-")
    assert len(file_name("x" * 1000)) < 120


def test_a_customer_without_an_email_gets_no_file_but_a_reason(tmp_path: Path) -> None:
    results = FileOutbox(tmp_path).send([outgoing(1, to_address=None), outgoing(2, to_address="  ")])
    assert [(r.status, r.detail) for r in results] == [("skipped", "no email address")] * 2
    assert list(tmp_path.iterdir()) == []
