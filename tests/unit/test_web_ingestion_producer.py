"""The ingestion producer answers a problem, never an exception, when the broker is away."""

import orjson
import pytest

from ecommerce_streams.harness.kafka import free_port
from ecommerce_streams.web.event_batch import read_batch
from ecommerce_streams.web.ingestion import EventProducer
from ecommerce_streams.web.problems import Problem
from tests.web_events import stock_received


async def test_an_unreachable_broker_is_a_503_problem_asking_to_retry() -> None:
    producer = EventProducer(f"127.0.0.1:{free_port()}")
    events = read_batch(orjson.dumps(stock_received("SKU-1")))

    with pytest.raises(Problem) as caught:
        await producer.publish(events)

    assert caught.value.status == 503
    assert caught.value.headers == {"Retry-After": "1"}
    await producer.stop()
