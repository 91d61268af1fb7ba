"""Derive the one-step function-space map (f, lam) -> (f', lam') from parameter-space GD.

The exact Gram-level step of :mod:`catapult.theory.gram` is rewritten in the state
(f, lam): two Gram symbols are solved for in terms of f and lam, substituted,
and the map is *exact* (``exact=True``) when every remaining Gram symbol
cancels.  Otherwise the leftover Gram symbols are listed as extra state and
their own exact updates are kept.

Examples
========
>>> from catapult.theory.reduce import derive_map
>>> from catapult.theory.models import uv_model
>>> from catapult.theory.loss import mse
>>> m = derive_map(uv_model(), mse())
>>> m.exact
True
>>> m.update["f"]
eta**2*f**3/n - eta*f*lam + f
>>> m.update["lam"]
eta**2*f**2*lam/n - 4*eta*f**2/n + lam
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from itertools import combinations

import sympy as sp

from .exactness import Exactness
from .gram import VectorModel
from .loss import Loss
from .maps import ReducedMap
from .symbols import LATEX_NAMES, f, lam

__all__ = ["SLOPE", "LATEX_NAMES", "FunctionSpaceMap", "derive_map", "map_json"]


#: stands for the loss slope l'(f) while the map is reduced, so SymPy never rewrites l'
SLOPE = sp.Symbol("s", real=True)


def _tidy(expr: sp.Expr) -> sp.Expr:
    """A canonical, readable form: rational function in the slope, expanded."""
    return sp.expand(sp.cancel(expr))


@dataclass(repr=False)
class FunctionSpaceMap(ReducedMap):
    """The derived one-step map of a model under a loss (a :class:`~catapult.theory.maps.ReducedMap`).

    Attributes
    ==========
    model, loss : names of the model and the loss
    model_def : the :class:`VectorModel` itself (what invariants and thresholds are derived from)
    state : list of state symbols (``[f, lam]`` plus any extra Gram symbols)
    update : ``{name: expr}``, the new value of each state coordinate
    exact : True when the map closes on (f, lam) with no term dropped
    gram_update : the exact Gram-level step it came from
    substitution : how Gram symbols were written in the state
    label : its :class:`~catapult.theory.exactness.Exactness` (also ``exactness``)

    >>> from catapult.theory.models import uv_model
    >>> from catapult.theory.loss import mse
    >>> m = derive_map(uv_model(), mse())
    >>> m.exactness, m.observables, m.constants, m.init
    (<Exactness.EXACT: 'exact'>, {'f': f, 'lam': lam}, {}, {})
    """

    model: str
    loss: Loss
    state: list[sp.Symbol]
    update: dict[str, sp.Expr]
    exact: bool
    gram_update: dict = field(repr=False)
    substitution: dict = field(repr=False)
    label: Exactness = Exactness.EXACT
    update_slope: dict = field(default=None, repr=False)  # the update with l'(f) kept as the symbol SLOPE
    model_def: VectorModel | None = field(default=None, repr=False, compare=False)  # the model it was derived from

    def __post_init__(self):
        self.label = Exactness(self.label)

    def _header(self) -> str:
        return (f"model {self.model}, loss l(f) = {self.loss.expr}   [{self.exactness}: derived by SymPy from "
                "parameter-space GD]")

    def _details(self) -> list:
        if set(self.observables) == {"f", "lam"}:
            return []
        return [f"  observable {k} = {e}" for k, e in self.observables.items()]  # the Gram state: f_a and Theta

    @property
    def observables(self) -> dict:
        """f and lam: here they are state coordinates themselves."""
        return {"f": f, "lam": lam}

    @property
    def constants(self) -> dict:
        """None: the map has only eta and n besides its state."""
        return {}

    @property
    def init(self) -> dict:
        """Not fixed by the model: any (f0, lam0) (and Gram values) is an initial state."""
        return {}

    def drift(self, name: str = "lam") -> sp.Expr:
        """The one-step change ``x' - x`` of a state coordinate (default lam).

        >>> from catapult.theory.models import uv_model
        >>> from catapult.theory.loss import mse
        >>> sp.factor(derive_map(uv_model(), mse()).drift())
        eta*f**2*(eta*lam - 4)/n
        """
        return super().drift(name)


#: at most this many state symbols (those the output and the NTK use) are tried in pairs by the state solve
MAX_SOLVE_SYMBOLS = 10


def _solve_state(model: VectorModel):
    """Write two state symbols (Gram entries, scalars) in terms of (f, lam); return the substitution or None.

    When no pair can be solved for (e.g. a model with a single Gram entry, f = (|u|^2 - n)/(2 sqrt(n)), where lam is
    itself a function of f), one symbol is solved from F = f alone: lam is then a function of f on the model.

    Domain (cost): SymPy's solve is tried only when the output and the NTK are rational functions of the state
    symbols, and on at most :data:`MAX_SOLVE_SYMBOLS` of them (a transcendental output such as
    tanh(u.v/sqrt(n)) + b can make one solve run for minutes).  Otherwise None: the map is kept, exactly, on the
    Gram state (``exact (with extra state)``).
    """
    F, L = model.forward, model.ntk
    syms = [g for g in model.G.state_symbols if F.has(g) or L.has(g)]
    if len(syms) > MAX_SOLVE_SYMBOLS or not (F.is_rational_function(*syms) and L.is_rational_function(*syms)):
        return None
    for pair in combinations(syms, 2):
        try:
            sols = sp.solve([F - f, L - lam], list(pair), dict=True)
        except NotImplementedError:
            continue
        if len(sols) == 1 and set(sols[0]) == set(pair):
            return sols[0]
    for g in syms:
        try:
            sols = sp.solve(F - f, g, dict=True)
        except NotImplementedError:
            continue
        if len(sols) == 1:
            return sols[0]
    return None


def derive_map(model: VectorModel, loss: Loss) -> FunctionSpaceMap:
    """Derive the exact one-step map of ``model`` under GD on ``loss``.

    Parameters
    ==========
    model : VectorModel
    loss : Loss
        Any twice-differentiable loss of the output; its slope ``l'(f)`` is
        what multiplies the parameter gradient.

    Examples
    ========
    A loss no paper treats works unchanged:

    >>> from catapult.theory.models import uv_model
    >>> from catapult.theory.loss import Loss
    >>> m = derive_map(uv_model(), Loss.parse("log(cosh(f - 1))"))
    >>> m.exact, m.update["f"]
    (True, eta**2*f*sinh(f - 1)**2/(n*cosh(f - 1)**2) - eta*lam*sinh(f - 1)/cosh(f - 1) + f)
    """
    if len(model.outputs) > 1:  # several outputs: the Gram-state map (catapult.theory.multi_output)
        from .multi_output import derive_multi_map
        return derive_multi_map(model, loss)
    F = model.forward
    gram_next = model.gd_step(SLOPE)  # slope l'(f) kept opaque: the step is exact for any loss
    sub = _solve_state(model) or {}

    def in_state(expr):
        return _tidy(expr.subs(gram_next, simultaneous=True).subs(sub, simultaneous=True))

    updates = {"f": in_state(F), "lam": in_state(model.ntk)}
    leftover = set().union(*(v.free_symbols for v in updates.values())) & set(model.G.state_symbols)
    state = [f, lam]
    for s in sorted(leftover, key=str):
        state.append(s)
        updates[str(s)] = _tidy(gram_next[s].subs(sub, simultaneous=True))
    # f is a state coordinate once F was solved for; otherwise l' is written through F(G)
    slope = loss.d1 if sub else loss.d1.subs(f, F)
    opaque = dict(updates)
    updates = {k: v.subs(SLOPE, slope) for k, v in updates.items()}
    return FunctionSpaceMap(model.name, loss, state, updates, not leftover, gram_next, sub,
                            label=Exactness.EXACT if not leftover else Exactness.EXACT_EXTRA, update_slope=opaque,
                            model_def=model)


def map_json(m: FunctionSpaceMap) -> str:
    """The map's JSON as a string (stable key order).

    >>> from catapult.theory.models import uv_model
    >>> from catapult.theory.loss import mse
    >>> map_json(derive_map(uv_model(), mse()))[:30]
    '{"exact": true, "exactness": "'
    """
    return json.dumps(m.to_json(), sort_keys=True)
