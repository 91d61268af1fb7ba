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

import math
import os
from fractions import Fraction

import mpmath

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


#: largest predicted work of one command (size x steps x (dps + 50) x runs digit-operations, ~10 min here)
MAX_WORK = 10 ** 10

#: outputs f at which a run's loss must be real, finite and computable (float64 and arb)
PROBE = ("-3", "-1", "-1/2", "-1/1024", "0", "1/1024", "1/2", "1", "3")


class ProblemError(ValueError):
    """Inputs that name no runnable problem: predictably too costly, or a loss GD cannot evaluate."""


#: what one threshold scan is charged (:func:`catapult.numerics.search.scan`): its float64 grid and bisections
#: (~60 runs, charged at one digit each), and the runs at the working precision that confirm the ends of its three
#: brackets (2 per bracket, plus a rung of retries).  The scan shows its stages and keeps what it measured on
#: Ctrl-C, so this is the predictable part of its cost, not a worst case.
SCAN = {"runs": 8, "float64_runs": 60}


def predicted_work(per_step, steps, dps, runs=1, float64_runs=0):
    """``per_step * steps * ((dps + 50) * runs + float64_runs)`` digit-operations (a float64 run costs about one
    digit of an arb run: the 50-digit arb step is ~100x a float64 step).

    >>> predicted_work(1024, 2000, 50, **SCAN)
    1761280000
    """
    return per_step * steps * ((dps + 50) * runs + float64_runs)


def check_cost(per_step, steps, dps, runs=1, float64_runs=0, *, work=None):
    """Refuse, before any run, :func:`predicted_work` (or the given ``work``, a sum of several) above
    :data:`MAX_WORK`.

    >>> check_cost(10 ** 6, 5000, 50)
    Traceback (most recent call last):
    ...
    catapult.verify.problems.ProblemError: estimated work 5e+11 > 1e+10 (limit MAX_WORK: size x steps x (dps + 50), ~10 min): reduce --width, --steps or --dps
    """
    work = predicted_work(per_step, steps, dps, runs, float64_runs) if work is None else work
    if work > MAX_WORK:
        what = f" x {runs} runs" if runs > 1 else ""
        what += f" + size x steps x {float64_runs} float64 runs" if float64_runs else ""
        raise ProblemError(f"estimated work {work:.2g} > {MAX_WORK:.0e} (limit MAX_WORK: size x steps x (dps + 50)"
                           f"{what}, ~10 min): reduce --width, --steps or --dps")


def _finite_real(v, backend_name):
    """A real, non-nan value (float64 may overflow to inf: a divergence, not an undefined loss)."""
    if backend_name != "float64":
        return hasattr(v, "is_finite") and v.is_finite()
    if isinstance(v, complex) or getattr(getattr(v, "dtype", None), "kind", "f") == "c":
        return False
    try:
        return not math.isnan(float(v))
    except (TypeError, ValueError):
        return False


def _probe_values(B):
    for t in PROBE:
        q = Fraction(t)
        yield t, (float(q) if B.name == "float64" else B.scalar(mpmath.mpf(q.numerator) / q.denominator))


def check_evaluable(nl, loss, dps):
    """Refuse, before any run, a loss that the numeric backends cannot evaluate or that is not real and
    finite on the real line (log(f), sqrt(f), 1/f, f**(1/3) at f < 0 ...): GD on it has no verdict.

    >>> from catapult.theory.loss import Loss
    >>> lo = Loss.parse("log(f)")
    >>> check_evaluable(numeric_loss(lo), lo, 30)
    Traceback (most recent call last):
    ...
    catapult.verify.problems.ProblemError: the loss log(f) is not real and finite at f = -3: run/scan need a loss defined on the whole real line
    """
    from catapult.numerics.backends import get_backend
    parts = getattr(nl, "losses", [nl])
    uniq = list({q.name: q for q in parts}.values())[:4]
    for B in (get_backend("float64"), get_backend("arb", min(dps, 60))):
        with B.context():
            for part in uniq:
                try:
                    value, slope = part.bind(B)
                except Exception as exc:  # a user expression that cannot be compiled for this backend
                    raise ProblemError(f"cannot compile the loss {loss.expr} for {B!r}: {type(exc).__name__}") from None
                for t, x in _probe_values(B):
                    try:
                        vals = (value(x), slope(x))
                    except (OverflowError, FloatingPointError):
                        continue
                    except ZeroDivisionError:
                        vals = (float("nan"),)
                    except Exception as exc:  # e.g. a special function the backend lacks
                        raise ProblemError(f"cannot evaluate the loss {loss.expr} numerically ({B!r}: "
                                           f"{type(exc).__name__}: {str(exc)[:80]})") from None
                    if not all(_finite_real(v, B.name) for v in vals):
                        raise ProblemError(f"the loss {loss.expr} is not real and finite at f = {t}: run/scan need "
                                           "a loss defined on the whole real line")


def _label(v):
    """A label read from data, exactly as the float it is (never 'recognised' as sqrt(2))."""
    from catapult.theory.parse import exact_value
    return exact_value(float(v), "label", floats="binary")


def numeric_problem(model, loss="mse", width=None, seed=0, *, depth=None, init="isometric", p=None, samples=None,
                    data=None, steps=None, dps=None, runs=1, float64_runs=0,
                    **label_values):
    """``(numerics model, numeric loss, theory loss)`` for parameter GD at ``width`` and ``seed``.

    ``samples=(X, Y)``: the uv model on m samples in d dimensions (rows of X, labels Y; the loss is in f and the
    label y, ``"mse"`` meaning (f - y)^2/2).  ``data``: a :class:`~catapult.verify.degenerate.DegenerateData`
    (the logistic loss of degenerate data; its loss is its own).  With ``steps`` and ``dps`` the predicted work
    (``runs`` runs) is refused above :data:`MAX_WORK`, and with ``dps`` a loss GD cannot evaluate on the real line
    is refused, both as :class:`ProblemError`, before anything runs.

    >>> import numpy as np
    >>> m, nl, lo = numeric_problem("uv", width=8, samples=(np.eye(2), np.array([1.0, -1.0])))
    >>> type(m).__name__, lo.expr, len(nl.losses)
    ('UVDataModel', (f - y)**2/2, 2)
    """
    if steps is not None and dps is not None and data is None:
        check_cost(step_size(model, width, depth, samples), steps, dps, runs, float64_runs)
    if data is not None:
        if model != "uv" or samples is not None:
            raise ProblemError("degenerate data go with the model uv on one input")
        if steps is not None and dps is not None:
            check_cost(samples_step_size(width, data.m, 1), steps, dps, runs, float64_runs)
        m, nl = data.numeric(width, seed)
        return m, nl, data.loss()
    if samples is not None:
        if model != "uv":
            raise ProblemError("samples (X, Y) go with the model uv")
        from catapult.numerics.losses import DataLoss
        from catapult.numerics.models import UVDataModel
        from catapult.theory.loss import mse
        X, Y = samples
        lo = mse("y") if isinstance(loss, str) and loss == "mse" else as_loss(loss, p)
        nl = DataLoss([numeric_loss(lo, y=_label(v)) for v in Y])
        if dps is not None:
            check_evaluable(nl, lo, dps)
        return UVDataModel(width, X, seed=seed), nl, lo
    kind, obj = model_definition(model, depth, init)
    lo = as_loss(loss, p)
    nl = numeric_loss(lo, **label_values)
    if dps is not None:
        check_evaluable(nl, lo, dps)
    if kind == "uv":
        return UVModel(width, seed), nl, lo
    if kind == "deep":
        L, how = obj
        return DeepLinearModel(width, L, seed=seed, init=how), nl, lo
    from .user_models import numeric_model
    return numeric_model(obj, width, seed), nl, lo


def samples_step_size(width, m, d):
    """The step size of the uv model on m samples in d dimensions: the n x d parameter block, times a factor that
    grows slowly with m (the sample contraction is one matrix product in C: measured at n = 1000, d = 1, arb50,
    m = 10 -> 100 samples cost 1.3x per step, not 10x).

    >>> samples_step_size(1000, 10, 1), samples_step_size(1000, 100, 1)
    (4200, 6000)
    """
    return width * (d + 1) * (200 + m) // 100


def step_size(model, width, depth=None, samples=None):
    """The size of one GD step (entries times layers), for :func:`check_cost`.

    >>> step_size("uv", 1024), step_size("deep", 64, depth=3)
    (1024, 1292)
    """
    if samples is not None:
        m, d = samples[0].shape
        return samples_step_size(width, m, d)
    kind, obj = model_definition(model, depth)
    if kind == "deep":
        return width * width * obj[0] // 10 + width  # n x n hidden layers: ~7e-9 s per entry-digit
    if kind == "user":
        return width * (len(obj.vectors) + 1)
    return width
