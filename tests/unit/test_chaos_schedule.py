"""Fault schedules: drawn at random from every fault kind, reproducible from their seed."""

import random

from ecommerce_streams.harness.chaos import (
    BROKER_FAULTS,
    CLUSTER_FAULTS,
    ChaosRun,
    Fault,
    random_schedule,
    render_row,
)
from ecommerce_streams.harness.verify import VerifyReport


def test_random_schedule_draws_every_single_broker_kind_over_many_seeds() -> None:
    drawn = {fault for seed in range(200) for fault in random_schedule(random.Random(seed), 4)}
    assert drawn == set(Fault) - CLUSTER_FAULTS


def test_on_a_cluster_the_nodes_are_killed_instead_of_the_single_broker() -> None:
    drawn = {
        fault
        for seed in range(200)
        for fault in random_schedule(random.Random(seed), 4, cluster=True)
    }
    assert drawn == set(Fault) - BROKER_FAULTS
    assert {Fault.KILL_NODE, Fault.KILL_CONTROLLER, Fault.TWO_NODES_DOWN} == CLUSTER_FAULTS


def test_random_schedule_is_the_same_for_the_same_seed() -> None:
    first = random_schedule(random.Random(7), 6)
    assert random_schedule(random.Random(7), 6) == first
    assert len(first) == 6


def test_random_schedule_without_our_broker_draws_no_broker_fault() -> None:
    drawn = {
        fault
        for seed in range(200)
        for fault in random_schedule(random.Random(seed), 4, broker_faults=False)
    }
    assert drawn == set(Fault) - BROKER_FAULTS - CLUSTER_FAULTS


def test_broker_faults_include_graceful_stop_kill_and_a_restart_during_a_join() -> None:
    assert {Fault.RESTART_BROKER, Fault.KILL_BROKER, Fault.RESTART_BROKER_DURING_JOIN} <= (
        BROKER_FAULTS
    )


def test_a_run_with_a_harness_error_is_not_ok_even_without_violations() -> None:
    run = ChaosRun(seed=1, faults=[Fault.KILL_BROKER], orders=10, report=VerifyReport())
    assert run.ok
    run.errors.append("kill-broker failed: the broker did not come back")
    assert not run.ok


def test_the_row_shows_faults_orders_recovery_seconds_and_violations() -> None:
    report = VerifyReport(violations=["wedged 120s after the last fault: workers not ready"])
    run = ChaosRun(
        seed=5,
        faults=[Fault.TWO_JOINS, Fault.KILL_BROKER],
        orders=1000,
        report=report,
        recovery_seconds=None,
    )
    row = render_row(3, run)
    assert "orders=1000" in row
    assert "ready-after= never" in row
    assert "violations=1" in row
    assert row.endswith("faults=two-joins,kill-broker")
    run.recovery_seconds = 12.34
    assert "ready-after=  12.3s" in render_row(3, run)
