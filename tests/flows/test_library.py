"""The flows Retain ships: each reads, round-trips, and does what its file says."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time
from importlib import resources

import pytest

from retain.domain.flows import (
    Branch,
    CreateTask,
    DateTrigger,
    EventTrigger,
    Exit,
    Flow,
    Offer,
    ScheduleTrigger,
    ScoreTrigger,
    Send,
    Wait,
    WaitForEvent,
)
from retain.flows.reader import flow_to_dict, library, load_flow, read_flow
from retain.messaging.templating import default_templates

NAMES = {
    "new-customer-thank-you",
    "feedback-acknowledgement",
    "ticket-csat",
    "nps-survey",
    "points-update",
    "points-expiring",
    "post-purchase",
    "second-purchase-nudge",
    "we-miss-you",
    "win-back",
    "anniversary",
    "birthday",
    "warning-signs",
    "newsletter",
    "replenishment",
}
FOLDER = resources.files("retain.flows").joinpath("library")


@pytest.fixture(scope="module")
def templates() -> set[str]:
    return set(default_templates())


@pytest.fixture(scope="module")
def flows() -> dict[str, Flow]:
    return library()


def sends(flow: Flow) -> list[Send]:
    return [step for step in flow.steps if isinstance(step, Send)]


def test_the_library_holds_the_expected_flows(flows: dict[str, Flow]) -> None:
    assert set(flows) == NAMES
    files = {entry.name for entry in FOLDER.iterdir() if entry.name.endswith(".yaml")}
    assert files == {f"{name}.yaml" for name in NAMES}


@pytest.mark.parametrize("name", sorted(NAMES))
def test_each_flow_reads_with_the_shipped_templates(
    name: str, templates: set[str], flows: dict[str, Flow]
) -> None:
    text = FOLDER.joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    flow = read_flow(text, f"{name}.yaml", templates)
    assert flow == flows[name]
    assert flow.name == name
    assert flow.title
    assert flow.description
    assert flow.problems() == []


@pytest.mark.parametrize("name", sorted(NAMES))
def test_each_flow_round_trips_through_json(name: str, flows: dict[str, Flow]) -> None:
    flow = flows[name]
    stored = json.dumps(flow_to_dict(flow))
    assert read_flow(stored) == flow
    assert flow_to_dict(read_flow(stored)) == json.loads(stored)


# Service flows answer the customer: holding anyone back would leave feedback unacknowledged
# or a survey unasked, and there is no revenue effect to measure.
SERVICE = {"feedback-acknowledgement", "ticket-csat", "nps-survey"}


def test_every_marketing_flow_holds_back_a_tenth_and_no_service_flow_does(flows: dict[str, Flow]) -> None:
    expected = {name: 0.0 if name in SERVICE else 0.1 for name in NAMES}
    assert {name: flow.holdout for name, flow in flows.items()} == expected


def test_every_flow_has_settings(flows: dict[str, Flow]) -> None:
    assert all(flow.settings for flow in flows.values())


def test_library_is_read_once_and_copied() -> None:
    first = library()
    first.clear()
    assert set(library()) == NAMES


def test_load_flow_reads_a_library_file(templates: set[str], flows: dict[str, Flow]) -> None:
    with resources.as_file(FOLDER.joinpath("birthday.yaml")) as path:
        assert load_flow(path, templates) == flows["birthday"]


def test_new_customer_thank_you(flows: dict[str, Flow]) -> None:
    flow = flows["new-customer-thank-you"]
    assert flow.trigger == EventTrigger("order_placed")
    assert flow.entry == {"field": "orders", "op": "=", "value": 1}
    assert flow.steps[0] == Wait("wait-for-morning", until=time(10, 0))
    assert [send.template for send in sends(flow)] == ["thank_you"]
    branch = flow.steps[2]
    assert isinstance(branch, Branch)
    assert branch.condition == {
        "all": [
            {"field": "first_order", "op": "=", "value": True},
            {"field": "order_total", "op": ">=", "value": flow.settings["high_value_first_order"]},
        ]
    }
    task = flow.steps[flow.step(branch.then)]
    assert isinstance(task, CreateTask)
    assert (task.title, task.role, task.due_hours) == (
        "Write a personal note to this new customer",
        "agent",
        48,
    )
    assert flow.exit_on == ()


def test_post_purchase_skips_the_thank_you_for_first_orders(flows: dict[str, Flow]) -> None:
    flow = flows["post-purchase"]
    assert flow.trigger == EventTrigger("order_placed")
    assert flow.entry is None
    assert [send.template for send in sends(flow)] == [
        "thank_you",
        "tips",
        "review_request",
        "survey_invitation",
    ]
    waits = [step.days for step in flow.steps if isinstance(step, Wait)]
    settings = flow.settings
    assert (
        waits
        == [
            settings["thank_you_after_days"],
            settings["tips_after_days"],
            settings["review_after_days"],
            settings["survey_after_days"],
        ]
        == [1, 5, 9, 7]
    )
    branch = next(step for step in flow.steps if isinstance(step, Branch))
    assert branch.condition == {"field": "first_order", "op": "=", "value": True}
    assert flow.step(branch.then) == flow.step("thank-you") + 1
    assert (flow.reentry, flow.reentry_days) == ("after", settings["reentry_days"])


def test_second_purchase_nudge(flows: dict[str, Flow]) -> None:
    flow = flows["second-purchase-nudge"]
    assert flow.trigger == DateTrigger("expected_next_order", -flow.settings["lead_days"])
    assert flow.trigger.offset_days == -3
    assert flow.entry == {"field": "orders", "op": "=", "value": 1}
    assert [send.template for send in sends(flow)] == ["second_purchase"]
    wait = flow.steps[1]
    assert isinstance(wait, WaitForEvent)
    assert (wait.event, wait.timeout_days, wait.on_event) == ("order_placed", 14, "exit")
    assert flow.exit_on == ("order_placed",)


def test_we_miss_you(flows: dict[str, Flow]) -> None:
    flow = flows["we-miss-you"]
    assert flow.trigger == DateTrigger("expected_next_order", flow.settings["margin_days"])
    assert flow.trigger.offset_days == 14
    assert flow.entry == {
        "all": [
            {"field": "orders", "op": ">=", "value": 2},
            {"field": "days_since_last_order", "op": ">=", "value": 30},
        ]
    }
    assert [send.template for send in sends(flow)] == ["we_miss_you"]
    assert flow.exit_on == ("order_placed",)
    assert (flow.reentry, flow.reentry_days) == ("after", 90)


def test_win_back_raises_the_offer_until_an_order(flows: dict[str, Flow]) -> None:
    flow = flows["win-back"]
    settings = flow.settings
    assert flow.trigger == ScoreTrigger("p_alive", below=settings["p_alive_threshold"])
    assert settings["p_alive_threshold"] == 0.3
    assert flow.entry == {"field": "orders", "op": ">=", "value": 1}
    assert [(send.template, send.offer) for send in sends(flow)] == [
        ("winback_1", Offer("percent", "10")),
        ("winback_2", Offer("percent", "15")),
        ("winback_3", Offer("percent", "20")),
    ]
    percents = [settings["first_percent"], settings["second_percent"], settings["third_percent"]]
    assert [send.offer.value for send in sends(flow) if send.offer] == [str(p) for p in percents]
    waits = [step for step in flow.steps if isinstance(step, WaitForEvent)]
    assert [(w.event, w.timeout_days, w.on_event) for w in waits] == [("order_placed", 10, "exit")] * 2
    assert isinstance(flow.steps[-1], Exit)
    assert flow.exit_on == ("order_placed",)


def test_anniversary(flows: dict[str, Flow]) -> None:
    flow = flows["anniversary"]
    assert flow.trigger == DateTrigger("first_order_anniversary", 0)
    assert flow.steps[0] == Wait("wait-for-morning", until=time(10, 0))
    (send,) = sends(flow)
    assert send.template == "anniversary"
    assert send.offer == Offer("free_shipping", valid_days=flow.settings["gift_valid_days"])
    assert flow.reentry == "always"


def test_birthday(flows: dict[str, Flow]) -> None:
    flow = flows["birthday"]
    assert flow.trigger == DateTrigger("birthday", 0)
    assert flow.steps[0] == Wait("wait-for-morning", until=time(9, 0))
    (send,) = sends(flow)
    assert send.template == "birthday"
    assert send.offer == Offer("percent", "10", valid_days=30)
    assert (flow.settings["percent"], flow.settings["valid_days"]) == (10, 30)
    assert flow.reentry == "always"


def test_warning_signs(flows: dict[str, Flow]) -> None:
    flow = flows["warning-signs"]
    settings = flow.settings
    assert flow.trigger == ScoreTrigger("churn_probability", above=0.5)
    assert settings["churn_threshold"] == 0.5
    assert settings["top_clv_share"] == 0.1
    assert flow.entry == {"field": "predicted_clv", "op": ">=", "value": settings["min_predicted_clv"]}
    assert flow.steps == (
        CreateTask("reach-out", "Reach out personally: a valuable customer is slipping away", "agent", 24),
    )
    assert (flow.reentry, flow.reentry_days) == ("after", 60)


def test_newsletter(flows: dict[str, Flow]) -> None:
    flow = flows["newsletter"]
    assert flow.trigger == ScheduleTrigger(datetime(2026, 12, 1, 10, 0, tzinfo=UTC), "group:loyal")
    assert [send.template for send in sends(flow)] == ["newsletter"]


def test_replenishment(flows: dict[str, Flow]) -> None:
    flow = flows["replenishment"]
    assert flow.trigger == DateTrigger("expected_next_order", -flow.settings["lead_days"])
    assert flow.trigger.offset_days == -5
    assert flow.entry == {"field": "orders", "op": ">=", "value": 2}
    assert [send.template for send in sends(flow)] == ["replenishment"]
    assert flow.exit_on == ("order_placed",)
    assert (flow.reentry, flow.reentry_days) == ("after", 30)
