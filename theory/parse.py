"""Safe parsing of user expressions and numbers: a whitelist walk over Python's ``ast``, nothing executed.

Every string a user gives (``--loss-expr``, ``--label``, ``mse(label="1/2")``, ``Loss.subs({"y": "3/2"})``,
data entries...) is turned into SymPy here.  The text is parsed by :func:`ast.parse` (``mode='eval'``) and the
SymPy expression is *built* node by node from a small grammar:

* numeric literals (``int``; ``float`` literals become the exact rational of their decimal text, ``0.1 -> 1/10``);
* names from the caller's symbol set, and the constants ``pi`` and ``E``;
* unary ``+``/``-``, binary ``+ - * / **``;
* calls, with one positional argument, of the functions in :data:`FUNCTIONS` -- the set every numeric backend
  (float64, mpmath, arb; see ``verify/bridge.py``) evaluates, so a loss the derivation accepts can also be run.

Anything else (attribute access, subscripts, lambdas, keywords, strings, comparisons, comprehensions...) is a
:class:`~catapult.theory.errors.TheoryInputError` naming the construct.  Sizes are capped up front, each with the limit
in the message: text length, node count, nesting depth, literal digits and range, and powers (the exponent must
be a number of bounded size, so ``(f+1)**5000``, ``f**10**6`` and ``10**10**10`` are refused, never computed).

Examples
========
>>> from catapult.theory.symbols import f, y
>>> parse_expression("log(cosh(f - 1/3)) + 0.25*f**2", {"f": f})
f**2/4 + log(cosh(f - 1/3))
>>> parse_expression("__import__('os').system('true')", {"f": f})
Traceback (most recent call last):
...
catapult.theory.errors.TheoryInputError: expression "__import__('os').system('true')": attribute access (.system) is not allowed
>>> parse_number("3/4", "--label"), parse_number("-1.5e-3", "--label")
(3/4, -3/2000)
>>> parse_number("1/0", "--label")
Traceback (most recent call last):
...
catapult.theory.errors.TheoryInputError: --label: division by zero in '1/0'
"""

from __future__ import annotations

import ast
import math
import re
from decimal import Decimal, InvalidOperation

import sympy as sp

from .errors import TheoryInputError

#: the functions an expression may call (one argument each); every numeric backend evaluates them and their
#: derivatives (tests/test_parse.py checks float64, mpmath and arb through catapult.verify.bridge)
FUNCTIONS = {name: getattr(sp, name) for name in (
    "exp", "log", "sqrt", "sin", "cos", "tan", "sec", "csc", "cot", "sinh", "cosh", "tanh", "sech", "csch", "coth",
    "asin", "acos", "atan", "asinh", "acosh", "atanh", "erf", "erfc")}

#: named constants every expression may use
CONSTANTS = {"pi": sp.pi, "E": sp.E}

MAX_LENGTH = 2000          #: characters of an expression
MAX_NODES = 1000           #: AST nodes of an expression
MAX_DEPTH = 50             #: nesting depth (parentheses, calls, operators; a chain a + b + c counts once)
MAX_DIGITS = 100           #: significant digits of a numeric literal
MAX_DECIMAL_EXPONENT = 300  #: nonzero literals and numbers lie in [1e-300, 1e300] in magnitude
MAX_RESULT_DIGITS = 600    #: digits of the numerator/denominator of any number an expression evaluates to
MAX_EXPONENT = 1000        #: |exponent| of a power of a symbol, e.g. f**1000
MAX_COMPOUND_EXPONENT = 64  #: |exponent| of a power of anything else, e.g. (f + 1)**64

_OTHER_BINOPS = {ast.Mod: "%", ast.FloorDiv: "//", ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>",
                 ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^"}
_CONSTRUCTS = {
    ast.Attribute: "attribute access", ast.Subscript: "a subscript", ast.Lambda: "a lambda", ast.Compare: "a comparison",
    ast.BoolOp: "and/or", ast.IfExp: "a conditional expression (x if c else y)", ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension", ast.DictComp: "a comprehension", ast.GeneratorExp: "a comprehension",
    ast.List: "a list", ast.Tuple: "a tuple", ast.Set: "a set", ast.Dict: "a dict", ast.Starred: "a starred argument",
    ast.NamedExpr: "an assignment expression (:=)", ast.JoinedStr: "an f-string", ast.FormattedValue: "an f-string",
    ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield", ast.Slice: "a slice"}
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _short(text, limit=60):
    return repr(text if len(text) <= limit else text[:limit] + "...")


class _Builder:
    """Builds a SymPy expression from an ``ast`` tree, refusing everything outside the grammar."""

    def __init__(self, text, symbols, what, source=None, dots=None):
        self.text, self.symbols, self.what, self.dots = text, symbols, what, dots
        self.source = text if source is None else source  # the text given to ast.parse (stripped)
        self.names = {**CONSTANTS, **symbols}

    def fail(self, why):
        raise TheoryInputError(f"{self.what} {_short(self.text)}: {why}")

    def build(self, node, depth=0):
        if depth > MAX_DEPTH:
            self.fail(f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            if node.id not in self.names:
                if node.id in FUNCTIONS:
                    self.fail(f"{node.id} is a function: call it, e.g. {node.id}(f)")
                self.fail(f"unknown name {node.id} (allowed: {', '.join(sorted(self.symbols)) or 'none'}, "
                          f"and the constants E, pi)")
            return self.names[node.id]
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return -self.build(node.operand, depth + 1)
            if isinstance(node.op, ast.UAdd):
                return self.build(node.operand, depth + 1)
            self.fail(f"operator {'not' if isinstance(node.op, ast.Not) else '~'} is not allowed")
        if isinstance(node, ast.BinOp):
            op = type(node.op)
            if op in _OTHER_BINOPS:
                self.fail(f"operator {_OTHER_BINOPS[op]} is not allowed (allowed: + - * / **)")
            if op in (ast.Add, ast.Sub):
                return self.chain(node, (ast.Add, ast.Sub), depth)
            if op in (ast.Mult, ast.Div):
                return self.chain(node, (ast.Mult, ast.Div), depth)
            return self.power(self.build(node.left, depth + 1), self.build(node.right, depth + 1))
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        desc = _CONSTRUCTS.get(type(node), f"the construct {type(node).__name__}")
        if isinstance(node, ast.Attribute):
            desc += f" (.{node.attr})"
        self.fail(f"{desc} is not allowed")

    def constant(self, node):
        v = node.value
        if isinstance(v, bool) or v is None or v is Ellipsis:
            self.fail(f"{v!r} is not a number")
        if isinstance(v, (str, bytes)):
            self.fail("strings are not allowed")
        if isinstance(v, complex):
            self.fail("imaginary numbers are not allowed")
        if isinstance(v, int):
            if v.bit_length() > 4 * MAX_DIGITS:  # cheap bound before printing it
                self.fail(f"integer literal has more than {MAX_DIGITS} digits")
            digits = len(str(v).rstrip("0")) if v else 1
            if digits > MAX_DIGITS:
                self.fail(f"integer literal has more than {MAX_DIGITS} significant digits")
            if v and len(str(v)) - 1 > MAX_DECIMAL_EXPONENT:
                self.fail(f"integer literal exceeds 1e{MAX_DECIMAL_EXPONENT}")
            return sp.Integer(v)
        source = ast.get_source_segment(self.source, node) or repr(v)
        return _decimal(source.replace("_", ""), lambda why: self.fail(why))

    def chain(self, node, ops, depth):
        """a + b - c ... (or a * b / c ...) built at once: a long chain is one level deep, not len(chain)."""
        items = []
        while isinstance(node, ast.BinOp) and type(node.op) in ops:
            items.append((type(node.op), node.right))
            node = node.left
        items.append((ops[0], node))
        items.reverse()
        args = []
        for op, sub in items:
            e = self.build(sub, depth + 1)
            if op is ast.Sub:
                e = -e
            elif op is ast.Div:
                if e == 0:
                    self.fail("division by zero" if isinstance(sub, ast.Constant)
                              else f"division by zero ({_unparse(sub)} is 0)")
                e = self.power(e, sp.Integer(-1))
            args.append(e)
        out = sp.Add(*args) if ops[0] is ast.Add else sp.Mul(*args)
        self.check_numbers(out)
        return out

    def power(self, base, exp):
        if exp.free_symbols:
            if base.free_symbols or not (base.is_number and base.is_positive):
                self.fail("the exponent of a power must be a number unless the base is a positive constant "
                          f"(towers such as f**f are not allowed), got ({base})**({exp})")
            if any(p.exp.free_symbols for p in exp.atoms(sp.Pow)):
                self.fail(f"power towers are not allowed, got ({base})**({exp})")
            return sp.Pow(base, exp)
        if not exp.is_real:
            self.fail(f"the exponent {exp} is not a real number")
        size = abs(exp) if exp.is_Rational else abs(sp.N(exp, 15))
        atomic = base.is_Symbol or base.is_Rational
        limit = MAX_EXPONENT if atomic else MAX_COMPOUND_EXPONENT
        if size > limit:
            self.fail(f"exponent {_num(exp)} exceeds {limit} in absolute value"
                      + ("" if atomic else " for a compound base"))
        if base == 0 and exp.is_negative:
            self.fail("division by zero (0 to a negative power)")
        if base.is_number and base.is_negative and not exp.is_integer:
            self.fail(f"({base})**({exp}) is not real")
        if base.is_Rational and exp.is_Rational:
            digits = math.log10(max(abs(base.p), base.q, 1))
            if size * digits > MAX_RESULT_DIGITS:
                self.fail(f"{_num(base)}**{_num(exp)} would have more than {MAX_RESULT_DIGITS} digits")
        out = sp.Pow(base, exp)
        self.check_numbers(out)
        return out

    def call(self, node, depth):
        if not isinstance(node.func, ast.Name):
            self.build(node.func, depth + 1)  # names the offending construct (attribute, call of a call...)
            self.fail("only named functions may be called")
        name = node.func.id
        if name == "dot" and self.dots is not None:
            return self.dot(node)
        if name not in FUNCTIONS:
            self.fail(f"function {name} is not allowed (allowed: {', '.join(FUNCTIONS)})")
        if node.keywords:
            self.fail(f"keyword arguments are not allowed ({name}(..., {node.keywords[0].arg or '**'}=...))")
        if len(node.args) != 1:
            self.fail(f"{name} takes exactly one argument, got {len(node.args)}")
        arg = self.build(node.args[0], depth + 1)
        out = self.power(arg, sp.Rational(1, 2)) if name == "sqrt" else FUNCTIONS[name](arg)
        if out.has(sp.zoo, sp.oo, -sp.oo, sp.nan):
            self.fail(f"{name}({arg}) is not finite")
        self.check_numbers(out)
        return out

    def dot(self, node):
        """``dot(a, b)`` (inner product of two vector parameters) or ``dot(a, W, ..., b)`` (a chain through
        matrix parameters): arguments are bare parameter names; ``self.dots(names)`` gives the symbol or fails."""
        if node.keywords or len(node.args) < 2 or not all(isinstance(a, ast.Name) for a in node.args):
            self.fail("dot takes two or more parameter names, e.g. dot(u, v) or dot(w, V, u)")
        try:
            return self.dots([a.id for a in node.args])
        except TheoryInputError as exc:
            self.fail(str(exc))

    def check_numbers(self, e):
        for r in e.atoms(sp.Rational):
            if len(str(abs(r.p))) > MAX_RESULT_DIGITS or len(str(r.q)) > MAX_RESULT_DIGITS:
                self.fail(f"a number in the expression has more than {MAX_RESULT_DIGITS} digits")
        for p in e.atoms(sp.Pow):
            if p.exp.is_number and p.exp.is_Rational:
                limit = MAX_EXPONENT if (p.base.is_Symbol or p.base.is_Rational) else MAX_COMPOUND_EXPONENT
                if abs(p.exp) > limit:
                    self.fail(f"exponent {p.exp} exceeds {limit} in absolute value")


def _unparse(node):
    try:
        return ast.unparse(node)
    except Exception:  # pragma: no cover - ast.unparse of a parsed tree does not fail in practice
        return "the divisor"


def _num(e):
    s = str(e)
    return s if len(s) <= 30 else s[:30] + "..."


def _decimal(text, fail):
    """The exact rational of a decimal literal (digits and exponent capped before any big number is made)."""
    try:
        d = Decimal(text)
    except InvalidOperation:
        fail(f"{_short(text)} is not a number")
    if not d.is_finite():
        fail(f"{_short(text)} is not finite")
    if d == 0:
        return sp.Integer(0)
    if abs(d.adjusted()) > MAX_DECIMAL_EXPONENT:  # before any arithmetic: 1e999999999 stays a tuple
        fail(f"{_short(text)} is out of range (nonzero magnitudes from 1e-{MAX_DECIMAL_EXPONENT} "
             f"to 1e{MAX_DECIMAL_EXPONENT})")
    sign, digits, exponent = d.as_tuple()
    digits = "".join(map(str, digits)).lstrip("0")
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    if len(stripped) > MAX_DIGITS:
        fail(f"{_short(text)} has more than {MAX_DIGITS} significant digits")
    digits = stripped
    mantissa = int(digits) * (-1 if sign else 1)
    return sp.Integer(mantissa) * sp.Integer(10) ** exponent if exponent >= 0 else \
        sp.Rational(mantissa, 10 ** -exponent)


def _depth_of_brackets(text):
    depth = deepest = 0
    for ch in text:
        if ch in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")]}":
            depth -= 1
    return deepest


def parse_expression(text, symbols, what="expression", dots=None) -> sp.Expr:
    """A SymPy expression from ``text``, built from its syntax tree (never executed).

    ``symbols`` maps the names the text may use to SymPy symbols (``pi`` and ``E`` are always allowed).
    ``dots``, when given, enables ``dot(a, b, ...)`` over bare names: ``dots(["a", "b"])`` returns its symbol
    (model outputs, :mod:`catapult.theory.model_file`).
    Raises :class:`~catapult.theory.errors.TheoryInputError` for anything outside the grammar or the size caps.

    >>> from catapult.theory.symbols import f, p
    >>> parse_expression("p*log(1 + exp(-f)) + (1 - p)*log(1 + exp(f))", {"f": f, "p": p}).has(p)
    True
    >>> parse_expression("(f + 1)**5000", {"f": f})
    Traceback (most recent call last):
    ...
    catapult.theory.errors.TheoryInputError: expression '(f + 1)**5000': exponent 5000 exceeds 64 in absolute value for a compound base
    >>> parse_expression("f**2 + 10**10**10", {"f": f})
    Traceback (most recent call last):
    ...
    catapult.theory.errors.TheoryInputError: expression 'f**2 + 10**10**10': exponent 10000000000 exceeds 1000 in absolute value
    >>> parse_expression("", {"f": f})
    Traceback (most recent call last):
    ...
    catapult.theory.errors.TheoryInputError: expression '': is empty
    """
    if not isinstance(text, str):
        raise TheoryInputError(f"{what} must be a string, got {type(text).__name__}")
    fail = _Builder(text, symbols, what).fail
    if len(text) > MAX_LENGTH:
        fail(f"longer than {MAX_LENGTH} characters ({len(text)})")
    stripped = text.strip()
    if not stripped:
        fail("is empty")
    if _depth_of_brackets(stripped) > MAX_DEPTH:
        fail(f"brackets nested more than {MAX_DEPTH} deep")
    try:
        tree = ast.parse(stripped, mode="eval")
    except SyntaxError as exc:
        fail(f"syntax error ({exc.msg})")
    except (ValueError, RecursionError, MemoryError) as exc:  # null bytes; parser stack limits
        fail(f"cannot be parsed ({type(exc).__name__}: {str(exc)[:60]})")
    nodes = sum(1 for node in ast.walk(tree) if isinstance(node, ast.expr))
    if nodes > MAX_NODES:
        fail(f"more than {MAX_NODES} terms and operators ({nodes})")
    try:
        expr = _Builder(text, symbols, what, source=stripped, dots=dots).build(tree.body)
    except RecursionError:
        fail(f"nested more than {MAX_DEPTH} levels deep")
    if expr.has(sp.I):
        fail(f"{expr} is not real")
    return expr


def parse_number(text, what="value") -> sp.Rational:
    """An exact rational from a decimal (``-1.5e-3``) or a fraction of two decimals (``3/4``).

    Refused with one line: non-numbers, ``inf``/``nan``, division by zero, more than 100 significant digits,
    nonzero magnitudes outside [1e-300, 1e300].

    >>> parse_number("0.1", "--p")
    1/10
    >>> parse_number("1e400", "--label")
    Traceback (most recent call last):
    ...
    catapult.theory.errors.TheoryInputError: --label: '1e400' is out of range (nonzero magnitudes from 1e-300 to 1e300)
    >>> parse_number("inf", "--r")
    Traceback (most recent call last):
    ...
    catapult.theory.errors.TheoryInputError: --r must be a number (a decimal such as 0.25 or a fraction such as 1/4), got 'inf'
    """
    if not isinstance(text, str):
        raise TheoryInputError(f"{what} must be given as a string, got {type(text).__name__}")
    s = text.strip()
    parts = s.split("/")
    if len(s) > 4 * MAX_DIGITS or len(parts) > 2 or not all(_NUMBER.fullmatch(t.strip()) for t in parts):
        raise TheoryInputError(f"{what} must be a number (a decimal such as 0.25 or a fraction such as 1/4), "
                               f"got {_short(text)}")

    def fail(why):
        raise TheoryInputError(f"{what}: {why}")

    values = [_decimal(t.strip(), fail) for t in parts]
    if len(values) == 2:
        if values[1] == 0:
            fail(f"division by zero in {_short(text)}")
        value = values[0] / values[1]
    else:
        value = values[0]
    _check_range(value, fail, text)
    return value


def _check_range(value, fail, text):
    if value != 0:
        a = abs(value)
        lim = sp.Integer(10) ** MAX_DECIMAL_EXPONENT
        if a > lim or a * lim < 1:
            fail(f"{_short(text)} is out of range (nonzero magnitudes from 1e-{MAX_DECIMAL_EXPONENT} "
                 f"to 1e{MAX_DECIMAL_EXPONENT})")


def _float(v, floats, what):
    if not math.isfinite(v):
        raise TheoryInputError(f"{what} must be finite, got {v!r}")
    if floats == "binary":
        return sp.Rational(v)
    if floats == "float":
        return sp.Float(v)
    q = sp.nsimplify(v)
    # nsimplify maps tiny floats to 0 (and may miss); fall back to the exact decimal of repr(v)
    return q if q.is_Rational and float(q) == v else sp.Rational(repr(v))


def exact_value(value, what="value", symbols=None, floats="decimal", number=True):
    """A user value as exact SymPy: strings through :func:`parse_expression`, floats exactly, SymPy as given.

    ``floats="decimal"`` takes 0.1 as 1/10 (``nsimplify``), ``floats="binary"`` as its exact binary value,
    ``floats="float"`` keeps a SymPy Float.
    With ``number=True`` the result must be a finite real number.  Strings are never executed.

    >>> exact_value("sqrt(2)/2", "label")
    sqrt(2)/2
    >>> exact_value(0.25), exact_value(0.1, floats="binary").q == 2**55  # 0.1 is not a binary fraction
    (1/4, True)
    >>> exact_value("open('x', 'w')", "label")
    Traceback (most recent call last):
    ...
    catapult.theory.errors.TheoryInputError: label "open('x', 'w')": function open is not allowed (allowed: exp, log, sqrt, sin, cos, tan, sec, csc, cot, sinh, cosh, tanh, sech, csch, coth, asin, acos, atan, asinh, acosh, atanh, erf, erfc)
    """
    if isinstance(value, bool):
        raise TheoryInputError(f"{what} must be a number, got {value!r}")
    if isinstance(value, str):
        e = parse_expression(value, symbols or {}, what)
    elif isinstance(value, float):
        e = _float(value, floats, what)
    elif isinstance(value, int):
        e = sp.Integer(value)
    elif isinstance(value, sp.Basic):
        e = value
    else:
        try:
            e = sp.sympify(value, strict=True)  # numpy / mpmath / Fraction numbers; strict: never from a string
        except (sp.SympifyError, TypeError, ValueError):
            raise TheoryInputError(f"{what} must be a number, got {type(value).__name__}") from None
        if isinstance(e, sp.Float):
            e = _float(float(e), floats, what) if math.isfinite(float(e)) else e
    if number:
        if not isinstance(e, sp.Expr) or not e.is_number:
            raise TheoryInputError(f"{what} must be a number, got {value!r}")
        if e.has(sp.oo, -sp.oo, sp.zoo, sp.nan) or e.is_real is not True:
            raise TheoryInputError(f"{what} must be a finite real number, got {value!r}")
    return e


def exact_params(params, floats="decimal") -> dict:
    """``{name: value}`` of loss/model parameters as ``{symbol: exact value}`` (names from :data:`catapult.theory.symbols.SYMBOLS`).

    >>> exact_params({"y": "1/2", "p": 0.7})
    {y: 1/2, p: 7/10}
    >>> exact_params({"q": 1})
    Traceback (most recent call last):
    ...
    catapult.theory.errors.TheoryInputError: unknown parameter 'q'; known: eta, f, lam, lam0, n, p, y
    """
    from .symbols import SYMBOLS
    out = {}
    for k, v in params.items():
        if k not in SYMBOLS:
            raise TheoryInputError(f"unknown parameter {k!r}; known: {', '.join(sorted(SYMBOLS))}")
        out[SYMBOLS[k]] = exact_value(v, k, floats=floats)
    return out
