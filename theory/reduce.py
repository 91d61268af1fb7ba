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

from .gram import VectorModel
from .loss import Loss
from .symbols import eta, f, lam, n


#: stands for the loss slope l'(f) while the map is reduced, so SymPy never rewrites l'
SLOPE = sp.Symbol("s", real=True)

#: LaTeX names of the engine's symbols
LATEX_NAMES = {lam: r"\lambda", sp.Symbol("lam0", positive=True): r"\lambda_0", eta: r"\eta"}


def _tidy(expr: sp.Expr) -> sp.Expr:
    """A canonical, readable form: rational function in the slope, expanded."""
    return sp.expand(sp.cancel(expr))


@dataclass
class FunctionSpaceMap:
    """The derived one-step map of a model under a loss.

    Attributes
    ==========
    model, loss : names of the model and the loss
    model_def : the :class:`VectorModel` itself (what invariants and thresholds are derived from)
    state : list of state symbols (``[f, lam]`` plus any extra Gram symbols)
    update : ``{name: expr}``, the new value of each state coordinate
    exact : True when the map closes on (f, lam) with no term dropped
    gram_update : the exact Gram-level step it came from
    substitution : how Gram symbols were written in the state
    """

    model: str
    loss: Loss
    state: list
    update: dict
    exact: bool
    gram_update: dict = field(repr=False)
    substitution: dict = field(repr=False)
    label: str = "exact"
    update_slope: dict = field(default=None, repr=False)  # the update with l'(f) kept as the symbol SLOPE
    model_def: VectorModel | None = field(default=None, repr=False, compare=False)  # the model it was derived from

    def __repr__(self):
        lines = [f"FunctionSpaceMap(model={self.model!r}, loss={self.loss.expr}, exact={self.exact})"]
        lines += [f"  {k}' = {v}" for k, v in self.update.items()]
        return "\n".join(lines)

    __str__ = __repr__

    @property
    def symbols(self) -> dict:
        """State symbols by name."""
        return {str(s): s for s in self.state}

    def latex(self) -> str:
        r"""The map as a LaTeX ``aligned`` block.

        >>> from catapult.theory.models import uv_model
        >>> from catapult.theory.loss import mse
        >>> print(derive_map(uv_model(), mse()).latex().splitlines()[1])
        f' &= \frac{\eta^{2} f^{3}}{n} - \eta f \lambda + f \\
        """
        rows = [f"{sp.latex(self.symbols[k], symbol_names=LATEX_NAMES)}' &= "
                f"{sp.latex(v, symbol_names=LATEX_NAMES)} \\\\" for k, v in self.update.items()]
        return "\\begin{aligned}\n" + "\n".join(rows) + "\n\\end{aligned}"

    def to_json(self) -> dict:
        """The JSON contract of ``catapult derive``.

        >>> from catapult.theory.models import uv_model
        >>> from catapult.theory.loss import mse
        >>> sorted(derive_map(uv_model(), mse()).to_json())
        ['exact', 'exactness', 'loss', 'model', 'state', 'update']
        """
        d = {"model": self.model, "loss": str(self.loss.expr), "state": [str(s) for s in self.state],
             "update": {k: str(v) for k, v in self.update.items()}, "exact": self.exact,
             "exactness": self.label}
        if getattr(self, "observables", None):  # a multi-output map: the outputs and Theta on the Gram state
            d["observables"] = {k: str(v) for k, v in self.observables.items()}
        return d

    def drift(self, name: str = "lam") -> sp.Expr:
        """The one-step change ``x' - x`` of a state coordinate.

        >>> from catapult.theory.models import uv_model
        >>> from catapult.theory.loss import mse
        >>> sp.factor(derive_map(uv_model(), mse()).drift("lam"))
        eta*f**2*(eta*lam - 4)/n
        """
        return sp.simplify(self.update[name] - self.symbols[name])


def _solve_state(model: VectorModel):
    """Write two state symbols (Gram entries, scalars) in terms of (f, lam); return the substitution or None.

    When no pair can be solved for (e.g. a model with a single Gram entry, f = (|u|^2 - n)/(2 sqrt(n)), where lam is
    itself a function of f), one symbol is solved from F = f alone: lam is then a function of f on the model.
    """
    F, L = model.forward, model.ntk
    syms = model.G.state_symbols
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
                            label="exact" if not leftover else "exact (with extra state)", update_slope=opaque,
                            model_def=model)


def map_json(m: FunctionSpaceMap) -> str:
    """The map's JSON as a string (stable key order).

    >>> from catapult.theory.models import uv_model
    >>> from catapult.theory.loss import mse
    >>> map_json(derive_map(uv_model(), mse()))[:30]
    '{"exact": true, "exactness": "'
    """
    return json.dumps(m.to_json(), sort_keys=True)
