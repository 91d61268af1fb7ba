"""Exception types raised by :mod:`numerics` (independent of :mod:`theory` by design).

>>> issubclass(NumericsInputError, ValueError)
True
"""


class NumericsInputError(ValueError):
    """Bad input to a numeric run: eta <= 0, width < 1, unknown backend, too few digits..."""


class MissingExtraError(NumericsInputError):
    """A backend needs an optional dependency that is not installed (the message names the extra).

    >>> issubclass(MissingExtraError, NumericsInputError)
    True
    """


class FixedRangeError(OverflowError):
    """A fixed-point value left its representable range (a run reports it as ``nonfinite``, like float64 overflow).

    >>> issubclass(FixedRangeError, OverflowError)
    True
    """
