"""The one error type users see: a single line naming the problem and the fix."""


class GktError(Exception):
    """A problem the user can fix (bad input, missing file, bad config).

    The CLI prints it as one line and exits with status 2; nothing is written.
    """
