"""User-facing errors: one exception type whose message is printed as a single line."""

__all__ = ["TexsynthError"]


class TexsynthError(ValueError):
    """A problem with the user's input or environment.

    Library code raises it for bad arguments (it is a ``ValueError``, so callers that catch those
    keep working); the command-line layer prints ``str(error)`` on one line and exits non-zero,
    without a traceback. Raise it with a message that says what was wrong and, where possible,
    what would be right.
    """
