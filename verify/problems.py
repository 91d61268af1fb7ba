"""A theory model and loss <-> the numerics model and loss parameter GD runs on, for a width and a seed.

:func:`numeric_problem` takes what a user names -- ``"uv"``, ``"deep"`` (``depth=L``, ``init=``), a
:class:`~catapult.theory.gram.VectorModel`, a :class:`~catapult.theory.model_file.ModelDefinition` or the path
of a model file -- and a loss (a :class:`~catapult.theory.loss.Loss`, ``"mse"``, ``"logistic"`` with ``p=``, or
an expression in f), and returns the oracle's model and loss (compiled by the bridge) with the theory loss.

Examples
========
>>> model, nl, loss = numeric_problem("uv", "mse", width=16, seed=1)
>>> model, loss.expr
(UVModel(width=16, seed=1), f**2/2)
>>> numeric_problem("deep", "mse", width=16, depth=3)[0]
DeepLinearModel(width=16, depth=3, seed=0, init='isometric')
>>> numeric_problem("uv", "logistic", width=8)[2].expr      # the logistic loss of degenerate data needs p
Traceback (most recent call last):
...
ValueError: loss p*log(1 + exp(-f)) + (1 - p)*log(exp(f) + 1) needs values for: p
>>> numeric_problem("uv", "logistic", width=8, p="7/10")[2].params
()
"""

from __future__ import annotations

import os

from catapult.numerics.deep import DeepLinearModel
from catapult.numerics.models import UVModel
from catapult.theory.gram import VectorModel
from catapult.theory.loss import as_loss
from catapult.theory.model_file import ModelDefinition, load_model_file

from .bridge import numeric_loss


def model_definition(model, depth=None, init="isometric"):
    """What a user names, as ``(kind, object)``: ``("uv", None)``, ``("deep", (L, init))`` or
    ``("user", ModelDefinition)``.

    >>> model_definition("deep", depth=4)
    ('deep', (4, 'isometric'))
    >>> model_definition("mlp")
    Traceback (most recent call last):
    ...
    catapult.theory.errors.TheoryInputError: unknown model 'mlp': give uv, deep (with depth=L), a VectorModel, a ModelDefinition or a model file path
    """
    from catapult.theory.errors import TheoryInputError
    if isinstance(model, os.PathLike) or (isinstance(model, str) and model.endswith(".toml")):
        model = load_model_file(model)  # a path (a bare name such as "uv" is never read as a file)
    if isinstance(model, VectorModel):
        model = _wrap(model)
    if isinstance(model, ModelDefinition):
        if model.deep_depth is not None:
            return "deep", (model.deep_depth, "isometric")
        return "user", model
    if model == "uv":
        return "uv", None
    if model == "deep":
        from catapult.theory.deep import check_depth
        return "deep", (check_depth(depth), init)
    raise TheoryInputError(f"unknown model {model!r}: give uv, deep (with depth=L), a VectorModel, a "
                           "ModelDefinition or a model file path")


def _wrap(vm: VectorModel) -> ModelDefinition:
    """A VectorModel built in Python as a definition (its outputs already derived)."""
    return ModelDefinition(vm.name, "; ".join(str(o) for o in vm.outputs), vm.params, vm.scalars, (), dict(vm.init),
                           vm, None)


def numeric_problem(model, loss="mse", width=None, seed=0, *, depth=None, init="isometric", p=None, **label_values):
    """``(numerics model, numeric loss, theory loss)`` for parameter GD at ``width`` and ``seed``."""
    kind, obj = model_definition(model, depth, init)
    lo = as_loss(loss, p)
    nl = numeric_loss(lo, **label_values)
    if kind == "uv":
        return UVModel(width, seed), nl, lo
    if kind == "deep":
        L, how = obj
        return DeepLinearModel(width, L, seed=seed, init=how), nl, lo
    from .user_models import numeric_model
    return numeric_model(obj, width, seed), nl, lo
