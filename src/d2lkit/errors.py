"""The two kinds of failure a user can see, and the exit codes they map to (DESIGN.md §2)."""


class D2lkitError(Exception):
    """Bad input: unknown name, missing or corrupt file, bad flag. Exit code 2.

    The message is one line that says what is wrong, which file, and what to do.
    """

    exit_code = 2


class TrainingFailed(Exception):
    """The work itself failed: the loss diverged, a result missed its band. Exit code 1."""

    exit_code = 1
