"""Each stage declares what it reads and writes; the worker, the README and the code agree."""

import re
from collections import Counter
from pathlib import Path

import pytest

from ecommerce_streams.worker.app import app, settings
from ecommerce_streams.worker.run import load_services
from models.envelope import Envelope, derive
from models.events import PAYLOAD_TYPES, OrderConfirmed
from models.notification import notify
from models.stages import AGENT_STAGES, NOTIFICATIONS, STAGES, Stage, Tables, UndeclaredOutput
from models.topics import DERIVED_ROLES, SOURCE_ROLES, TopicRole
from tests.unit.order_samples import PLACED

README = Path(__file__).resolve().parents[2] / "README.md"


def test_a_stage_that_derives_an_event_for_an_undeclared_topic_is_refused() -> None:
    def notify_and_count(tables: Tables, event: Envelope) -> list[Envelope]:
        return notify(event)

    careless = Stage("careless", (TopicRole.ORDER_EVENTS,), (), (), notify_and_count)
    outcome = derive(
        PLACED, OrderConfirmed(order_id="o-1", customer_id="c-1", total="9.99", currency="EUR")
    )

    assert NOTIFICATIONS.apply({}, outcome)
    with pytest.raises(UndeclaredOutput, match=r"careless.*NotificationRequested"):
        careless.apply({}, outcome)


def test_every_derived_payload_goes_to_a_topic_some_stage_writes() -> None:
    written = {role for stage in STAGES for role in stage.writes}
    for payload in PAYLOAD_TYPES.values():
        assert payload.topic in SOURCE_ROLES or payload.topic in written, payload.event_type


def test_every_topic_a_stage_reads_comes_from_shops_or_another_stage() -> None:
    written = {role for stage in STAGES for role in stage.writes}
    for stage in STAGES:
        for role in stage.reads:
            assert role in SOURCE_ROLES or role in written, (stage.name, role)
    assert written <= set(DERIVED_ROLES)


def test_each_topic_the_stages_read_is_read_by_exactly_one_agent() -> None:
    load_services()
    readers = Counter(name for agent in app.agents.values() for name in agent.get_topic_names())
    assert set(readers) == {settings.topics.name(r) for stage in AGENT_STAGES for r in stage.reads}
    assert all(count == 1 for count in readers.values()), readers


def test_the_readme_diagram_shows_every_stage_and_the_topics_it_reads_and_writes() -> None:
    diagram = re.search(r"## How it works\n\n```\n(.*?)```", README.read_text(), re.S)
    assert diagram is not None
    for stage in STAGES:
        assert f"{stage.name} stage" in diagram.group(1)
        for role in (*stage.reads, *stage.writes):
            assert role.value in diagram.group(1), (stage.name, role)
