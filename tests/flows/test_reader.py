"""Reading flows from YAML and JSON: the flows built, and errors that name path and line."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time
from pathlib import Path

import pytest

from retain.domain.flows import Branch, EventTrigger, Flow, FlowError, Offer, Send, Wait
from retain.flows.reader import FlowReadError, flow_to_dict, load_flow, read_flow

TEMPLATES = ("thank_you", "tips", "winback_1", "second_purchase")

# Line numbers matter below: line 1 is "name: welcome".
MINIMAL = """\
name: welcome
title: Welcome
trigger:
  kind: event
  event: order_placed
steps:
  - id: morning
    type: wait
    until: "10:00"
  - id: thanks
    type: send
    template: thank_you
"""


def error(text: str, templates: tuple[str, ...] | None = TEMPLATES) -> FlowReadError:
    with pytest.raises(FlowReadError) as caught:
        read_flow(text, "welcome.yaml", templates)
    return caught.value


def test_a_minimal_flow_in_yaml() -> None:
    flow = read_flow(MINIMAL, "welcome.yaml", TEMPLATES)
    assert flow == Flow(
        name="welcome",
        title="Welcome",
        trigger=EventTrigger("order_placed"),
        steps=(Wait("morning", until=time(10, 0)), Send("thanks", "thank_you")),
    )
    assert flow.holdout == 0.1
    assert flow.reentry == "never"


def test_the_same_flow_in_json() -> None:
    data = {
        "name": "welcome",
        "title": "Welcome",
        "trigger": {"kind": "event", "event": "order_placed"},
        "steps": [
            {"id": "morning", "type": "wait", "until": "10:00"},
            {"id": "thanks", "type": "send", "template": "thank_you"},
        ],
    }
    assert read_flow(json.dumps(data, indent=2), templates=TEMPLATES) == read_flow(MINIMAL)


def test_a_flow_with_every_kind_of_step_round_trips_through_json() -> None:
    text = """\
name: everything-2
title: "Everything — with ünïcode 🎉"
trigger: {kind: schedule, at: "2026-12-01T10:00:00+01:00", segment: "rule:vip"}
entry: {any: [{field: orders, op: ">=", value: 2}, {not: {field: group, op: "=", value: "staff"}}]}
steps:
  - {id: w, type: wait, days: 1.5, until: "07:30:15"}
  - {id: s, type: send, template: winback_1, offer: {kind: fixed, value: "10.00", minimum_order: 50}}
  - {id: c, type: code, offer: {kind: free_shipping, valid_days: 7}}
  - {id: p, type: points, points: 100, reason: thanks}
  - {id: t, type: task, title: Call, role: marketer, due_hours: 4}
  - {id: b, type: branch, condition: {field: order_total, op: ">", value: 99.5}, then: x, otherwise: e}
  - {id: e, type: wait_for_event, event: order_paid, timeout_days: 3, on_event: x, on_timeout: exit}
  - {id: x, type: exit}
exit_on: [order_placed, refunded]
reentry: after
reentry_days: 7
holdout: 0.00001
cap: {messages: 2, days: 7}
settings: {nested: {list: [1, 2.5, true, null, "text"]}}
"""
    flow = read_flow(text)
    assert flow.trigger.kind == "schedule"
    assert flow.trigger.at == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    send = flow.steps[1]
    assert isinstance(send, Send)
    assert send.offer == Offer("fixed", "10.00", 14, "50")
    assert flow.steps[0] == Wait("w", 1.5, time(7, 30, 15))
    data = flow_to_dict(flow)
    assert "value" not in data["steps"][2]["offer"]
    assert read_flow(json.dumps(data)) == flow
    assert read_flow(json.dumps(data, ensure_ascii=False)) == flow
    assert json.loads(json.dumps(data)) == data


def test_load_flow_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "welcome.yaml"
    path.write_text(MINIMAL.replace("thank_you", "thanks"), encoding="utf-8")
    assert load_flow(path).name == "welcome"
    with pytest.raises(FlowError) as caught:
        load_flow(path, templates=TEMPLATES)
    assert str(caught.value).startswith("welcome.yaml:12: steps[1].template: unknown template 'thanks'")


@pytest.mark.parametrize(
    ("old", "new", "line", "path", "words"),
    [
        pytest.param(
            "kind: event", "kind: evnt", 4, "trigger.kind", "unknown trigger kind 'evnt'", id="trigger-kind"
        ),
        pytest.param(
            "type: send", "type: mail", 11, "steps[1].type", "unknown step type 'mail'", id="step-type"
        ),
        pytest.param("    template: thank_you\n", "", 10, "steps[1].template", "required", id="no-template"),
        pytest.param(
            "template: thank_you", "template: thanks", 12, "steps[1].template", "'thanks'", id="template"
        ),
        pytest.param(
            "  event: order_placed", "  event: shipped", 5, "trigger.event", "'shipped'", id="event"
        ),
        pytest.param(
            "template: thank_you",
            "template: thank_you\n    offer: {kind: percent, value: 150}",
            13,
            "steps[1].offer.value",
            "1 to 100",
            id="percent",
        ),
        pytest.param(
            "title: Welcome", "title: Welcome\ncolour: blue", 3, "colour", "unknown key 'colour'", id="extra"
        ),
        pytest.param(
            "    until:",
            "    color: red\n    until:",
            9,
            "steps[0].color",
            "keys: id, type, days",
            id="step-extra",
        ),
        pytest.param('until: "10:00"', 'until: "25:00"', 9, "steps[0].until", "time of day", id="until"),
        pytest.param("name: welcome", "name: Welcome!", 1, "name", "slug", id="name"),
    ],
)
def test_mistakes_name_the_line_and_the_path(old: str, new: str, line: int, path: str, words: str) -> None:
    assert old in MINIMAL
    caught = error(MINIMAL.replace(old, new, 1))
    assert (caught.line, caught.path) == (line, path), str(caught)
    assert words in caught.message
    assert str(caught).startswith(f"welcome.yaml:{line}: {path}: ")


def test_a_duplicate_step_id_is_reported_where_it_occurs() -> None:
    caught = error(MINIMAL.replace("id: thanks", "id: morning"))
    assert [(p.line, p.path) for p in caught.problems] == [(7, "steps[0].id"), (10, "steps[1].id")]
    assert "step id 'morning' is used twice" in caught.message


def test_a_jump_to_an_unknown_step() -> None:
    text = (
        MINIMAL
        + "  - id: big\n    type: branch\n"
        + "    condition: {field: orders, op: '>', value: 1}\n    then: nowhere\n"
    )
    caught = error(text)
    assert (caught.line, caught.path) == (16, "steps[2].then")
    assert "no step 'nowhere'" in caught.message


def test_a_naive_schedule_time() -> None:
    text = MINIMAL.replace(
        "  kind: event\n  event: order_placed", '  kind: schedule\n  at: "2026-12-01T10:00:00"'
    )
    caught = error(text)
    assert (caught.line, caught.path) == (5, "trigger.at")
    assert "no time zone" in caught.message


def test_an_unknown_field_in_the_entry_rule() -> None:
    text = MINIMAL.replace(
        "steps:",
        "entry:\n  all:\n    - {field: orders, op: '>=', value: 1}\n"
        "    - {field: shoe_size, op: '=', value: 9}\nsteps:",
    )
    caught = error(text)
    assert (caught.line, caught.path) == (9, "entry.all[1].field")
    assert "unknown field 'shoe_size'" in caught.message
    assert "order_total" in caught.message  # the triggering order's fields are on offer


def test_a_yaml_syntax_error_gives_its_own_line() -> None:
    caught = error(MINIMAL.replace("    type: send", "    type: send: twice"))
    assert caught.line == 11
    assert "not valid YAML" in caught.message


def test_a_key_given_twice() -> None:
    caught = error(MINIMAL.replace("    template: thank_you", "    template: thank_you\n    template: tips"))
    assert (caught.line, caught.message) == (13, "key 'template' is given twice")


def test_templates_are_checked_only_when_given() -> None:
    text = MINIMAL.replace("template: thank_you", "template: custom_one")
    assert read_flow(text).steps[1] == Send("thanks", "custom_one")
    assert "templates: second_purchase, thank_you" in error(text).message


def test_every_problem_is_reported_in_line_order() -> None:
    text = MINIMAL.replace("template: thank_you", "template: thanks").replace("id: thanks", "id: morning")
    text += "exit_on: [order_placed]\nholdout: 1.5\n"
    caught = error(text)
    assert [(p.line, p.path) for p in caught.problems] == [
        (7, "steps[0].id"),
        (10, "steps[1].id"),
        (12, "steps[1].template"),
        (14, "holdout"),
    ]
    assert caught.line == 7
    assert str(caught).splitlines()[2].startswith("welcome.yaml:12: steps[1].template: unknown template")


def test_shape_errors_are_all_reported_too() -> None:
    text = MINIMAL.replace("kind: event", "kind: evnt").replace("type: send", "type: mail")
    caught = error(text)
    assert [p.path for p in caught.problems] == ["trigger.kind", "steps[1].type"]


@pytest.mark.parametrize(
    ("offer", "words"),
    [
        ("{kind: fixed, value: '-5'}", "positive amount"),
        ("{kind: fixed}", "positive amount"),
        ("{kind: free_shipping, value: 5}", "takes no value"),
        ("{kind: percent, value: 0}", "1 to 100"),
        ("{kind: percent, value: 10, minimum_order: lots}", "amount of 0 or more"),
    ],
)
def test_bad_offers(offer: str, words: str) -> None:
    caught = error(MINIMAL.replace("template: thank_you", f"template: thank_you\n    offer: {offer}"))
    assert caught.line == 13
    assert caught.path.startswith("steps[1].offer.")
    assert words in caught.message


def test_good_offers() -> None:
    text = MINIMAL.replace(
        "template: thank_you", "template: thank_you\n    offer: {kind: percent, value: '25'}"
    )
    step = read_flow(text).steps[1]
    assert isinstance(step, Send)
    assert step.offer == Offer("percent", "25")


def test_a_branch_condition_is_checked() -> None:
    text = (
        MINIMAL
        + "  - id: big\n    type: branch\n"
        + "    condition: {field: order_total, op: '=', value: yes}\n    then: exit\n"
    )
    caught = error(text)
    assert (caught.line, caught.path) == (15, "steps[2].condition.value")


def test_a_branch_on_the_triggering_order() -> None:
    text = MINIMAL + (
        "  - id: big\n    type: branch\n    then: exit\n    condition:\n      all:\n"
        "        - {field: first_order, op: '=', value: true}\n"
        "        - {field: order_total, op: '>=', value: 150}\n"
    )
    step = read_flow(text).steps[2]
    assert isinstance(step, Branch)
    assert step.then == "exit"


def test_not_a_mapping() -> None:
    assert "a flow is a mapping" in error("- just\n- a list\n").message
    assert "empty" in error("").message


def test_yaml_surprises_are_avoided() -> None:
    # YAML 1.1 reads 10:00 as the number 600 and 2026-12-01 as a date; both stay text here.
    flow = read_flow(MINIMAL.replace('"10:00"', "10:00") + "settings: {day: 2026-12-01}\n")
    assert flow.steps[0] == Wait("morning", until=time(10, 0))
    assert flow.settings == {"day": "2026-12-01"}
