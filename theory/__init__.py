"""catapult.theory -- SymPy derivation of function-space GD maps, invariants and thresholds.

Everything here is derived from a model definition (:mod:`theory.models`) and
a loss expression (:class:`theory.loss.Loss`); nothing is typed in from the
literature.  This package never imports :mod:`numerics`.

Examples
========
>>> from theory import derive, thresholds
>>> derive("uv", "mse").update["f"]
eta**2*f**3/n - eta*f*lam + f
>>> thresholds("uv", "mse").eta_max.value
4/lam0
"""

from .errors import TheoryInputError
from .invariants import Invariant, derive_invariants
from .loss import Loss, mse
from .models import get_model, uv_model
from .reduce import FunctionSpaceMap, derive_map
from .thresholds import Threshold, Thresholds, derive_thresholds

__all__ = ["TheoryInputError", "Loss", "mse", "get_model", "uv_model", "FunctionSpaceMap", "derive_map",
           "Invariant", "derive_invariants", "Threshold", "Thresholds", "derive_thresholds", "derive",
           "thresholds", "as_loss"]


def as_loss(loss) -> Loss:
    """A :class:`Loss` from a Loss, the name ``"mse"``, or an expression string in f.

    >>> as_loss("mse").expr
    f**2/2
    >>> as_loss("exp(-f)").d1
    -exp(-f)
    """
    if isinstance(loss, Loss):
        return loss
    if loss == "mse":
        return mse()
    return Loss.parse(loss)


def derive(model="uv", loss="mse") -> FunctionSpaceMap:
    """Derive the exact one-step map of a catalogue model under a loss.

    >>> derive("uv", "log(cosh(f))").exact
    True
    """
    return derive_map(get_model(model), as_loss(loss))


def thresholds(model="uv", loss="mse") -> Thresholds:
    """Derive eta_crit and eta_max of a catalogue model under a loss.

    >>> thresholds("uv", "mse").eta_crit.value
    2/lam0
    """
    return derive_thresholds(get_model(model), as_loss(loss))
