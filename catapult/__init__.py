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
>>> catapult.run("uv", "mse", width=64, eta_lam0=3.0, seed=1).phase          # measured, two precisions agree
'catapult'
>>> quad = catapult.user_model("quad", "(dot(u, u) - n)/(2*sqrt(n))", vectors=("u",))
>>> catapult.thresholds(quad, "mse").eta_crit.value                          # exact: 2/lam*, lam* = 1
2
"""

from importlib.metadata import PackageNotFoundError, version as _version

from .theory import (Exactness, Loss, TheoryInputError, as_loss, derive, derive_invariants, get_model, mse,
                     register_model, thresholds)
from .theory import loss as losses, models
from .theory.model_file import load_model_file, user_model, user_spec
from .verify.runs import run, scan



def __getattr__(name):
    """``catapult.strategies`` (hypothesis strategies for users' property tests) is imported on first use:
    hypothesis is a test dependency, not needed to run catapult."""
    if name == "strategies":
        from .verify import strategies
        return strategies
    raise AttributeError(f"module 'catapult' has no attribute {name!r}")


try:
    __version__ = _version("catapult")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "unknown"

__all__ = ["__version__", "derive", "thresholds", "derive_invariants", "run", "scan", "as_loss", "get_model",
           "register_model", "user_model", "user_spec", "load_model_file", "models", "losses", "strategies",
           "Exactness", "Loss", "mse", "TheoryInputError"]
