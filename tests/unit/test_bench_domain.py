"""The in-memory saga of ``python -m bench domain``: it runs the saga as a worker decides it."""

from bench.domain import measure_domain, render_domain, run_saga, source_messages
from models.order import OrderState


def test_every_order_of_the_load_is_decided_in_memory() -> None:
    run = run_saga(source_messages(60))
    orders: dict[str, OrderState] = run.tables["orders"]
    assert len(orders) == 60
    assert {state.status for state in orders.values()} <= {"confirmed", "rejected", "cancelled"}
    assert run.counts()["agent_inputs"] > run.source_messages


def test_the_same_load_leaves_the_same_tables() -> None:
    messages = source_messages(30)
    assert run_saga(messages).tables == run_saga(messages).tables


def test_the_report_splits_codecs_from_decisions() -> None:
    result = measure_domain(20, passes=1)
    assert 0 < result["codec_us_per_source_message"] < result["us_per_source_message"]
    assert "deduplicate and decide" in render_domain(result)
