"""catapult.theory -- SymPy derivation of function-space GD maps, invariants and thresholds.

Everything here is derived from a model definition (:mod:`catapult.theory.models`, the registry) and
a loss expression (:class:`catapult.theory.loss.Loss`); nothing is typed in from the
literature.  This package never imports :mod:`numerics`.

One result type per concept: every map is a :class:`ReducedMap` (uv-type, deep linear, many samples), every
threshold a :class:`Threshold` inside a :class:`Thresholds` (one JSON schema), every label an
:class:`Exactness`.

Examples
========
>>> from catapult.theory import derive, thresholds
>>> derive("uv", "mse").update["f"]
eta**2*f**3/n - eta*f*lam + f
>>> thresholds("uv", "mse").eta_max.value
4/lam0
>>> thresholds("deep", depth=2).eta_max.value       # L = 2 is the uv model
4/lam0
"""

from .errors import TheoryInputError
from .exactness import Exactness
from .invariants import Invariant, Invariants, derive_invariants
from .loss import Loss, as_loss, mse
from .maps import ReducedMap
from .reduce import FunctionSpaceMap, derive_map
from .thresholds import Threshold, Thresholds, derive_thresholds
# last: importing the submodule ``thresholds`` binds that name on the package; the function must win
from .models import ModelSpec, derive, get_model, register_model, thresholds, unregister_model, uv_model

__all__ = ["TheoryInputError", "Exactness", "Loss", "mse", "as_loss", "get_model", "register_model",
           "unregister_model", "ModelSpec", "uv_model", "ReducedMap", "FunctionSpaceMap", "derive_map",
           "Invariant", "Invariants", "derive_invariants", "Threshold", "Thresholds", "derive_thresholds",
           "derive", "thresholds"]
