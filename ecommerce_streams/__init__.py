"""ecommerce-streams: an event-driven order platform for online shops on Faust and Kafka."""

__version__ = "0.1.0"
