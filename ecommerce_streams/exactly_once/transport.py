"""The aiokafka transport with the corrected consumer, producer and transactions."""

from typing import ClassVar

from faust.transport.drivers import aiokafka as faust_aiokafka

from ecommerce_streams.exactly_once.consumer import GatedConsumer
from ecommerce_streams.exactly_once.producer import SettlingProducer
from ecommerce_streams.exactly_once.transactions import SourceTransactionManager


class ExactlyOnceTransport(faust_aiokafka.Transport):
    """The aiokafka transport with the corrected consumer, producer and transactions."""

    Consumer: ClassVar[type] = GatedConsumer
    Producer: ClassVar[type] = SettlingProducer
    TransactionManager: ClassVar[type] = SourceTransactionManager
