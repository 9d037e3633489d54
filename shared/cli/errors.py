"""CLI exit codes and the errors that carry them."""

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_FAILED):
        super().__init__(message)
        self.code = code


class UsageError(CliError):
    """The command line itself is wrong (exit 2)."""

    def __init__(self, message: str):
        super().__init__(message, EXIT_USAGE)
