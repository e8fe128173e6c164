"""A replay reads the live sources but writes every derived topic to its own copies."""

from pathlib import Path

import pytest

from ecommerce_streams.operations.changelogs import (
    app_tables,
    changelog_topic,
    tables_with_changelogs,
)
from ecommerce_streams.operations.consumer_group import group_id
from ecommerce_streams.operations.replay import consumed_topics, replay_worker
from ecommerce_streams.settings import Settings
from ecommerce_streams.topic_names import TopicNames
from ecommerce_streams.worker.app import app, settings
from ecommerce_streams.worker.run import load_services


def test_a_replay_reads_the_live_sources_and_writes_derived_topics_under_its_version() -> None:
    live = TopicNames("shop.")
    replay = live.replay(2)

    assert replay.sources() == live.sources()
    assert replay.inventory_commands == "shop.replay-v2.inventory-commands"
    assert replay.dead_letters == "shop.replay-v2.dead-letters"
    assert not set(replay.outputs()) & set(live.all())


def test_replay_settings_route_the_workers_topics_to_the_replay_copies() -> None:
    settings = Settings(topic_prefix="shop.", app_version=3, replay=True)

    assert settings.topics == TopicNames("shop.").replay(3)
    assert Settings(topic_prefix="shop.", app_version=3).topics == TopicNames("shop.")


def test_the_replay_waits_for_exactly_the_topics_the_agents_consume() -> None:
    load_services()
    consumed = {topic for agent in app.agents.values() for topic in agent.channel.topics}

    assert set(consumed_topics(settings.topics)) == consumed


def test_versions_get_their_own_group_and_changelogs_as_faust_names_them() -> None:
    load_services()

    assert group_id("shop", 1) == "shop"
    assert group_id("shop", 2) == "shop-v2"
    assert changelog_topic("shop", 2, "orders") == "shop-v2-orders-changelog"
    assert app_tables() == tuple(app.tables)
    orders_table = app.tables["orders"]
    assert orders_table.changelog_topic.get_topic_name() == changelog_topic(
        app.conf.name, app.conf.version, "orders"
    )


def test_a_replay_worker_runs_with_the_live_settings_at_the_new_version(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    live = Settings(
        broker="kafka-1:9092",
        app_id="shop",
        topic_prefix="shop.",
        partitions=6,
        dedup_window_seconds=90.0,
        processing_guarantee="at_least_once",
    )

    worker = replay_worker(live, 4, tmp_path, 0)
    for name, value in worker.env.items():
        if name.startswith("ES_"):
            monkeypatch.setenv(name, value)
    seen_by_worker = Settings()

    assert seen_by_worker.model_dump(exclude={"app_version", "replay", "datadir", "web_port"}) == (
        live.model_dump(exclude={"app_version", "replay", "datadir", "web_port"})
    )
    assert (seen_by_worker.app_version, seen_by_worker.replay) == (4, True)
    assert seen_by_worker.datadir == worker.datadir
    assert seen_by_worker.web_port == worker.web_port


def test_only_the_changelogs_of_that_app_version_name_its_tables() -> None:
    topics = [
        "shop-v2-orders-changelog",
        "shop-v2-seen-changelog",
        "shop-v3-orders-changelog",
        "shop-v2-orders",
        "shop.orders",
    ]
    assert tables_with_changelogs(topics, "shop", 2) == ["orders", "seen"]


def test_the_consumed_topics_list_the_sources_first() -> None:
    names = TopicNames(prefix="p.")
    consumed = consumed_topics(names)
    assert consumed[: len(names.sources())] == names.sources()
    assert set(consumed[len(names.sources()) :]) == {
        names.inventory_commands,
        names.inventory_results,
        names.order_events,
        names.shipments,
        names.notifications,
    }


def test_a_replay_waits_for_no_topic_only_the_routing_agent_reads() -> None:
    names = TopicNames(prefix="p.")
    assert names.shipments in consumed_topics(names)
    assert names.shipments not in consumed_topics(names, routing=False)
    assert names.notifications not in consumed_topics(names, routing=False)
