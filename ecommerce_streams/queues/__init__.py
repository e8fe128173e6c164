"""SQS-style queues on Kafka: the store of their state, and the HTTP API of their actions."""
