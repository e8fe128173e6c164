"""Delivery to the world outside Kafka: routed HTTP deliveries POSTed with retries and breakers."""
