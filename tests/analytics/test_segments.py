"""RFM scores and names, the seed's groups, rule segments, and stored memberships."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import product

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from retain.analytics.engine import Analytics
from retain.analytics.segments import Segmenter
from retain.bootstrap import App
from retain.cli import app as cli_app
from retain.domain.conditions import RuleError, compile_rule
from retain.domain.segments import CUSTOMER_FIELDS, RFM_SEGMENTS, group, rfm_segment
from retain.ingest.reader import read_orders
from retain.service.imports import import_orders
from retain.service.segments import define_segment, refresh_segments
from retain.store.tables import segment_changes
from tests.analytics.history import history
from tests.conftest import DATA

AS_OF = datetime(2025, 7, 1, tzinfo=UTC)


def test_every_pair_of_scores_has_exactly_one_name() -> None:
    for r, f in product(range(1, 6), repeat=2):
        assert sum(rule.matches(r, f) for rule in RFM_SEGMENTS) >= 1
    assert {rfm_segment(r, f) for r, f in product(range(1, 6), repeat=2)} == {r.name for r in RFM_SEGMENTS}
    assert (rfm_segment(5, 5), rfm_segment(1, 1), rfm_segment(1, 5), rfm_segment(5, 1)) == (
        "Champions", "Lost", "Can't Lose Them", "New",
    )  # fmt: skip


def test_the_coarse_groups_follow_their_stated_rules() -> None:
    assert group(active=False, orders=9, recency_score=5) == "non-active"
    assert group(active=True, orders=2, recency_score=3) == "loyal"
    assert group(active=True, orders=1, recency_score=5) == "underperforming"
    assert group(active=True, orders=5, recency_score=2) == "underperforming"


# Ten customers: customer n ordered n times, the last time n weeks before AS_OF, $10 each.
TEN = history(
    *(
        (n, (AS_OF - timedelta(weeks=n, days=k)).strftime("%Y-%m-%d %H:%M"), 1_000)
        for n in range(1, 11)
        for k in range(n)
    )
)


def test_scores_are_quintiles_with_the_most_recent_scoring_five() -> None:
    scores = Segmenter(TEN, AS_OF).scores()
    assert [scores[n][0] for n in range(1, 11)] == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]  # recency
    assert [scores[n][1] for n in range(1, 11)] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]  # frequency
    assert [scores[n][2] for n in range(1, 11)] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]  # monetary
    assert [scores[n][3] for n in (1, 3, 5, 9)] == [
        "New",
        "Potential Loyalist",
        "Need Attention",
        "Can't Lose Them",
    ]


def test_customers_tied_on_a_value_share_their_score() -> None:
    tied = history(
        (1, "2025-06-01", 100), (2, "2025-06-01", 100), (3, "2025-06-01", 100), (4, "2025-01-01", 100)
    )
    scores = Segmenter(tied, AS_OF).scores()
    assert scores[1][:3] == scores[2][:3] == scores[3][:3]
    assert scores[4][0] < scores[1][0]


def test_rules_select_customers_and_report_their_revenue_share() -> None:
    segmenter = Segmenter(TEN, AS_OF)
    big = {"not": {"field": "revenue", "op": "<", "value": 90}}
    rule = compile_rule({"all": [{"field": "orders", "op": ">=", "value": 8}, big]}, CUSTOMER_FIELDS)
    assert segmenter.members(rule) == [9, 10]
    size = segmenter.rule_size("big", rule)
    assert (size.customers, size.revenue) == (2, 19_000)
    assert size.revenue_share == pytest.approx(19 / 55)
    either = compile_rule({"field": "rfm_segment", "op": "in", "value": ["New", "Lost"]}, CUSTOMER_FIELDS)
    assert segmenter.members(either) == [1, 2]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"field": "colour", "op": "=", "value": 1}, "field: unknown field 'colour'"),
        ({"all": [{"field": "orders", "op": "~", "value": 1}]}, "all[0].op: unknown operator '~'"),
        (
            {"any": [{"field": "rfm_segment", "op": ">", "value": "New"}]},
            "any[0].op: '>' does not apply to text",
        ),
        ({"field": "orders", "op": ">", "value": "many"}, "value: 'many' is not a number"),
        ({"all": []}, "all: expected a non-empty list"),
        ({"field": "orders", "op": "in", "value": 3}, "value: 'in' needs a non-empty list"),
        (["orders"], "a condition must be an object"),
    ],
)
def test_bad_rules_are_refused_with_where_and_why(rule: object, message: str) -> None:
    with pytest.raises(RuleError, match=message.replace("(", r"\(").replace("[", r"\[")):
        compile_rule(rule, CUSTOMER_FIELDS)


def test_refreshing_records_who_enters_and_leaves(app: App) -> None:
    import_orders(read_orders(DATA / "shopify" / "orders_export.csv"), app.unit_of_work())
    rule = {"field": "orders", "op": ">=", "value": 2}
    assert define_segment(app.unit_of_work(), "repeaters", rule, AS_OF) is True
    first = refresh_segments(app.unit_of_work(), {"rule:repeaters": {1}, "group:loyal": {1, 2}}, AS_OF)
    assert [(r.segment, r.members, r.entered, r.left) for r in first] == [
        ("group:loyal", 2, 2, 0), ("rule:repeaters", 1, 1, 0),
    ]  # fmt: skip
    later = AS_OF + timedelta(days=1)
    second = refresh_segments(app.unit_of_work(), {"rule:repeaters": {1, 2}}, later)
    assert [(r.segment, r.members, r.entered, r.left) for r in second] == [
        ("group:loyal", 0, 0, 2), ("rule:repeaters", 2, 1, 0),
    ]  # fmt: skip
    with app.engine.connect() as connection:
        log = connection.execute(select(segment_changes).order_by(segment_changes.c.id)).all()
    assert [(c.segment, c.customer_id, c.change, c.at) for c in log][-3:] == [
        ("group:loyal", 1, "left", later),
        ("group:loyal", 2, "left", later),
        ("rule:repeaters", 2, "entered", later),
    ]
    assert define_segment(app.unit_of_work(), "repeaters", rule, later) is False


def test_built_in_names_cannot_be_redefined(sqlite_app: App) -> None:
    with pytest.raises(RuleError, match="built-in"):
        define_segment(
            sqlite_app.unit_of_work(), "Champions", {"field": "orders", "op": ">", "value": 1}, AS_OF
        )


def test_the_cli_lists_shows_and_refuses_clearly(cli: CliRunner, sqlite_app: App) -> None:
    url = sqlite_app.url
    assert cli.invoke(cli_app, ["segments", "--db", url]).exit_code == 2  # empty store
    import_orders(read_orders(DATA / "shopify" / "orders_export.csv"), sqlite_app.unit_of_work())
    listed = cli.invoke(cli_app, ["segments", "--json", "--db", url])
    assert listed.exit_code == 0, listed.output
    assert sum(s["customers"] for s in __import__("json").loads(listed.output) if s["kind"] == "group") == 2
    missing = cli.invoke(cli_app, ["segments", "show", "Whales", "--db", url])
    assert missing.exit_code == 2
    assert "no segment named 'Whales'" in missing.output
    bad = cli.invoke(cli_app, ["segments", "define", "x", "{not json", "--db", url])
    assert (bad.exit_code, "not valid JSON" in bad.output) == (2, True)
    unknown = cli.invoke(
        cli_app, ["segments", "define", "x", '{"field": "colour", "op": "=", "value": "red"}', "--db", url]
    )
    assert (unknown.exit_code, "field: unknown field 'colour'" in unknown.output) == (2, True)


def test_segments_read_the_store_through_the_same_engine(sqlite_app: App) -> None:
    import_orders(read_orders(DATA / "shopify" / "orders_export.csv"), sqlite_app.unit_of_work())
    segmenter = Segmenter(Analytics.from_store(sqlite_app.url), AS_OF)
    # Maria ordered twice, most recently; John once; Li's only order was cancelled.
    assert {s.name: s.customers for s in segmenter.sizes("group")} == {"loyal": 1, "underperforming": 1}
