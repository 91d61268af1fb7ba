"""Forward-mode automatic differentiation (dual numbers) over any backend's scalars.

A :class:`Dual` carries a value and its partial derivatives with respect to a few inputs; arithmetic and the
elementary functions propagate them by the chain rule.  :func:`dual_namespace` wraps a backend's scalar
functions (``{"exp": ..., "log": ..., "mpf": ..., "pi": ...}``) so that a compiled expression evaluated on
Duals returns its value and its gradient.  This is how the oracle differentiates a user model's output: by
evaluating it, not by any symbolic derivative.

Examples
========
>>> import math
>>> ns = dual_namespace({"exp": math.exp, "log": math.log, "sqrt": math.sqrt, "mpf": float, "pi": math.pi})
>>> x, y = Dual.inputs([2.0, 3.0])
>>> z = ns["exp"](x * y) + x ** 3 / y
>>> abs(z.d[0] - (3 * math.exp(6.0) + 4.0)) < 1e-9, abs(z.d[1] - (2 * math.exp(6.0) - 8.0 / 9.0)) < 1e-9
(True, True)
"""

from __future__ import annotations

from .errors import NumericsInputError


class Dual:
    """A value ``v`` and partials ``d`` (a tuple; entries may be the int 0, which costs nothing)."""

    __slots__ = ("v", "d")

    def __init__(self, v, d):
        self.v, self.d = v, tuple(d)

    @staticmethod
    def inputs(values):
        """Independent variables: ``values[i]`` with partial 1 in slot i.

        >>> [x.d for x in Dual.inputs([1.0, 2.0])]
        [(1, 0), (0, 1)]
        """
        k = len(values)
        return [Dual(v, tuple(1 if j == i else 0 for j in range(k))) for i, v in enumerate(values)]

    def __repr__(self):
        return f"Dual({self.v!r}, {self.d!r})"

    def _lift(self, o):
        return o if isinstance(o, Dual) else Dual(o, (0,) * len(self.d))

    def __add__(self, o):
        o = self._lift(o)
        return Dual(self.v + o.v, [_add(a, b) for a, b in zip(self.d, o.d)])

    __radd__ = __add__

    def __neg__(self):
        return Dual(-self.v, [_scale(-1, a) for a in self.d])

    def __pos__(self):
        return self

    def __sub__(self, o):
        return self + (-self._lift(o))

    def __rsub__(self, o):
        return self._lift(o) - self

    def __mul__(self, o):
        o = self._lift(o)
        return Dual(self.v * o.v, [_add(_scale(o.v, a), _scale(self.v, b)) for a, b in zip(self.d, o.d)])

    __rmul__ = __mul__

    def __truediv__(self, o):
        o = self._lift(o)
        q = self.v / o.v
        return Dual(q, [_scale(1 / o.v, _add(a, _scale(-q, b))) for a, b in zip(self.d, o.d)])

    def __rtruediv__(self, o):
        return self._lift(o) / self

    def __pow__(self, k):
        if isinstance(k, Dual):
            raise NumericsInputError("a power with a variable exponent is not supported by the oracle")
        if isinstance(k, int) or (hasattr(k, "is_integer") and _is_int(k)):
            return _ipow(self, int(k))
        vk1 = self.v ** (k - 1)
        return Dual(vk1 * self.v, [_scale(k * vk1, a) for a in self.d])


def _is_int(k):
    try:
        return float(k) == int(float(k)) and abs(float(k)) < 2 ** 31
    except (TypeError, ValueError, OverflowError):
        return False


def _ipow(x, k):
    """x**k by repeated squaring (balls straddling 0 stay finite, python-flint #426)."""
    if k < 0:
        return 1 / _ipow(x, -k)
    out, base = None, x
    while k:
        if k & 1:
            out = base if out is None else out * base
        base, k = base * base, k >> 1
    return out if out is not None else x._lift(1) if isinstance(x, Dual) else 1


def _add(a, b):
    if isinstance(a, int) and a == 0:
        return b
    if isinstance(b, int) and b == 0:
        return a
    return a + b


def _scale(c, a):
    return 0 if isinstance(a, int) and a == 0 else c * a


#: d/dx of each function, written with the backend's own functions ``F`` (and constants)
DERIVATIVES = {
    "exp": lambda F, x: F["exp"](x),
    "log": lambda F, x: 1 / x,
    "sqrt": lambda F, x: 1 / (2 * F["sqrt"](x)),
    "sin": lambda F, x: F["cos"](x),
    "cos": lambda F, x: -F["sin"](x),
    "tan": lambda F, x: 1 + F["tan"](x) ** 2,
    "sec": lambda F, x: F["sec"](x) * F["tan"](x),
    "csc": lambda F, x: -F["csc"](x) * F["cot"](x),
    "cot": lambda F, x: -(1 + F["cot"](x) ** 2),
    "sinh": lambda F, x: F["cosh"](x),
    "cosh": lambda F, x: F["sinh"](x),
    "tanh": lambda F, x: 1 - F["tanh"](x) ** 2,
    "sech": lambda F, x: -F["sech"](x) * F["tanh"](x),
    "csch": lambda F, x: -F["csch"](x) * F["coth"](x),
    "coth": lambda F, x: 1 - F["coth"](x) ** 2,
    "asin": lambda F, x: 1 / F["sqrt"](1 - x * x),
    "acos": lambda F, x: -1 / F["sqrt"](1 - x * x),
    "atan": lambda F, x: 1 / (1 + x * x),
    "asinh": lambda F, x: 1 / F["sqrt"](x * x + 1),
    "acosh": lambda F, x: 1 / F["sqrt"](x * x - 1),
    "atanh": lambda F, x: 1 / (1 - x * x),
    "erf": lambda F, x: 2 / F["sqrt"](F["pi"]) * F["exp"](-(x * x)),
    "erfc": lambda F, x: -2 / F["sqrt"](F["pi"]) * F["exp"](-(x * x)),
}


def dual_namespace(base: dict) -> dict:
    """Wrap a backend's scalar functions so they accept Duals (constants and ``mpf`` pass through).

    >>> import math
    >>> ns = dual_namespace({"tanh": math.tanh, "mpf": float})
    >>> round(ns["tanh"](Dual(0.5, (1.0,))).d[0], 12) == round(1 - math.tanh(0.5) ** 2, 12)
    True
    """
    out = dict(base)
    for name, fn in base.items():
        if name in DERIVATIVES and callable(fn):
            out[name] = _wrap(fn, DERIVATIVES[name], base)
    return out


def _wrap(fn, deriv, base):
    def g(x):
        if not isinstance(x, Dual):
            return fn(x)
        slope = deriv(base, x.v)
        return Dual(fn(x.v), [_scale(slope, a) for a in x.d])
    g.__name__ = getattr(fn, "__name__", "f")
    return g
