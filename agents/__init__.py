"""Faust agents, one module per service: thin wiring from topics to aggregates."""
