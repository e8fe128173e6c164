"""The schema registry from our side: its client, and the checks and commands built on it."""
