"""Exception types raised by :mod:`numerics` (independent of :mod:`theory` by design).

>>> issubclass(NumericsInputError, ValueError)
True
"""


class NumericsInputError(ValueError):
    """Bad input to a numeric run: eta <= 0, width < 1, unknown backend, too few digits..."""
