"""Exceptions raised by the detection core.

Every message says what is wrong, where, and what is expected, so that the command line
and the API can show it to a person as it is.
"""


class DetectError(ValueError):
    """Base class of every error the detection core raises for bad input."""


class UnknownMethodError(DetectError):
    """The requested method is not in the registry."""


class ParameterError(DetectError):
    """A parameter is unknown, of the wrong type, or out of its allowed range."""


class InputDataError(DetectError):
    """The counts, dates, population or range given to a method are unusable."""


class InsufficientHistoryError(InputDataError):
    """The evaluated range starts too early: the method needs more past periods."""

    def __init__(self, method: str, needed: int, available: int, first_period: int):
        self.method = method
        self.needed = needed
        self.available = available
        self.first_period = first_period
        super().__init__(
            f"method {method!r} needs {needed} periods of history before the first evaluated "
            f"period, but period position {first_period} has only {available} before it; "
            f"evaluate later periods or supply more history"
        )
