"""The refusal an aggregate raises when an event asks for an impossible transition."""


class Refused(Exception):
    """An event the aggregate cannot apply; the caller dead-letters it with the reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
