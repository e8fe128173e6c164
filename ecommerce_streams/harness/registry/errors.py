"""The one exception the embedded registry raises for problems a user can fix."""


class RegistryError(Exception):
    """A registry problem with a message that says what is wrong and what to do."""
