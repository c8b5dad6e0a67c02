"""The one exception type for errors a user can cause."""


class GankitError(Exception):
    """A user-facing error: bad config, bad file, bad argument.

    The message is one line that names what is wrong and where; the CLI prints it
    without a traceback and exits non-zero.
    """
