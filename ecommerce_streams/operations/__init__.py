"""Operator tools that talk to Kafka from outside a worker: topics, groups, replay, dead letters."""
