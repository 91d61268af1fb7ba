"""User-defined models: a few lines of Python, or a small TOML model file.

A model is its parameters and its output.  Parameters are vectors in R^n (n the width), scalars, or n x n
matrices; the output is an expression (parsed by :mod:`catapult.theory.parse`, never executed) in
``dot(a, b)`` (inner products of vector parameters), the scalar parameters, ``n`` and the functions of the
expression grammar.  The model file format::

    name = "uv_bias"                          # optional; default: the file name
    output = "dot(u, v)/sqrt(n) + b"          # or outputs = ["...", "..."]: loss sum_a l(f_a)
    [parameters]                              # name = "vector" | "scalar" | "matrix"
    u = "vector"
    v = "vector"
    b = "scalar"
    [init]                                    # optional
    u = "gaussian"                            # vectors: "gaussian" (N(0,1) entries, the default)
    b = "1/2"                                 # scalars: an exact number (default 0)

What the engine reduces exactly (see :mod:`catapult.theory.gram`): any output that is a function of the Gram
matrix of the vectors, the scalars and n -- the GD step is then an exact map on the Gram entries and scalars,
reduced to (f, lam) when it closes there, and kept with extra state when it does not.

Matrices: n x n matrices make the Gram state infinite in general.  The engine reduces exactly one class with
matrices: the deep linear chain ``dot(w, W_{L-1}, ..., W_2, u) / n**((L-1)/2)`` (vectors at the ends, each
matrix once, NTK scaling) with ``init = "isometric"`` hidden layers, which is the depth-L model of
:mod:`catapult.theory.deep`.  Any other use of a matrix is refused with the reason.

Examples
========
>>> m = user_model("uv_bias", "dot(u, v)/sqrt(n) + b", vectors=("u", "v"), scalars=("b",))
>>> m.forward, m.ntk
(b + uv/sqrt(n), 1 + uu/n + vv/n)
>>> spec = parse_model_text('output = "dot(w, V, u)/n"\\n[parameters]\\nw = "vector"\\nV = "matrix"\\n'
...                         'u = "vector"\\n[init]\\nV = "isometric"', name="wVu")
>>> spec.deep_depth
3
"""

from __future__ import annotations

import keyword
import os
import tomllib
from dataclasses import dataclass, field

import sympy as sp

from .errors import TheoryInputError
from .gram import VectorModel
from .parse import exact_value, parse_expression
from .symbols import n

#: model files larger than this are refused before parsing
MAX_MODEL_FILE_BYTES = 64 * 1024
#: parameters a model may declare
MAX_PARAMETERS = 16
#: outputs a model may declare
MAX_OUTPUTS = 8
KINDS = ("vector", "scalar", "matrix")
_TOP_KEYS = {"name", "output", "outputs", "parameters", "init", "description"}


@dataclass
class ModelDefinition:
    """A user's model as defined (a model file or :func:`user_spec`): its parameters by kind, its output text,
    its init, and the model the engine derives from.

    ``model`` is the :class:`VectorModel` (vectors and scalars), or for a deep chain None with its depth in
    ``deep_depth``: the model is then the registry's ``deep`` of that depth with isometric hidden layers
    (:attr:`engine_model`).  :func:`catapult.theory.derive` and :func:`catapult.theory.thresholds` accept a
    definition wherever they accept a model.
    """

    name: str
    output: str
    vectors: tuple
    scalars: tuple
    matrices: tuple = ()
    init: dict = field(default_factory=dict)
    model: VectorModel | None = None
    deep_depth: int | None = None
    description: str = ""

    @property
    def engine_model(self):
        """What :func:`catapult.theory.derive` derives from: the VectorModel, or the registry's deep model.

        >>> user_spec("wVu", "dot(w, V, u)/n", vectors=("w", "u"), matrices=("V",), init={"V": "isometric"}).engine_model
        DeepModel(depth=3, init='isometric')
        """
        if self.model is not None:
            return self.model
        from .models import get_model
        return get_model("deep", depth=self.deep_depth, init="isometric")

    def to_json(self) -> dict:
        """The definition as given (strings), for reports.

        >>> user_spec("mup", "dot(u, v)/n", vectors=("u", "v")).to_json()["parameters"]
        {'u': 'vector', 'v': 'vector'}
        """
        params = {**{v: "vector" for v in self.vectors}, **{s: "scalar" for s in self.scalars},
                  **{m: "matrix" for m in self.matrices}}
        return {"name": self.name, "output": self.output, "parameters": params,
                "init": {k: str(v) for k, v in self.init.items()},
                "reduction": (f"deep linear chain, depth {self.deep_depth}, isometric hidden layers"
                              if self.deep_depth else "Gram matrix of the vectors and the scalars (exact)")}


def _fail(where, why):
    raise TheoryInputError(f"{where}: {why}")


def _check_name(name, where):
    if not (isinstance(name, str) and name.isidentifier() and len(name) <= 16 and name.isascii()):
        _fail(where, f"parameter name {name!r} must be an identifier of at most 16 ASCII characters")
    if keyword.iskeyword(name):  # lambda, None, if...: an output could never name it
        _fail(where, f"parameter name {name!r} is a Python keyword, which an output expression cannot use")


def _chain_symbol(names, vectors, matrices, where):
    """dot(w, W_k, ..., W_2, u) -> a placeholder symbol (recognised as a deep chain later)."""
    a, b, mids = names[0], names[-1], names[1:-1]
    if a not in vectors or b not in vectors:
        _fail(where, f"dot({', '.join(names)}): the first and last arguments must be vector parameters")
    for m in mids:
        if m not in matrices:
            _fail(where, f"dot({', '.join(names)}): {m} is not a matrix parameter")
    return sp.Symbol("chain[" + ",".join(names) + "]", real=True)


def _init_of(kind, value, where):
    if kind == "vector":
        if value not in ("gaussian",):
            _fail(where, f"a vector's init must be \"gaussian\" (N(0,1) entries), got {value!r}")
        return value
    if kind == "matrix":
        if value != "isometric":
            _fail(where, f"a matrix's init must be \"isometric\" (W = sqrt(n) Q, Q orthogonal: the deep chain's "
                         f"exact reduction; Gaussian hidden layers do not reduce exactly), got {value!r}")
        return value
    return exact_value(value, where)


def user_spec(name, output, vectors=(), scalars=(), matrices=(), init=None, description="") -> ModelDefinition:
    """Validate a model definition and build what the engine derives from (a :class:`ModelDefinition`).

    >>> user_spec("quad", "(dot(u, u) - n)/(2*sqrt(n))", vectors=("u",)).model.ntk
    uu/n
    >>> user_spec("bad", "dot(u, V, u)", vectors=("u",), matrices=("V",))
    Traceback (most recent call last):
    ...
    catapult.theory.errors.TheoryInputError: model bad: a matrix parameter must have init "isometric" (set init.V)
    """
    where = f"model {name}"
    vectors, scalars, matrices = tuple(vectors), tuple(scalars), tuple(matrices)
    names = vectors + scalars + matrices
    if not vectors:
        _fail(where, "needs at least one vector parameter")
    if len(names) > MAX_PARAMETERS:
        _fail(where, f"{len(names)} parameters > {MAX_PARAMETERS} (limit MAX_PARAMETERS)")
    for nm in names:
        _check_name(nm, where)
    kinds = {**{v: "vector" for v in vectors}, **{s: "scalar" for s in scalars}, **{m: "matrix" for m in matrices}}
    init = dict(init or {})
    for k in init:
        if k not in kinds:
            _fail(where, f"init.{k}: no parameter {k}")
    for m in matrices:
        if m not in init:
            _fail(where, f"a matrix parameter must have init \"isometric\" (set init.{m})")
    full_init = {k: _init_of(kinds[k], init.get(k, "gaussian" if kinds[k] == "vector" else "0"), f"{where}, init.{k}")
                 for k in names}
    if not isinstance(output, (str, list, tuple)):
        _fail(where, "output must be a string expression (or a list of them)")
    if matrices:
        if not isinstance(output, str):
            _fail(where, "a deep chain has one output")
        if scalars:
            _fail(where, f"a deep chain has no scalar parameters (got {', '.join(scalars)}): the only matrix class "
                         "the engine reduces exactly is the deep linear network dot(w, W_{L-1}, ..., W_2, u)")
        return _chain_spec(name, output, vectors, matrices, full_init, description, where)
    from .gram import Gram
    G = Gram(vectors, scalars)  # checks names/collisions before parsing

    def dots(args):
        if len(args) != 2:
            raise TheoryInputError(f"dot({', '.join(args)}): an inner product of two vectors (no matrix parameter)")
        for a in args:
            if a not in vectors:
                raise TheoryInputError(f"dot({', '.join(args)}): {a} is not a vector parameter")
        return G[args[0], args[1]]

    texts = [output] if isinstance(output, str) else list(output)
    if not texts or len(texts) > MAX_OUTPUTS or not all(isinstance(t, str) for t in texts):
        _fail(where, f"outputs must be 1 to {MAX_OUTPUTS} expression strings")
    exprs = [parse_expression(t, {"n": n, **G.scalars}, f"model {name}: output", dots=dots) for t in texts]
    model = VectorModel(name, vectors, lambda _: exprs if len(exprs) > 1 else exprs[0], scalars=scalars,
                        init=full_init)
    return ModelDefinition(name, output, vectors, scalars, (), full_init, model, None, description)


def _chain_spec(name, output, vectors, matrices, init, description, where):
    """The one class with matrices the engine reduces: c * dot(w, W_{L-1}, ..., W_2, u), c = n^{-(L-1)/2}."""
    expr = parse_expression(output, {"n": n}, f"{where}: output",
                            dots=lambda args: _chain_symbol(args, vectors, matrices, where))
    chains = [s for s in expr.free_symbols if s.name.startswith("chain[")]
    if len(chains) != 1:
        _fail(where, "with matrix parameters the output must be one chain dot(w, W_{L-1}, ..., W_2, u) times "
                     "n**(-(L-1)/2): the only matrix class the engine reduces exactly (the deep linear network)")
    ch = chains[0]
    args = ch.name[len("chain["):-1].split(",")
    L = len(args)
    coeff = sp.simplify(expr / ch)
    if coeff.has(ch) or sp.simplify(coeff - n ** (-sp.Rational(L - 1, 2))) != 0:
        _fail(where, f"the output must be {ch.name[6:-1].replace(',', ', ')} chain times n**(-{L - 1}/2) "
                     f"(NTK scaling of a depth-{L} linear network), got {output!r}: not reduced")
    mids = args[1:-1]
    if len(set(mids)) != len(mids) or set(mids) != set(matrices) or args[0] == args[-1] or set(vectors) != {
            args[0], args[-1]}:
        _fail(where, "a deep chain uses each matrix once and two distinct vectors, and no other parameter")
    return ModelDefinition(name, output, vectors, (), matrices, init, None, L, description)


def user_model(name, output, vectors=(), scalars=(), init=None) -> VectorModel:
    """A :class:`VectorModel` from an output expression (vectors and scalars; see :func:`user_spec`).

    >>> user_model("mup", "dot(u, v)/n", vectors=("u", "v")).ntk
    uu/n**2 + vv/n**2
    """
    spec = user_spec(name, output, vectors, scalars, (), init)
    return spec.model


def parse_model_text(text: str, name: str = "model") -> ModelDefinition:
    """A :class:`ModelDefinition` from the text of a TOML model file (format in the module docstring)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        _fail(f"model file {name}", f"not valid TOML ({exc})")
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        _fail(f"model file {name}", f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(_TOP_KEYS))})")
    params, init = data.get("parameters"), data.get("init", {})
    if not isinstance(params, dict) or not params:
        _fail(f"model file {name}", "needs a [parameters] table (name = \"vector\" | \"scalar\" | \"matrix\")")
    if not isinstance(init, dict):
        _fail(f"model file {name}", "init must be a table")
    if ("output" in data) == ("outputs" in data):
        _fail(f"model file {name}", "needs output = \"<expression>\" or outputs = [\"<expression>\", ...] (one of them)")
    mname = data.get("name", name)
    if not isinstance(mname, str) or not mname.isidentifier() or len(mname) > 40:
        _fail(f"model file {name}", f"name must be an identifier of at most 40 characters, got {mname!r}")
    by_kind = {k: [] for k in KINDS}
    for p, kind in params.items():
        if kind not in KINDS:
            _fail(f"model {mname}", f"parameter {p}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
        by_kind[kind].append(p)
    init = {k: (v if isinstance(v, str) else _toml_number(v, f"model {mname}, init.{k}")) for k, v in init.items()}
    desc = data.get("description", "")
    if not isinstance(desc, str):
        _fail(f"model {mname}", f"description must be a string, got {type(desc).__name__}")
    return user_spec(mname, data["output"] if "output" in data else data["outputs"], by_kind["vector"],
                     by_kind["scalar"], by_kind["matrix"], init, desc)


def _toml_number(v, where):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        _fail(where, f"must be a number or a string, got {type(v).__name__}")
    return str(v)


def load_model_file(path) -> ModelDefinition:
    r"""Read and validate a model file (size-capped, TOML; nothing in it is executed).

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "uv_bias.toml")
    >>> with open(path, "w") as fh:
    ...     _ = fh.write('output = "dot(u, v)/sqrt(n) + b"\n[parameters]\nu = "vector"\nv = "vector"\nb = "scalar"\n')
    >>> load_model_file(path).model.scalars
    ('b',)
    """
    path = os.fspath(path)
    try:
        size = os.path.getsize(path)
        if size > MAX_MODEL_FILE_BYTES:
            _fail(f"model file {path}", f"{size} bytes > {MAX_MODEL_FILE_BYTES} (limit MAX_MODEL_FILE_BYTES)")
        with open(path, "rb") as fh:
            raw = fh.read(MAX_MODEL_FILE_BYTES + 1)
    except OSError as exc:
        _fail(f"model file {path}", f"cannot be read ({exc.strerror or exc})")
    if len(raw) > MAX_MODEL_FILE_BYTES:  # a device or a file that grew: getsize said otherwise (/dev/zero: 0)
        _fail(f"model file {path}", f"more than {MAX_MODEL_FILE_BYTES} bytes (limit MAX_MODEL_FILE_BYTES)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        _fail(f"model file {path}", "is not UTF-8 text")
    stem = os.path.splitext(os.path.basename(path))[0]
    return parse_model_text(text, stem if stem.isidentifier() else "model")
