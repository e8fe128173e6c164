"""The routing catalogues: rules and subscriptions in compacted topics, seen by every worker."""
