"""SQS-style queues as pure decisions: attributes, messages, leases, receive counts, redrive."""
