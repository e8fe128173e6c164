"""A metric's labelled series is looked up once and counts in the same series as ``labels``."""

from prometheus_client import CollectorRegistry, Counter

from ecommerce_streams.metrics import labelled


def test_a_labelled_series_is_the_one_prometheus_exposes_for_those_labels() -> None:
    counter = Counter("es_test_events", "Events.", ["stage"], registry=CollectorRegistry())

    labelled(counter, "orders").inc()
    labelled(counter, "orders").inc(2)
    counter.labels("orders").inc()

    assert labelled(counter, "orders") is labelled(counter, "orders")
    assert counter.labels("orders")._value.get() == 4
    assert counter.labels("inventory")._value.get() == 0
