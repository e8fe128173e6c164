"""Delivery to the world outside Kafka: when to try again, and when an endpoint needs a rest."""
