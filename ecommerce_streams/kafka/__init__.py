"""The embedded single-node Kafka broker (KRaft on 127.0.0.1) built from Maven Central jars."""

from ecommerce_streams.kafka.broker import EmbeddedKafka
from ecommerce_streams.kafka.environment import bootstrap_from_env
from ecommerce_streams.kafka.errors import BrokerError
from ecommerce_streams.kafka.ports import free_port
from ecommerce_streams.kafka.versions import DEFAULT_KAFKA_VERSION

__all__ = [
    "DEFAULT_KAFKA_VERSION",
    "BrokerError",
    "EmbeddedKafka",
    "bootstrap_from_env",
    "free_port",
]
