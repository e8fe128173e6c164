"""Shop events and aggregates: pure pydantic models, no Kafka and no Faust."""
