"""catapult.theory -- SymPy derivation of function-space GD maps, invariants and thresholds.

Everything here is derived from a model definition (:mod:`catapult.theory.models`) and
a loss expression (:class:`catapult.theory.loss.Loss`); nothing is typed in from the
literature.  This package never imports :mod:`numerics`.

Examples
========
>>> from catapult.theory import derive, thresholds
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


def as_loss(loss, p=None) -> Loss:
    """A :class:`Loss` from a Loss, the names ``"mse"`` / ``"logistic"``, or an expression string in f.

    ``"logistic"`` is the degenerate-data logistic loss with class fraction ``p``
    (symbolic unless ``p`` is given, see :func:`catapult.theory.loss.logistic`); ``p`` given
    with another loss replaces that loss's symbol p.

    >>> as_loss("mse").expr
    f**2/2
    >>> as_loss("exp(-f)").d1
    -exp(-f)
    >>> as_loss("logistic", p="7/10").expr
    7*log(1 + exp(-f))/10 + 3*log(exp(f) + 1)/10
    >>> as_loss("mse", p=0.5)
    Traceback (most recent call last):
    ...
    catapult.theory.errors.TheoryInputError: p = 0.5 given, but the loss f**2/2 has no parameter p
    """
    from .loss import logistic
    if isinstance(loss, Loss):
        out = loss
    elif loss == "mse":
        out = mse()
    elif loss == "logistic":
        return logistic("p" if p is None else p)
    else:
        out = Loss.parse(loss)
    if p is None:
        return out
    if not any(str(s) == "p" for s in out.params):
        raise TheoryInputError(f"p = {p} given, but the loss {out.expr} has no parameter p")
    return out.subs({"p": p})


def _model_and_depth(model, depth):
    if model == "deep":
        if depth is None:
            raise TheoryInputError("model 'deep' needs depth=L (an integer >= 2)")
        from .deep import check_depth
        return None, check_depth(depth)
    if depth is not None:
        raise TheoryInputError(f"depth={depth!r} goes with the model 'deep', not {model!r}")
    return (get_model(model) if isinstance(model, str) else model), None


def derive(model="uv", loss="mse", *, p=None, depth=None):
    """Derive the exact one-step map of a model under a loss.

    ``model`` is a catalogue name, ``"deep"`` (with ``depth=L``: the exact reduced map of a
    depth-L linear network with isometric hidden layers, a :class:`catapult.theory.deep.DeepReducedMap`)
    or a :class:`catapult.theory.gram.VectorModel`.  ``loss`` as in :func:`as_loss`.

    >>> derive("uv", "log(cosh(f))").exact
    True
    >>> derive("uv", "logistic").loss.params
    (p,)
    >>> derive("deep", depth=2).L
    2
    >>> derive("deep")
    Traceback (most recent call last):
    ...
    catapult.theory.errors.TheoryInputError: model 'deep' needs depth=L (an integer >= 2)
    """
    vm, L = _model_and_depth(model, depth)
    if L is not None:
        from .deep import derive_deep_map
        return derive_deep_map(L, as_loss(loss, p))
    return derive_map(vm, as_loss(loss, p))


def thresholds(model="uv", loss="mse", *, p=None, depth=None) -> Thresholds:
    """Derive eta_crit and eta_max of a model under a loss (arguments as in :func:`derive`).

    For ``"deep"``, eta_crit comes from the depth-L reduced map itself
    (:func:`catapult.theory.deep_logistic.deep_eta_crit`); eta_max is not derived there (None, with the reason).

    >>> thresholds("uv", "mse").eta_crit.value
    2/lam0
    >>> thresholds("uv", "logistic", p="1/2").eta_crit.value
    8/lam0
    >>> t = thresholds("deep", "mse", depth=3)
    >>> t.eta_crit.value, t.eta_max.value
    (2/lam0, None)
    >>> thresholds("deep", "2*f**2", depth=2).eta_max.value
    1/lam0
    """
    vm, L = _model_and_depth(model, depth)
    lo = as_loss(loss, p)
    if L is None:
        return derive_thresholds(vm, lo)
    from .deep_logistic import deep_eta_crit
    r = deep_eta_crit(L, lo)
    crit = Threshold("eta_crit", r.value, r.label, r.derivation, r.reason)
    why = ("not derived from the reduced map: for L >= 3 the state "
           "does not close on (f, lam) and the divergence edge of eta*lam0 depends on the width (measured: "
           "`catapult thresholds deep --depth L`, verify/deep_limit.py)")
    emax = Threshold("eta_max", None, "not derived", "", why)
    if L == 2:   # the depth-2 reduced map induces exactly the uv (f, lam) map (verify row D-b1): its eta_max holds
        u = derive_thresholds(get_model("uv"), lo).eta_max
        emax = Threshold("eta_max", u.value, u.label, "L = 2 is the uv model (the reduced map induces exactly the uv "
                         "map): " + u.derivation, u.reason)
    assumptions = ["eta > 0", "n > 0", "lam0 > 0 (NTK at initialisation)",
                   "isometric hidden layers (the reduced map is exact)"]
    return Thresholds(f"deep(L={L}, isometric)", lo, crit, emax, [] if r.minimiser is None else [r.minimiser],
                      assumptions)
