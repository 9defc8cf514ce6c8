"""User-facing errors: one exception type whose message is printed as a single line."""


class TexsynthError(Exception):
    """A problem with the user's input or environment.

    The command-line layer prints ``str(error)`` on one line and exits non-zero,
    without a traceback. Raise it with a message that says what was wrong and,
    where possible, what would be right.
    """
