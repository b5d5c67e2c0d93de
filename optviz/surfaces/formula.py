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
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
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


def parse(text: str, parameters: Mapping[str, float] | None = None) -> Any:
    """The SymPy expression of ``text``, with parameters replaced by their values.

    Raises :class:`FormulaError` for anything outside the whitelist.
    """
    import sympy as sp

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
    names = {
        "x": sp.Symbol("x", real=True),
        "y": sp.Symbol("y", real=True),
        "pi": sp.pi,
        "e": sp.E,
        **{k: sp.Float(v) for k, v in params.items()},
    }
    builder = _Builder(names, _functions(), sorted(params))
    try:
        expr = builder.build(tree.body)
    except RecursionError:
        raise FormulaError("a formula is nested too deeply") from None
    if not isinstance(expr, sp.Expr) or expr.has(sp.zoo, sp.nan):
        raise FormulaError("the formula is undefined (division by zero?)")
    return expr


class _Builder:
    """Turns a whitelisted Python expression tree into SymPy, node by node."""

    def __init__(self, names, functions, parameters):
        self.names = names
        self.functions = functions
        self.parameters = parameters

    def build(self, node: ast.AST) -> Any:
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise FormulaError(f"{_describe(node)} is not allowed in a formula")
        return method(node)

    def _Constant(self, node: ast.Constant) -> Any:
        import sympy as sp

        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise FormulaError(f"{value!r} is not allowed in a formula: only numbers")
        if isinstance(value, int):
            if abs(value) > 10**15:
                raise FormulaError(f"the number {value} is too large")
            return sp.Integer(value)
        if not math.isfinite(value):
            raise FormulaError(f"the number {value} is not finite")
        return sp.Float(value)

    def _Name(self, node: ast.Name) -> Any:
        if node.id in self.names:
            return self.names[node.id]
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
        operand = self.build(node.operand)
        if isinstance(node.op, ast.USub):
            return -operand
        if isinstance(node.op, ast.UAdd):
            return operand
        raise FormulaError(f"{_describe(node)} is not allowed in a formula")

    def _BinOp(self, node: ast.BinOp) -> Any:
        import sympy as sp

        left, right = self.build(node.left), self.build(node.right)
        op = node.op
        if isinstance(op, ast.Add):
            return left + right
        if isinstance(op, ast.Sub):
            return left - right
        if isinstance(op, ast.Mult):
            return left * right
        if isinstance(op, ast.Div):
            return left / right
        if isinstance(op, ast.Pow):
            if right.is_Number and abs(float(right)) > MAX_POWER:
                raise FormulaError(f"exponents may be at most {MAX_POWER}")
            result = left**right
            if result.is_Number and result.is_finite is False:
                raise FormulaError("a power in the formula overflows")
            if isinstance(result, sp.Integer) and abs(result) > 10**300:
                raise FormulaError("a power in the formula is too large")
            return result
        raise FormulaError(f"{_describe(node)} is not allowed in a formula")

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
        args = [self.build(a) for a in node.args]
        return self.functions[node.func.id](*args)


def _did_you_mean(name: str, choices: list[str]) -> str:
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


@dataclass(frozen=True)
class Compiled:
    """f, ∇f and ∇²f over arrays of shape (..., 2)."""

    f: Callable[[Array], Array]
    grad: Callable[[Array], Array]
    hessian: Callable[[Array], Array]
    source: str  # the generated NumPy code, for the curious


def compile_expression(expr: Any, guard_nan: bool = False) -> Compiled:
    """Differentiate ``expr`` (in the real symbols x and y) and print f, ∇f and
    ∇²f as NumPy functions of a ``(..., 2)`` array.

    ``guard_nan``: where the formula is not differentiable (√ or |·| at 0), the
    printed derivative is 0/0; replace such NaN entries at finite points by 0,
    a valid subgradient at those kinks, so that an optimizer sitting on one
    stays put instead of turning into NaN.
    """
    import sympy as sp

    x, y = sp.Symbol("x", real=True), sp.Symbol("y", real=True)
    gx, gy = sp.diff(expr, x), sp.diff(expr, y)
    hxx, hxy, hyy = sp.diff(gx, x), sp.diff(gx, y), sp.diff(gy, y)
    source = "\n".join(
        [
            _function("f", [expr], None),
            _function("grad", [gx, gy], "p.shape"),
            _function("hessian", [hxx, hxy, hyy], "p.shape + (2,)"),
        ]
    )
    namespace: dict[str, Any] = {"numpy": np, "_ipow": _ipow}
    exec(compile(source, "<optviz formula>", "exec"), namespace)  # our own code
    grad, hessian = namespace["grad"], namespace["hessian"]
    if guard_nan:
        grad, hessian = _guarded(grad), _guarded(hessian)
    return Compiled(namespace["f"], grad, hessian, source)


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
