"""Exception types raised by :mod:`theory`.

Every error a user can cause by bad input is a :class:`TheoryInputError`
(a :class:`ValueError`), so callers and the CLI can catch one type.
"""


class TheoryInputError(ValueError):
    """Bad input to the derivation engine (unknown symbol, non-smooth loss, bad depth...).

    Examples
    ========
    >>> from catapult.theory.errors import TheoryInputError
    >>> issubclass(TheoryInputError, ValueError)
    True
    """
