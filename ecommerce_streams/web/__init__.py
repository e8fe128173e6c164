"""The HTTP API: health, table views, event ingestion, metrics; limits on hostile requests."""
