"""User models where theory and numerics meet: a :class:`~catapult.theory.model_file.ModelDefinition` and a loss,
as the derived map and as parameter GD on the actual width-n parameters.

* :func:`numeric_model` -- the oracle for a width and seed: :class:`~catapult.numerics.gram_model.GramModel`
  (vectors and scalars; the output compiled by the bridge, differentiated by dual numbers) or, for a deep chain,
  :class:`~catapult.numerics.deep.DeepLinearModel` with isometric hidden layers;
* :func:`compare_map_gd` -- digits of agreement of (f, lam) between the derived map, started from the oracle's
  own initial state, and GD, step by step.

Examples
========
>>> from catapult.theory import mse
>>> from catapult.theory.model_file import user_spec
>>> spec = user_spec("uv_bias", "dot(u, v)/sqrt(n) + b", vectors=("u", "v"), scalars=("b",), init={"b": "1/4"})
>>> r = compare_map_gd(spec, mse(), width=64, seed=3, eta_lam0=1.5, steps=40, dps=60)
>>> r.digits > 40, r.steps, r.state
(True, 40, ['f', 'lam', 'b'])
"""

from __future__ import annotations

from dataclasses import dataclass

import mpmath

from catapult.numerics.backends import get_backend
from catapult.numerics.deep import DeepLinearModel
from catapult.numerics.gd import run_gd
from catapult.numerics.gram_model import GramModel
from catapult.numerics.reduced import iterate_map
from catapult.theory.multi_output import MultiOutputMap
from catapult.theory.reduce import derive_map

from .bridge import compile_output, map_step, numeric_loss


def numeric_model(spec, width, seed=0):
    """The numerics model of ``spec`` at ``width`` and ``seed`` (parameter GD acts on it).

    >>> from catapult.theory.model_file import user_spec
    >>> numeric_model(user_spec("mup", "dot(u, v)/n", vectors=("u", "v")), 8, seed=1)
    GramModel('mup', width=8, seed=1)
    """
    if spec.deep_depth is not None:
        return DeepLinearModel(width, spec.deep_depth, seed=seed, init="isometric")
    vm = spec.model
    scal = {b: float(vm.init.get(b, 0)) for b in vm.scalars}
    return GramModel(width, vm.params, vm.scalars, compile_output(vm), seed=seed, scalar_init=scal, factory=True,
                     name=spec.name, n_outputs=len(vm.outputs))


def _state_name(model, sym):
    """The oracle's argument name for a state symbol of the derived map (a Gram entry 'a.b' or a scalar)."""
    for (a, b), s in dict.items(model.G):
        if s == sym:
            return f"{a}.{b}"
    return str(sym)


@dataclass
class MapComparison:
    """Digits of agreement (minimum over steps of the smaller of f's and lam's) and how the run ended."""

    digits: object
    plain_digits: object
    steps: int
    stop: str
    state: list


def _digits(a, b, scale):
    d = abs(a - b)
    return mpmath.mpf(99) if d == 0 else -mpmath.log10(d / scale)


def compare_map_gd(spec, loss, width, seed, eta_lam0, steps=100, dps=60, **label_values) -> MapComparison:
    """Run parameter GD on ``spec``'s oracle and iterate the derived map from the same initial state.

    The map's extra state (Gram entries, scalars) starts from the oracle's measured values; f and lam from
    GD's records.  Digits for f are relative to max(|f_t|, |f_0|) (as in the uv rows), for lam to lam_t.
    """
    if spec.deep_depth is not None:
        raise ValueError("deep chains are compared by catapult.verify.catalogue.deep.compare_deep")
    fmap = derive_map(spec.model, loss)
    if isinstance(fmap, MultiOutputMap):  # several outputs: compare the whole Gram state
        return _compare_gram_state(spec, fmap, loss, width, seed, eta_lam0, steps, dps, label_values)
    model = numeric_model(spec, width, seed)

    def extra(B):
        st0 = model.state(model.init(B), B)
        return {str(sym): B.to_mpf(st0[_state_name(spec.model, sym)]) for sym in fmap.state[2:]}

    return compare_f_lam(fmap, model, numeric_loss(loss, **label_values), eta_lam0, steps, dps, label_values, extra)


def compare_f_lam(fmap, model, nl, eta_lam0, steps=100, dps=60, label_values=None, extra=None) -> MapComparison:
    """The derived map on (f, lam[, extra state]) vs GD on ``model``'s parameters, from GD's own f_0, lam_0
    (``extra(B)`` gives the initial values of any further state coordinates, measured on the oracle).

    Digits: for lam relative to lam_t; for f relative to max(|f_t|, |f_0|) -- once the output has decayed far
    below its initial size its remaining significant digits are limited by the cancellation in the forward pass,
    not by the map.  The plain relative minimum is reported beside it.
    """
    label_values = label_values or {}
    B = get_backend("arb", dps)
    tr = run_gd(model, nl, eta_lam0=eta_lam0, steps=steps, backend=B, gtol=0)
    start = {"f": tr.f[0], "lam": tr.lam[0]}
    if extra is not None:
        with B.context():
            start.update(extra(B))
    states = iterate_map(map_step(fmap, tr.eta, model.width, **label_values), start, steps=tr.steps, dps=dps)
    with mpmath.workdps(dps + 20):
        f0 = abs(tr.f[0])
        scaled = [min(_digits(s["f"], g, max(abs(g), f0)), _digits(s["lam"], lv, abs(lv)))
                  for s, g, lv in zip(states, tr.f, tr.lam)]
        plain = [min(_digits(s["f"], g, abs(g)) if g != 0 else mpmath.mpf(99), _digits(s["lam"], lv, abs(lv)))
                 for s, g, lv in zip(states, tr.f, tr.lam)]
    return MapComparison(min(scaled), min(plain), tr.steps, tr.stop, [str(s) for s in fmap.state])


def _compare_gram_state(spec, fmap, loss, width, seed, eta_lam0, steps, dps, label_values):
    """A map on the Gram state (several outputs): every state entry vs the oracle's measured one, each step.

    Digits of an entry are relative to max(|x_t|, |x_0|) (an inner product that decays towards 0 keeps its
    absolute accuracy, like f in the one-output rows); the plain relative minimum is reported beside it.
    """
    model = numeric_model(spec, width, seed)
    B = get_backend("arb", dps)
    tr = run_gd(model, numeric_loss(loss, **label_values), eta_lam0=eta_lam0, steps=steps, backend=B, gtol=0,
                observe=True)
    names = {str(sym): _state_name(spec.model, sym) for sym in fmap.state}
    start = {k: tr.observed[0]["state"][v] for k, v in names.items()}
    states = iterate_map(map_step(fmap, tr.eta, width, **label_values), start, steps=tr.steps, dps=dps)
    with mpmath.workdps(dps + 20):
        scaled, plain = [], []
        for st, ob in zip(states, tr.observed):
            meas = {k: ob["state"][v] for k, v in names.items()}
            scaled.append(min(_digits(st[k], meas[k], max(abs(meas[k]), abs(start[k]))) for k in names))
            plain.append(min(_digits(st[k], meas[k], abs(meas[k])) if meas[k] != 0 else mpmath.mpf(99)
                             for k in names))
    return MapComparison(min(scaled), min(plain), tr.steps, tr.stop, list(names))
