"""The catalogue of model definitions the engine derives from.

Each model is only its parameters and its forward function; every map,
invariant and threshold is derived from that definition.

Examples
========
>>> from catapult.theory.models import uv_model, MODELS
>>> uv_model().forward
uv/sqrt(n)
>>> sorted(MODELS)
['uv']
"""

import sympy as sp

from .errors import TheoryInputError
from .gram import VectorModel
from .symbols import n


def uv_model() -> VectorModel:
    """Two-layer linear net f = n^{-1/2} v.(u x) on one input with |x| = 1 (Lewkowycz et al. 2020).

    Only the vector ``u x`` in R^n enters (GD moves u only along x), so the
    parameters are the two vectors ``u`` (standing for u x) and ``v``.

    >>> uv_model().ntk
    uu/n + vv/n
    """
    return VectorModel("uv", ("u", "v"), lambda G: G["u", "v"] / sp.sqrt(n))


MODELS = {"uv": uv_model}


def get_model(name: str) -> VectorModel:
    """Look a model up by name.

    >>> get_model("uv").name
    'uv'
    >>> get_model("mlp")
    Traceback (most recent call last):
    ...
    catapult.theory.errors.TheoryInputError: unknown model 'mlp'; known: uv
    """
    try:
        return MODELS[name]()
    except KeyError:
        raise TheoryInputError(f"unknown model {name!r}; known: {', '.join(sorted(MODELS))}") from None
