"""Faust tables: RocksDB-backed state with Kafka changelogs."""
