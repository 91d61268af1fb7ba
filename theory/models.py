"""The model registry: every model the engine derives from, by name, and the one entry point for each result.

A registry entry is a factory ``factory(**params)`` returning either a
:class:`~catapult.theory.gram.VectorModel` (parameters are vectors in R^n, output written in their inner
products: the map is derived by :func:`catapult.theory.reduce.derive_map`) or a :class:`ModelSpec` (a model
with its own reduction: deep linear networks, many samples).  :func:`derive` and :func:`thresholds` take a
registry name with its parameters, a VectorModel or a ModelSpec, for every model.

=========  ======================================  =================================================
name       parameters                              derived by
=========  ======================================  =================================================
uv         --                                      :func:`~catapult.theory.reduce.derive_map`
deep       depth (L >= 2), init ("isometric")      :class:`catapult.theory.deep.DeepModel`
samples    m, d, X (m x d data), Y (m labels)      :class:`catapult.theory.samples.SampleModel`
=========  ======================================  =================================================

Examples
========
>>> from catapult.theory.models import uv_model, MODELS, get_model, derive, thresholds
>>> uv_model().forward
uv/sqrt(n)
>>> sorted(MODELS)
['deep', 'samples', 'uv']
>>> get_model("deep", depth=3)
DeepModel(depth=3, init='isometric')
>>> thresholds("deep", depth=2).eta_max.value == thresholds("uv").eta_max.value   # L = 2 is the uv model
True
>>> derive("samples", m=1, d=1, X=[[1]]).model
'uv(m=1, d=1)'
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod

import sympy as sp

from .errors import TheoryInputError
from .gram import VectorModel
from .symbols import n


class ModelSpec(ABC):
    """A model with its own reduction: it derives its :class:`~catapult.theory.maps.ReducedMap` and its
    :class:`~catapult.theory.thresholds.Thresholds` under a :class:`~catapult.theory.loss.Loss`.

    ``name`` is the registry name; :meth:`as_loss` turns ``"mse"`` etc. into the loss the model means by
    it (many samples: ``"mse"`` is (f - y)^2/2 with the label of each sample).
    """

    name: str = ""

    @abstractmethod
    def derive(self, loss):
        """The reduced map under ``loss`` (a Loss)."""

    @abstractmethod
    def thresholds(self, loss):
        """The thresholds under ``loss`` (a Loss)."""

    def as_loss(self, loss, p=None):
        """The :class:`~catapult.theory.loss.Loss` named by ``loss`` (see :func:`catapult.theory.loss.as_loss`)."""
        from .loss import as_loss
        return as_loss(loss, p)


def uv_model() -> VectorModel:
    """Two-layer linear net f = n^{-1/2} v.(u x) on one input with |x| = 1 (Lewkowycz et al. 2020).

    Only the vector ``u x`` in R^n enters (GD moves u only along x), so the
    parameters are the two vectors ``u`` (standing for u x) and ``v``.

    >>> uv_model().ntk
    uu/n + vv/n
    """
    return VectorModel("uv", ("u", "v"), lambda G: G["u", "v"] / sp.sqrt(n))


def deep_model(depth=None, init: str = "isometric"):
    """A depth-L linear network (L = ``depth`` >= 2; ``init`` "isometric" or "gaussian" hidden layers).

    >>> deep_model(4).depth
    4
    >>> deep_model()
    Traceback (most recent call last):
    ...
    catapult.theory.errors.TheoryInputError: model 'deep' needs depth=L (an integer >= 2)
    """
    if depth is None:
        raise TheoryInputError("model 'deep' needs depth=L (an integer >= 2)")
    from .deep import DeepModel
    return DeepModel(depth, init)


def samples_model(m=None, d=None, X=None, Y=None, data=None):
    """The uv model on ``m`` samples in dimension ``d``; data ``X`` (m x d) and labels ``Y`` (or
    ``data=(X, Y)``), symbolic when not given.

    >>> samples_model(2, 2).X is None
    True
    >>> samples_model(2)
    Traceback (most recent call last):
    ...
    catapult.theory.errors.TheoryInputError: model 'samples' needs m (samples) and d (input dimension)
    """
    if m is None or d is None:
        raise TheoryInputError("model 'samples' needs m (samples) and d (input dimension)")
    if data is not None:
        if X is not None or Y is not None:
            raise TheoryInputError("give data=(X, Y) or X=, Y=, not both")
        X, Y = data
    from .samples import SampleModel
    return SampleModel(m, d, X, Y)


MODELS = {"uv": uv_model, "deep": deep_model, "samples": samples_model}
_BUILTIN = frozenset(MODELS)


def register_model(name: str, factory, *, replace: bool = False) -> None:
    """Register ``factory(**params)`` (returning a VectorModel or a :class:`ModelSpec`) under ``name``.

    >>> from catapult.theory.gram import VectorModel
    >>> register_model("ab3", lambda: VectorModel("ab3", ("a", "b"), lambda G: 3 * G["a", "b"] / sp.sqrt(n)))
    >>> thresholds("ab3").eta_max.value      # (f, lam) map of the rescaled uv model: same eta_max
    4/lam0
    >>> register_model("uv", uv_model)
    Traceback (most recent call last):
    ...
    catapult.theory.errors.TheoryInputError: model 'uv' is built in; it cannot be replaced
    >>> unregister_model("ab3")
    """
    if not isinstance(name, str) or not name.strip() or name != name.strip():
        raise TheoryInputError(f"a model name is a non-empty string without surrounding spaces, got {name!r}")
    if not callable(factory):
        raise TheoryInputError(f"the factory of model {name!r} must be callable, got {type(factory).__name__}")
    if name in _BUILTIN:
        raise TheoryInputError(f"model {name!r} is built in; it cannot be replaced")
    if name in MODELS and not replace:
        raise TheoryInputError(f"model {name!r} is already registered (replace=True to replace it)")
    MODELS[name] = factory


def unregister_model(name: str) -> None:
    """Remove a user model from the registry (built-in models stay).

    >>> unregister_model("uv")
    Traceback (most recent call last):
    ...
    catapult.theory.errors.TheoryInputError: model 'uv' is built in; it cannot be removed
    """
    if name in _BUILTIN:
        raise TheoryInputError(f"model {name!r} is built in; it cannot be removed")
    MODELS.pop(name, None)


def get_model(name: str, **params):
    """Look a model up by name and build it with ``params``: a VectorModel or a :class:`ModelSpec`.

    >>> get_model("uv").name
    'uv'
    >>> get_model("mlp")
    Traceback (most recent call last):
    ...
    catapult.theory.errors.TheoryInputError: unknown model 'mlp'; known: deep, samples, uv
    >>> get_model("uv", depth=3)
    Traceback (most recent call last):
    ...
    catapult.theory.errors.TheoryInputError: depth=3 goes with the model 'deep', not 'uv'
    >>> get_model("deep", width=3)
    Traceback (most recent call last):
    ...
    catapult.theory.errors.TheoryInputError: model 'deep' takes depth, init; got width
    """
    try:
        factory = MODELS[name]
    except (KeyError, TypeError):
        raise TheoryInputError(f"unknown model {name!r}; known: {', '.join(sorted(MODELS))}") from None
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        sig = None
    if sig is not None:
        try:
            sig.bind(**params)
        except TypeError:
            takes = [k for k, v in sig.parameters.items() if v.kind in (v.POSITIONAL_OR_KEYWORD, v.KEYWORD_ONLY)]
            if "depth" in params and "depth" not in takes:
                raise TheoryInputError(f"depth={params['depth']!r} goes with the model 'deep', not {name!r}") from None
            raise TheoryInputError(f"model {name!r} takes {', '.join(takes) or 'no parameters'}; got "
                                   f"{', '.join(sorted(params))}") from None
    out = factory(**params)
    if not isinstance(out, (VectorModel, ModelSpec)):
        raise TheoryInputError(f"the factory of model {name!r} returned {type(out).__name__}, not a VectorModel "
                               "or a ModelSpec")
    return out


def resolve_model(model, **params):
    """A VectorModel or ModelSpec from a registry name (with ``params``) or a model object (without).

    >>> resolve_model("deep", depth=2).depth
    2
    >>> resolve_model(uv_model(), depth=2)
    Traceback (most recent call last):
    ...
    catapult.theory.errors.TheoryInputError: parameters depth go with a registry name, not with a model object (uv)
    """
    params = {k: v for k, v in params.items() if v is not None}
    if isinstance(model, str):
        return get_model(model, **params)
    from .model_file import ModelDefinition
    if isinstance(model, ModelDefinition):  # a user's definition (model file): the model it builds
        model = model.engine_model
    if isinstance(model, (VectorModel, ModelSpec)):
        if params:
            raise TheoryInputError(f"parameters {', '.join(sorted(params))} go with a registry name, not with a "
                                   f"model object ({getattr(model, 'name', model)})")
        return model
    raise TheoryInputError(f"a model is a registry name, a VectorModel or a ModelSpec; got {type(model).__name__}")


def derive(model="uv", loss="mse", *, p=None, depth=None, **params):
    """Derive the exact one-step map of a model under a loss: a :class:`~catapult.theory.maps.ReducedMap`.

    ``model`` is a registry name (with its parameters: ``depth=L`` for ``"deep"``, ``m=, d=, X=, Y=`` for
    ``"samples"``), a :class:`~catapult.theory.gram.VectorModel` or a :class:`ModelSpec`.  ``loss`` as in
    :func:`catapult.theory.loss.as_loss` (``p`` the logistic class fraction).

    >>> derive("uv", "log(cosh(f))").exact
    True
    >>> derive("uv", "logistic").loss.params
    (p,)
    >>> derive("deep", depth=2).L
    2
    >>> derive("samples", m=1, d=1, X=[[1]], Y=[2]).update["u1v"]
    eta**2*u1v*(-2 + u1v/sqrt(n))**2/n - eta*u1u1*(-2 + u1v/sqrt(n))/sqrt(n) - eta*vv*(-2 + u1v/sqrt(n))/sqrt(n) + u1v
    >>> derive("deep")
    Traceback (most recent call last):
    ...
    catapult.theory.errors.TheoryInputError: model 'deep' needs depth=L (an integer >= 2)
    """
    spec = resolve_model(model, depth=depth, **params)
    if isinstance(spec, VectorModel):
        from .loss import as_loss
        from .reduce import derive_map
        return derive_map(spec, as_loss(loss, p))
    return spec.derive(spec.as_loss(loss, p))


def thresholds(model="uv", loss="mse", *, p=None, depth=None, **params):
    """Derive eta_crit, eta_max (and the extra entries) of a model under a loss (arguments as in :func:`derive`):
    a :class:`~catapult.theory.thresholds.Thresholds` with one JSON schema for every model.

    For a VectorModel the divergence width scale is added when eta_max is not derived; for ``"deep"``, eta_crit
    comes from the depth-L reduced map and eta_max is derived at L = 2 only
    (:func:`catapult.theory.deep_logistic.deep_thresholds`); for ``"samples"`` eta_crit = 2/lam_max(Theta0 H)
    (:func:`catapult.theory.samples.sample_thresholds`).

    >>> thresholds("uv", "mse").eta_crit.value, thresholds("uv", "mse").eta_max.value   # Lewkowycz et al. 2020
    (2/lam0, 4/lam0)
    >>> thresholds("uv", "logistic", p="1/2").eta_crit.value
    8/lam0
    >>> t = thresholds("deep", "mse", depth=3)
    >>> t.eta_crit.value, t.eta_max.value
    (2/lam0, None)
    >>> thresholds("deep", "2*f**2", depth=2).eta_max.value
    1/lam0
    >>> thresholds("samples", m=2, d=2).eta_crit.value
    2/lam_max(Theta0*H)
    """
    spec = resolve_model(model, depth=depth, **params)
    if isinstance(spec, VectorModel):
        from .loss import as_loss
        from .thresholds import derive_thresholds
        return derive_thresholds(spec, as_loss(loss, p), divergence=True)
    return spec.thresholds(spec.as_loss(loss, p))
