"""The shared SymPy symbols of the derivation engine, with their assumptions.

All expressions that :mod:`theory` reports are written in these symbols, so a
string produced by ``str(expr)`` parses back with
:func:`catapult.theory.parse.parse_expression` given :data:`SYMBOLS` (never with ``sympify``
on user text: that evaluates it as Python).

Examples
========
>>> from catapult.theory.symbols import f, lam, eta, n, lam0
>>> (f, lam, eta, n, lam0)
(f, lam, eta, n, lam0)
>>> eta.is_positive and n.is_positive and f.is_real
True
"""

import sympy as sp

f = sp.Symbol("f", real=True)          #: network output at the (single) input
lam = sp.Symbol("lam", positive=True)  #: NTK top eigenvalue at the current step
lam0 = sp.Symbol("lam0", positive=True)  #: NTK at initialisation
eta = sp.Symbol("eta", positive=True)  #: learning rate
n = sp.Symbol("n", positive=True)      #: width
y = sp.Symbol("y", real=True)          #: regression label
p = sp.Symbol("p", positive=True)      #: fraction of points on the positive side (logistic)

#: name -> symbol, for ``catapult.theory.parse.parse_expression(text, SYMBOLS)``
SYMBOLS = {s.name: s for s in (f, lam, lam0, eta, n, y, p)}

#: LaTeX names of the engine's symbols (``sp.latex(expr, symbol_names=LATEX_NAMES)``)
LATEX_NAMES = {lam: r"\lambda", lam0: r"\lambda_0", eta: r"\eta"}
