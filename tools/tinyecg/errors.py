"""The one exception type every tinyecg tool turns into a one-line message."""


class TinyEcgError(Exception):
    """A problem the user can fix: bad file, bad option, missing tool or data.

    Entry scripts catch it and print ``error: <message>`` on one line, exit 2.
    """
