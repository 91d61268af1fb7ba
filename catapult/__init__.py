"""catapult: derive and verify the large-learning-rate (catapult) phase of gradient descent.

The user-facing surface.  ``catapult.theory`` (SymPy derivations), ``catapult.numerics`` (the independent
high-precision oracle) and ``catapult.verify`` (where the two meet) are the three subpackages; what most users
call is re-exported here.

Examples
========
>>> import catapult
>>> catapult.derive("uv", "mse").update["f"]
eta**2*f**3/n - eta*f*lam + f
>>> catapult.thresholds("uv", "mse").eta_max.value
4/lam0
>>> catapult.thresholds("deep", depth=2).eta_max.value     # depth 2 is the uv model
4/lam0
>>> isinstance(catapult.__version__, str)
True
"""

from importlib.metadata import PackageNotFoundError, version as _version

from .theory import (Exactness, Loss, TheoryInputError, as_loss, derive, derive_invariants, get_model, mse,
                     register_model, thresholds)

try:
    __version__ = _version("catapult")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "unknown"

__all__ = ["__version__", "derive", "thresholds", "derive_invariants", "as_loss", "get_model", "register_model",
           "Exactness", "Loss", "mse", "TheoryInputError"]
