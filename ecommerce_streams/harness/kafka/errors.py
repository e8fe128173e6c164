"""The one exception the embedded broker raises for problems a user can fix."""


class BrokerError(Exception):
    """A broker problem with a message that says what is wrong and what to do."""
