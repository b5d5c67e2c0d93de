"""Formulas in x and y → vectorized NumPy functions for f, ∇f and ∇²f.

User text is never evaluated. It is parsed with :func:`ast.parse` (which
only builds a tree) and the tree is walked node by node against a whitelist:
numbers, the variables ``x`` and ``y``, declared parameters, the constants
``pi`` and ``e``, arithmetic (``+ - * / ** ^``, ``^`` meaning power) and the
functions in :data:`FUNCTIONS`. Anything else — attribute access, subscripts,
strings, lambdas, comprehensions, unknown names such as ``__import__`` — is
refused before anything runs. The accepted tree is rebuilt as a SymPy
expression, differentiated symbolically, and printed as NumPy code over the
last axis of a ``(..., 2)`` array, so that the contour grid and the optimizer
batch go through the same function.

SymPy is slow to import and to differentiate (most of a second for a built-in
surface), so the generated NumPy code is kept in a user cache
(:mod:`optviz.surfaces.cache`), keyed by the formula, its parameters and the versions
that print it; a later load re-runs the whitelist walk (which needs no SymPy)
and executes the cached code without importing SymPy at all.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Array = np.ndarray

MAX_LENGTH = 2000  # characters of formula
MAX_NODES = 500  # nodes of its syntax tree
MAX_POWER = 64  # largest literal exponent: x^64 is plenty, 9^9^9 is an attack


class FormulaError(ValueError):
    """A formula that is refused; the message says what and where."""


# The functions a formula may call; each is SymPy's function of that name
# (abs: Abs), so the whitelist and what it maps to cannot drift apart.
FUNCTIONS = (
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "atan2",
    "sinh",
    "cosh",
    "tanh",
    "exp",
    "log",
    "sqrt",
    "abs",
    "sign",
)


def _functions() -> dict[str, Any]:
    import sympy as sp

    return {name: getattr(sp, "Abs" if name == "abs" else name) for name in FUNCTIONS}


CONSTANTS = ("pi", "e")


def check(text: str, parameters: Mapping[str, float] | None = None) -> None:
    """Refuse ``text`` (:class:`FormulaError`) unless it passes the whitelist.

    The node-by-node walk of :func:`parse` without building anything, so it
    needs no SymPy: what a load from the cache still runs. (What only SymPy can
    see — a division by zero, a power that overflows — was seen when the code
    was generated: a formula it refuses never reaches the cache.)
    """
    tree, params = _syntax(text, parameters)
    _Walker(sorted(params)).build(tree.body)


def parse(text: str, parameters: Mapping[str, float] | None = None) -> Any:
    """The SymPy expression of ``text``, with parameters replaced by their values.

    Raises :class:`FormulaError` for anything outside the whitelist.
    """
    import sympy as sp

    tree, params = _syntax(text, parameters)
    names = {
        "x": sp.Symbol("x", real=True),
        "y": sp.Symbol("y", real=True),
        "pi": sp.pi,
        "e": sp.E,
        **{k: sp.Float(v) for k, v in params.items()},
    }
    expr = _Builder(names, _functions(), sorted(params)).build(tree.body)
    if not isinstance(expr, sp.Expr) or expr.has(sp.zoo, sp.nan):
        raise FormulaError("the formula is undefined (division by zero?)")
    return expr


def _syntax(
    text: str, parameters: Mapping[str, float] | None
) -> tuple[ast.Expression, dict[str, float]]:
    """The syntax tree of ``text`` (refused if too long, too big or not a
    formula) and the parameters (refused if they clash with a built-in name)."""
    if not isinstance(text, str):
        raise FormulaError(f"a formula must be text; got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"a formula may have at most {MAX_LENGTH} characters")
    try:
        # ^ is power in formulas (Python's ^ is xor, which binds looser than +)
        tree = ast.parse(text.strip().replace("^", "**"), mode="eval")
    except SyntaxError as e:
        raise FormulaError(
            f"not a formula: {e.msg} at column {e.offset or 0}"
        ) from None
    except (ValueError, RecursionError, MemoryError):
        raise FormulaError("not a formula: it cannot be parsed") from None
    nodes = sum(1 for _ in ast.walk(tree))
    if nodes > MAX_NODES:
        raise FormulaError(f"a formula may have at most {MAX_NODES} parts; got {nodes}")
    params = dict(parameters or {})
    for name in params:
        if name in ("x", "y", *CONSTANTS, *FUNCTIONS):
            raise FormulaError(f"parameter {name!r} clashes with a built-in name")
    return tree, params


class _Walker:
    """Walks a Python expression tree against the whitelist, node by node.

    Every refusal is made here; what each node turns into is left to the hooks
    (:meth:`number`, :meth:`name`, :meth:`operate`, :meth:`call`), which
    build nothing: :class:`_Builder` overrides them to build SymPy.
    """

    def __init__(self, parameters: list[str]):
        self.parameters = parameters
        self.known = {"x", "y", *CONSTANTS, *parameters}

    def build(self, node: ast.AST) -> Any:
        try:
            return self._node(node)
        except RecursionError:
            raise FormulaError("a formula is nested too deeply") from None

    def _node(self, node: ast.AST) -> Any:
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise FormulaError(f"{_describe(node)} is not allowed in a formula")
        return method(node)

    # the hooks: nothing is built
    def number(self, value: int | float) -> Any:
        return None

    def name(self, name: str) -> Any:
        return None

    def operate(self, op: ast.AST, left: Any, right: Any = None) -> Any:
        return None

    def call(self, function: str, args: list[Any]) -> Any:
        return None

    def _Constant(self, node: ast.Constant) -> Any:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise FormulaError(f"{value!r} is not allowed in a formula: only numbers")
        if isinstance(value, int):
            if abs(value) > 10**15:
                raise FormulaError(f"the number {value} is too large")
        elif not math.isfinite(value):
            raise FormulaError(f"the number {value} is not finite")
        return self.number(value)

    def _Name(self, node: ast.Name) -> Any:
        if node.id in self.known:
            return self.name(node.id)
        allowed = ["x", "y", *self.parameters, *CONSTANTS]
        hint = ""
        if node.id in FUNCTIONS:
            hint = f"; {node.id} is a function: write {node.id}(...)"
        else:
            hint = _did_you_mean(node.id, [*allowed, *FUNCTIONS])
        raise FormulaError(
            f"unknown name {node.id!r}; a formula may use "
            f"{', '.join(allowed)} and the functions {', '.join(FUNCTIONS)}{hint}"
        )

    def _UnaryOp(self, node: ast.UnaryOp) -> Any:
        operand = self._node(node.operand)
        if isinstance(node.op, ast.UAdd):
            return operand
        if isinstance(node.op, ast.USub):
            return self.operate(node.op, operand)
        raise FormulaError(f"{_describe(node)} is not allowed in a formula")

    def _BinOp(self, node: ast.BinOp) -> Any:
        left, right = self._node(node.left), self._node(node.right)
        if not isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div | ast.Pow):
            raise FormulaError(f"{_describe(node)} is not allowed in a formula")
        if isinstance(node.op, ast.Pow):
            exponent = _literal(node.right)
            if exponent is not None and abs(exponent) > MAX_POWER:
                raise FormulaError(f"exponents may be at most {MAX_POWER}")
        return self.operate(node.op, left, right)

    def _Call(self, node: ast.Call) -> Any:
        if not isinstance(node.func, ast.Name):
            raise FormulaError(
                f"calling the result of {_describe(node.func)} is not allowed; "
                "call a function by name, such as sin(x)"
            )
        if node.func.id not in FUNCTIONS:
            called = node.func.id
            raise FormulaError(
                f"calling {called!r} is not allowed; the functions are "
                + ", ".join(FUNCTIONS)
                + _did_you_mean(called, FUNCTIONS)
            )
        if node.keywords:
            raise FormulaError(f"{node.func.id}() takes no keyword arguments")
        want = 2 if node.func.id == "atan2" else 1
        if len(node.args) != want:
            raise FormulaError(
                f"{node.func.id}() takes {want} argument{'s' if want > 1 else ''}"
            )
        return self.call(node.func.id, [self._node(a) for a in node.args])


def _literal(node: ast.AST) -> float | None:
    """The value of a number written out (``3``, ``-2.5``), else None."""
    sign = 1.0
    while isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        sign = -sign if isinstance(node.op, ast.USub) else sign
        node = node.operand
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return sign * float(node.value)
    return None


class _Builder(_Walker):
    """The walk of :class:`_Walker`, turning each node into SymPy."""

    def __init__(self, names, functions, parameters):
        super().__init__(parameters)
        self.names = names
        self.functions = functions

    def number(self, value: int | float) -> Any:
        import sympy as sp

        return sp.Integer(value) if isinstance(value, int) else sp.Float(value)

    def name(self, name: str) -> Any:
        return self.names[name]

    def operate(self, op: ast.AST, left: Any, right: Any = None) -> Any:
        import sympy as sp

        if isinstance(op, ast.USub):
            return -left
        if isinstance(op, ast.Add):
            return left + right
        if isinstance(op, ast.Sub):
            return left - right
        if isinstance(op, ast.Mult):
            return left * right
        if isinstance(op, ast.Div):
            return left / right
        # a power; exponents computed by the formula (9^9^9) are seen here
        if right.is_Number and abs(float(right)) > MAX_POWER:
            raise FormulaError(f"exponents may be at most {MAX_POWER}")
        result = left**right
        if result.is_Number and result.is_finite is False:
            raise FormulaError("a power in the formula overflows")
        if isinstance(result, sp.Integer) and abs(result) > 10**300:
            raise FormulaError("a power in the formula is too large")
        return result

    def call(self, function: str, args: list[Any]) -> Any:
        return self.functions[function](*args)


def _did_you_mean(name: str, choices: Sequence[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, choices, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _describe(node: ast.AST) -> str:
    kinds = {
        "Attribute": "attribute access (a.b)",
        "Subscript": "indexing (a[b])",
        "Lambda": "a lambda",
        "Compare": "a comparison",
        "BoolOp": "and/or",
        "IfExp": "if/else",
        "List": "a list",
        "Tuple": "a tuple",
        "Dict": "a dict",
        "Set": "a set",
        "ListComp": "a comprehension",
        "GeneratorExp": "a generator",
        "JoinedStr": "a string",
        "NamedExpr": "an assignment (:=)",
        "Starred": "*unpacking",
        "Await": "await",
        "Yield": "yield",
    }
    name = type(node).__name__
    if isinstance(node, ast.BinOp | ast.UnaryOp):
        return f"the operator {type(node.op).__name__}"
    return kinds.get(name, name)


# Bump when the printed code changes: cached code printed before is then unused.
GENERATOR = 1


@dataclass(frozen=True)
class Compiled:
    """f, ∇f and ∇²f over arrays of shape (..., 2)."""

    f: Callable[[Array], Array]
    grad: Callable[[Array], Array]
    hessian: Callable[[Array], Array]


class Generated:
    """One function of the generated NumPy code, callable like it.

    It pickles as its source and is rebuilt from it on unpickling, so that a
    compiled surface can be sent to a worker process that was spawned (a
    function made by ``exec`` cannot be pickled by reference).
    """

    __slots__ = ("_function", "guard_nan", "name", "source")

    def __init__(self, source: str, name: str, guard_nan: bool = False):
        self.source, self.name, self.guard_nan = source, name, guard_nan
        namespace: dict[str, Any] = {"numpy": np, "_ipow": _ipow}
        exec(compile(source, "<optviz formula>", "exec"), namespace)  # our own code
        function = namespace[name]
        self._function = _guarded(function) if guard_nan else function

    def __call__(self, p: Array) -> Array:
        return self._function(p)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Generated, (self.source, self.name, self.guard_nan))


def compile_formula(
    text: str, parameters: Mapping[str, float] | None = None, guard_nan: bool = False
) -> Compiled:
    """f, ∇f and ∇²f of ``text`` (see :func:`compile_expression`), the
    generated code taken from the cache when it is there: then SymPy is not
    imported. The whitelist walk runs either way."""
    return compile_source(source(text, parameters), guard_nan)


def source(text: str, parameters: Mapping[str, float] | None = None) -> str:
    """The NumPy code of f, ∇f and ∇²f of ``text``: from the cache, or
    generated (the full SymPy parse, which refuses what the walk cannot see)
    and cached. Raises :class:`FormulaError` for a refused formula."""
    from optviz.surfaces import cache

    params = dict(parameters or {})
    check(text, params)
    key = _cache_key(text, params)
    code = cache.load("formula", key)
    if code is not None and _well_formed(code):
        return code
    code = generate(parse(text, params))
    cache.store("formula", key, code)
    return code


def _cache_key(text: str, parameters: Mapping[str, float]) -> str:
    """Everything the generated code depends on: the formula, the parameters
    (exactly, as hexadecimal floats) and the versions of what prints it."""
    import json

    from optviz import __version__

    return json.dumps(
        {
            "formula": text,
            "parameters": sorted((k, float(v).hex()) for k, v in parameters.items()),
            "optviz": __version__,
            "generator": GENERATOR,
            "sympy": _sympy_release(),
        }
    )


def _sympy_release() -> str:
    """SymPy's version file, read without importing SymPy (which is what the
    cache saves; ``importlib.metadata`` alone costs a tenth of a second)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("sympy")
    if spec is None or spec.origin is None:
        return ""
    try:
        return (Path(spec.origin).parent / "release.py").read_text()
    except OSError:
        return spec.origin


def _well_formed(code: str) -> bool:
    """Whether cached ``code`` defines f, grad and hessian (a damaged entry
    that still matches its digest is not trusted either)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    defined = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    return defined == ["f", "grad", "hessian"] and len(tree.body) == 3


def compile_source(code: str, guard_nan: bool = False) -> Compiled:
    """The three functions of generated ``code`` (see :func:`generate`)."""
    return Compiled(
        Generated(code, "f"),
        Generated(code, "grad", guard_nan),
        Generated(code, "hessian", guard_nan),
    )


def compile_expression(expr: Any, guard_nan: bool = False) -> Compiled:
    """Differentiate ``expr`` (in the real symbols x and y) and compile f, ∇f
    and ∇²f as NumPy functions of a ``(..., 2)`` array.

    ``guard_nan``: where the formula is not differentiable (√ or |·| at 0), the
    printed derivative is 0/0; replace such NaN entries at finite points by 0,
    a valid subgradient at those kinks, so that an optimizer sitting on one
    stays put instead of turning into NaN.
    """
    return compile_source(generate(expr), guard_nan)


def generate(expr: Any) -> str:
    """The NumPy code of f, ∇f and ∇²f of ``expr``, differentiated by SymPy."""
    import sympy as sp

    x, y = sp.Symbol("x", real=True), sp.Symbol("y", real=True)
    gx, gy = sp.diff(expr, x), sp.diff(expr, y)
    hxx, hxy, hyy = sp.diff(gx, x), sp.diff(gx, y), sp.diff(gy, y)
    return "\n".join(
        [
            _function("f", [expr], None),
            _function("grad", [gx, gy], "p.shape"),
            _function("hessian", [hxx, hxy, hyy], "p.shape + (2,)"),
        ]
    )


def _guarded(derivative: Callable[[Array], Array]) -> Callable[[Array], Array]:
    """``derivative`` with the 0/0 of a kink replaced by 0 at finite points."""

    def guarded(p: Array) -> Array:
        p = np.asarray(p, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = derivative(p)
        finite = np.isfinite(p).all(axis=-1)
        bad = np.isnan(out) & finite.reshape(
            finite.shape + (1,) * (out.ndim - p.ndim + 1)
        )
        if bad.any():
            out[bad] = 0.0
        return out

    return guarded


def _printer_class():
    from sympy.printing.numpy import NumPyPrinter

    class Printer(NumPyPrinter):
        """Small whole powers as products: x*x*x, not x**3.

        NumPy's power function takes SIMD paths whose last bit differs between
        CPUs (AVX-512 against AVX2), and an optimizer circling a minimum for
        thousands of iterations turns that bit into a visible difference; a
        product is one correctly rounded multiply per factor everywhere.
        """

        def _print_Pow(self, expr, rational=False):
            exponent = expr.exp
            if exponent.is_Integer and 2 <= abs(int(exponent)) <= _MAX_PRODUCT:
                n = abs(int(exponent))
                if expr.base.is_Atom:
                    product = "(" + "*".join([self._print(expr.base)] * n) + ")"
                else:  # evaluate the base once
                    product = f"_ipow({self._print(expr.base)}, {n})"
                return product if exponent > 0 else f"(1.0/{product})"
            return super()._print_Pow(expr, rational=rational)

    return Printer


_MAX_PRODUCT = 8  # x^8 as a product; higher powers go to numpy.power


def _ipow(base: Array, n: int) -> Array:
    """base**n as n − 1 multiplications, left to right."""
    out = base
    for _ in range(n - 1):
        out = out * base
    return out


def _Printer(settings):
    return _printer_class()(settings)


# Where each component goes in the output array of ∇f (2) and ∇²f (2 × 2).
_SLOTS = {2: ["[..., 0]", "[..., 1]"], 3: ["[..., 0, 0]", "[..., 0, 1]", "[..., 1, 1]"]}


def _function(name: str, exprs: list[Any], shape: str | None) -> str:
    """Source of ``def name(p)``: shared subexpressions computed once, then the
    components written into one array of ``shape`` (a constant component
    broadcasts). ``shape`` None: a single value with the points' shape."""
    import sympy as sp

    printer = _Printer({"fully_qualified_modules": True})
    shared, reduced = sp.cse(exprs, symbols=sp.numbered_symbols("_t"))
    lines = [f"def {name}(p):", "    p = numpy.asarray(p, dtype=float)"]
    lines += ["    x = p[..., 0]", "    y = p[..., 1]"]
    lines += [f"    {s} = {printer.doprint(e)}" for s, e in shared]
    if shape is None:
        (e,) = reduced
        code = printer.doprint(e)
        if not e.free_symbols:  # a constant: give it the points' shape
            code = f"numpy.full(x.shape, {code}, dtype=float)"
        lines.append(f"    return {code}")
        return "\n".join(lines) + "\n"
    lines.append(f"    out = numpy.empty({shape})")
    for slot, e in zip(_SLOTS[len(reduced)], reduced):
        lines.append(f"    out{slot} = {printer.doprint(e)}")
    if len(reduced) == 3:  # the Hessian is symmetric
        lines.append("    out[..., 1, 0] = out[..., 0, 1]")
    lines.append("    return out")
    return "\n".join(lines) + "\n"
