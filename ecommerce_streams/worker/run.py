"""Start one Faust worker of the platform (its own datadir and web port)."""

import importlib
import logging
import pkgutil
import sys
import time

from ecommerce_streams.exactly_once import (
    Repair,
    discard_local_state,
    exit_when_stuck,
    keeps_local_state,
    repaired,
    written_recently,
)
from ecommerce_streams.operations.topic_setup import ensure_topics_sync
from ecommerce_streams.worker.app import app, settings
from ecommerce_streams.worker.event_loop import use_event_loop
from ecommerce_streams.worker.garbage_collection import (
    collect_young_every,
    freeze_what_exists,
    time_pauses,
)
from ecommerce_streams.worker.loop_lag import watch_loop_lag

logger = logging.getLogger(__name__)


def load_services() -> None:
    """Import every agent (each module of ``agents/``), its tables, and the web pages."""
    import agents
    import ecommerce_streams.web.health
    import ecommerce_streams.web.ingestion
    import ecommerce_streams.web.metrics_page
    import ecommerce_streams.web.pattern_checks
    import ecommerce_streams.web.routing_api
    import ecommerce_streams.web.schemas_view
    import ecommerce_streams.web.views

    for module in pkgutil.iter_modules(agents.__path__, prefix="agents."):
        importlib.import_module(module.name)
    del ecommerce_streams  # imported for its registrations only


def run_worker() -> None:
    """Create topics, drop untrusted local state, and run the worker until stopped."""
    # Faust's consumer runs in a thread of its own: a commit's replies wait for the
    # interpreter while that thread decodes fetches (bench/results/thread-switch-20261201).
    sys.setswitchinterval(settings.thread_switch_seconds)
    load_services()
    ensure_topics_sync(
        settings.bootstrap,
        settings.topics,
        partitions=settings.partitions,
        replication=settings.replication,
        changelogs=[table.changelog_topic.get_topic_name() for table in app.tables.values()],
    )
    if (
        repaired(app, Repair.FRESH_STATE)
        and settings.processing_guarantee == "exactly_once"
        and not (keeps_local_state(app) and written_recently(app.conf.tabledir, time.time()))
        and discard_local_state(app.conf.tabledir)
    ):
        logger.info("discarded local table state; restoring from changelogs")
    if repaired(app, Repair.FAIL_FAST):
        exit_when_stuck(app, stall_seconds=settings.stall_timeout_seconds)
    tune_garbage_collection()
    app.task(watch_loop_lag)
    use_event_loop(settings.event_loop)  # before app.main() creates the worker's loops
    sys.argv = [
        "ecommerce-streams",
        "worker",
        "--loglevel",
        settings.log_level,
        "--web-port",
        str(settings.web_port),
        "--web-host",
        settings.web_host,
    ]
    app.main()


def tune_garbage_collection() -> None:
    """Time every collection, collect young objects less often, freeze what exists now and
    again once the worker runs (``ecommerce_streams/worker/garbage_collection.py``)."""
    time_pauses()
    collect_young_every(settings.gc_young_allocations)
    if settings.gc_freeze:
        freeze_what_exists()
        app.task(freeze_once_started)


async def freeze_once_started() -> None:
    """Freeze what Faust's start built: it runs once tables are recovered and agents started."""
    frozen = freeze_what_exists()
    logger.info("%d objects of the worker's start frozen for the garbage collector", frozen)
