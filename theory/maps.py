"""One interface for every reduced GD map the engine derives (uv-type, deep linear, many samples).

Following the idea of ``sympy.physics.mechanics`` (one result interface, several ways of deriving it:
Kane's and Lagrange's methods both give equations of motion), each derivation -- the function-space map
of a :class:`~catapult.theory.gram.VectorModel` (:class:`catapult.theory.reduce.FunctionSpaceMap`), the
depth-L reduced map (:class:`catapult.theory.deep.DeepReducedMap`) and the map on the invariants of m
samples (:class:`catapult.theory.samples.SampleMap`) -- returns a :class:`ReducedMap`:

======================  ===============================================================================
``model``               the model's name as printed (``"uv"``, ``"deep(L=3, isometric)"``, ``"uv(m=2, d=2)"``)
``loss``                the :class:`~catapult.theory.loss.Loss`
``state``               list of the state symbols
``update``              ``{name: expr}``: the new value of each state coordinate after one GD step
``update_slope``        the same with the loss slope l'(f) kept opaque (a symbol, per sample for samples)
``observables``         ``{name: expr}`` in the state: f and lam (uv, deep), f1..fm and Theta (samples)
``constants``           ``{symbol: meaning}`` of the constants of the map (deep: A, C, rho)
``init``                ``{name: expr}``: the initial state where the model fixes it (deep), else ``{}``
``exactness``           an :class:`~catapult.theory.exactness.Exactness`
======================  ===============================================================================

and the methods :meth:`ReducedMap.to_json`, :meth:`ReducedMap.latex`, ``str()``, :attr:`ReducedMap.symbols`,
:meth:`ReducedMap.drift` and :meth:`ReducedMap.observe` (an observable after one step).

Examples
========
>>> from catapult.theory import derive
>>> maps = [derive("uv", "mse"), derive("deep", depth=2), derive("samples", m=1, d=1, X=[[1]])]
>>> [isinstance(m, ReducedMap) for m in maps]
[True, True, True]
>>> [sorted(m.observables) for m in maps]
[['f', 'lam'], ['f', 'lam'], ['Theta', 'f1']]
>>> [str(m.exactness) for m in maps]
['exact', 'exact', 'exact']
>>> sorted(str(s) for s in maps[1].constants)
['A', 'C', 'rho']
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import sympy as sp

from .exactness import Exactness
from .symbols import LATEX_NAMES

#: every reduced map has these attributes (fields or properties of the subclass)
INTERFACE = ("model", "loss", "state", "update", "update_slope", "observables", "constants", "init", "exactness")


class ReducedMap(ABC):
    """Base of the derived one-step GD maps (see the module docstring for the interface).

    Subclasses are dataclasses holding their own fields (so their existing constructors and attributes
    stay); they must provide every name in :data:`INTERFACE`.  ``exactness`` and ``observables`` are
    abstract here; ``constants`` and ``init`` default to ``{}`` in the subclasses that have none.

    >>> from catapult.theory import derive
    >>> m = derive("uv", "mse")
    >>> m.observe("f")
    eta**2*f**3/n - eta*f*lam + f
    >>> m
    FunctionSpaceMap(model='uv', loss=f**2/2, exactness=exact, 2 coordinates)
    >>> print(m)
    model uv, loss l(f) = f**2/2   [exact: derived by SymPy from parameter-space GD]
      f' = eta**2*f**3/n - eta*f*lam + f
      lam' = eta**2*f**2*lam/n - 4*eta*f**2/n + lam
    """

    #: the exactness of every map of the class, unless an instance carries its own ``label``
    EXACTNESS = Exactness.EXACT

    @property
    def exactness(self) -> Exactness:
        """The exactness of the map (:class:`Exactness`): the instance's ``label`` if it has one, else the
        class's :attr:`EXACTNESS` (deep: exact, since isometric hidden layers keep the orbit in 2-dimensional
        subspaces; samples: exact, since the invariants V, G, w close under one step for any m, d and loss)."""
        return Exactness(getattr(self, "label", self.EXACTNESS))

    @property
    @abstractmethod
    def observables(self) -> dict:
        """``{name: expr}``: the model's outputs and NTK written in the state."""

    @property
    def symbols(self) -> dict:
        """State symbols by name.

        >>> from catapult.theory import derive
        >>> derive("uv", "mse").symbols
        {'f': f, 'lam': lam}
        """
        return {str(s): s for s in self.state}

    def _json_extra(self) -> dict:
        """Keys of :meth:`to_json` beyond the common ones (each subclass's own contract)."""
        return {}

    def to_json(self) -> dict:
        """The JSON contract of ``catapult derive``: model, loss, state, update, exact, exactness, and the
        subclass's own keys (deep: f, lam, init, constants; samples: outputs, ntk, ntk_normalisation).

        >>> from catapult.theory import derive
        >>> sorted(derive("uv", "mse").to_json())
        ['exact', 'exactness', 'loss', 'model', 'state', 'update']
        >>> sorted(set(derive("deep", depth=2).to_json()) - set(derive("uv", "mse").to_json()))
        ['constants', 'f', 'init', 'lam']
        """
        d = {"model": self.model, "loss": str(self.loss.expr), "state": [str(s) for s in self.state],
             "update": {k: str(v) for k, v in self.update.items()}}
        d.update(self._json_extra())
        d.update({"exact": bool(getattr(self, "exact", self.exactness == Exactness.EXACT)),
                  "exactness": Exactness(self.exactness).value})
        return d

    #: above this many operations (sympy.count_ops over the update) :meth:`latex` names common subexpressions
    CSE_OPS = 120

    def latex(self, cse: bool | None = None) -> str:
        r"""The map as a LaTeX ``aligned`` block, one row per state coordinate.

        ``cse``: name common subexpressions first (``sympy.cse``, as ``\xi_k``, one row each before the map);
        by default when the update has more than :attr:`CSE_OPS` operations (the depth-4 map: 16 KB raw).

        >>> from catapult.theory import derive
        >>> print(derive("uv", "mse").latex().splitlines()[1])
        f' &= \frac{\eta^{2} f^{3}}{n} - \eta f \lambda + f \\
        >>> print(derive("deep", depth=2).latex(cse=False).splitlines()[1][:20])
        a_{1}' &= a_{1} - \f
        >>> big = derive("deep", depth=4).latex()
        >>> len(big) < 8000, big.splitlines()[1].startswith(r"\xi_{0} &= ")
        (True, True)
        """
        exprs = list(self.update.values())
        if cse is None:
            cse = sum(sp.count_ops(e) for e in exprs) > self.CSE_OPS
        rows = []
        if cse:
            taken = {str(x) for e in exprs for x in e.free_symbols}
            names = (sp.Symbol(f"xi_{k}") for k in range(10 ** 6) if f"xi_{k}" not in taken)
            reps, exprs = sp.cse(exprs, symbols=names, optimizations=None)
            rows += [f"{sp.latex(x)} &= {sp.latex(v, symbol_names=LATEX_NAMES)} \\\\" for x, v in reps]
        rows += [f"{sp.latex(self.symbols[k], symbol_names=LATEX_NAMES)}' &= "
                 f"{sp.latex(v, symbol_names=LATEX_NAMES)} \\\\" for k, v in zip(self.update, exprs)]
        return "\\begin{aligned}\n" + "\n".join(rows) + "\n\\end{aligned}"

    def _repr_latex_(self) -> str:
        """Notebook display: the map typeset (:meth:`latex`)."""
        return "$$" + self.latex() + "$$"

    def _latex(self, printer=None) -> str:
        """``sympy.latex(map)`` gives :meth:`latex` (not the printer's ``\\mathtt{\\text{...}}`` of the repr)."""
        return self.latex()

    def __repr__(self):
        return (f"{type(self).__name__}(model={self.model!r}, loss={self.loss.expr}, "
                f"exactness={Exactness(self.exactness).value}, {len(self.state)} coordinates)")

    def _header(self) -> str:
        """The first line of the text form (what was derived, for which case, how exactly)."""
        return f"model {self.model}, loss l(f) = {self.loss.expr}   [{self.exactness}]"

    def _details(self) -> list:
        """Lines after the update in the text form (observables, init, ...)."""
        return []

    def __str__(self):
        """The text form of ``catapult derive``: a header, one line per state coordinate, then the details."""
        lines = [self._header()] + [f"  {k}' = {v}" for k, v in self.update.items()]
        return "\n".join(lines + self._details())

    def drift(self, name: str) -> sp.Expr:
        """The one-step change ``x' - x`` of a state coordinate.

        >>> from catapult.theory import derive
        >>> sp.factor(derive("uv", "mse").drift("lam"))
        eta*f**2*(eta*lam - 4)/n
        """
        return sp.simplify(self.update[name] - self.symbols[name])

    def observe(self, name: str) -> sp.Expr:
        """An observable after one step: ``observables[name]`` with the state replaced by its update.

        >>> from catapult.theory import derive
        >>> from catapult.theory.symbols import eta
        >>> dm = derive("deep", depth=2)
        >>> sp.expand(dm.observe("f").subs(eta, 0) - dm.observables["f"])   # eta = 0: nothing moves
        0
        """
        reps = {self.symbols[k]: v for k, v in self.update.items()}
        return self.observables[name].subs(reps, simultaneous=True)
