"""Kill -9, rebalances, broker restarts and producer retries: effects stay exactly-once.

Each test runs 5,000 seeded orders through two real workers while faults strike during
the load, checks that the workers recover (all ready, all orders decided, within the
bound), then reads every topic read-committed and checks the invariants the README
lists under "Exactly-once", that every agent input had its effect exactly once, and that
every event the shipped routing examples match reached its target exactly once.
Set ES_TEST_EXACTLY_ONCE_REPAIRS (e.g. ``none`` or ``-commit-gate``) to run the same
schedules without some of the repairs in ``ecommerce_streams.exactly_once``.
"""

import os
from pathlib import Path

import pytest

from ecommerce_streams.harness.chaos import ChaosRun, Fault, run_schedule
from ecommerce_streams.harness.kafka import EmbeddedKafka
from ecommerce_streams.harness.routing_examples import (
    FRENCH_WAREHOUSE_SUBSCRIPTION,
    HIGH_VALUE_RULE,
)

pytestmark = pytest.mark.chaos

ORDERS = 5000
ROUTES = {f"rule/{HIGH_VALUE_RULE}/fraud-review", f"subscription/{FRENCH_WAREHOUSE_SUBSCRIPTION}"}


async def run_faults(kafka: EmbeddedKafka, tmp_path: Path, *faults: Fault, seed: int) -> ChaosRun:
    """Run one schedule against the session's broker and print what happened."""
    repairs = os.environ.get("ES_TEST_EXACTLY_ONCE_REPAIRS")
    run = await run_schedule(
        bootstrap=kafka.bootstrap,
        workdir=tmp_path,
        faults=faults,
        orders=ORDERS,
        seed=seed,
        kafka=kafka,
        extra_env={"ES_EXACTLY_ONCE_REPAIRS": repairs} if repairs else None,
        verify_timeout=600,
    )
    assert run.report is not None
    outcome = "\n".join([*run.notes, *run.errors, run.report.render(limit=None)])
    (tmp_path / "report.txt").write_text(outcome + "\n")  # kept beside the workers' logs
    print(outcome)
    return run


def assert_exactly_once(run: ChaosRun) -> None:
    """Recovered in time, every invariant held, every order decided once."""
    assert run.errors == []
    assert run.report is not None
    assert run.report.violations[:10] == []  # a wedge comes first, then what it left undone
    assert run.recovery_seconds is not None
    assert run.report.orders == ORDERS
    assert run.report.without_terminal == 0
    assert run.report.confirmed + sum(run.report.rejected.values()) + run.report.cancelled == ORDERS
    assert set(run.report.routed) == ROUTES  # each delivery checked: once, and only if matched


async def test_worker_killed_mid_load_and_restarted_loses_and_repeats_nothing(
    kafka: EmbeddedKafka, tmp_path: Path
) -> None:
    run = await run_faults(
        kafka, tmp_path, Fault.KILL_WORKER, Fault.KILL_WORKER, Fault.KILL_WORKER, seed=101
    )
    assert_exactly_once(run)


async def test_workers_joining_and_leaving_mid_load_lose_and_repeat_nothing(
    kafka: EmbeddedKafka, tmp_path: Path
) -> None:
    run = await run_faults(
        kafka, tmp_path, Fault.ADD_WORKER, Fault.REMOVE_WORKER, Fault.ADD_WORKER, seed=102
    )
    assert_exactly_once(run)


async def test_broker_restart_mid_load_loses_and_repeats_nothing(
    kafka: EmbeddedKafka, tmp_path: Path
) -> None:
    run = await run_faults(kafka, tmp_path, Fault.RESTART_BROKER, seed=103)
    assert_exactly_once(run)


async def test_broker_stopped_gracefully_while_a_worker_joins_loses_and_repeats_nothing(
    kafka: EmbeddedKafka, tmp_path: Path
) -> None:
    run = await run_faults(kafka, tmp_path, Fault.RESTART_BROKER_DURING_JOIN, seed=105)
    assert_exactly_once(run)


async def test_producer_retrying_the_same_event_ids_has_one_effect(
    kafka: EmbeddedKafka, tmp_path: Path
) -> None:
    run = await run_faults(kafka, tmp_path, Fault.RETRY_PRODUCER, Fault.RETRY_PRODUCER, seed=104)
    assert_exactly_once(run)
    assert run.report is not None
    assert run.report.input_duplicates > ORDERS * 0.15  # ~540 generated + ~950 re-sent
