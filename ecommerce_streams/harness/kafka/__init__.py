"""The embedded single-node Kafka broker (KRaft on 127.0.0.1) built from Maven Central jars."""

from ecommerce_streams.harness.kafka.broker import EmbeddedKafka
from ecommerce_streams.harness.kafka.environment import bootstrap_from_env
from ecommerce_streams.harness.kafka.errors import BrokerError
from ecommerce_streams.harness.kafka.ports import free_port
from ecommerce_streams.harness.kafka.versions import DEFAULT_KAFKA_VERSION

__all__ = [
    "DEFAULT_KAFKA_VERSION",
    "BrokerError",
    "EmbeddedKafka",
    "bootstrap_from_env",
    "free_port",
]
