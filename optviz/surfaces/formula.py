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
and executes the cached code without importing SymPy at all. The code of the
built-in surfaces at their default parameters ships with optviz, as entries of
that cache, so that even a first run of one does not import SymPy.
"""

from __future__ import annotations

import ast
import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Array = np.ndarray

MAX_LENGTH = 2000  # characters of formula
MAX_NODES = 500  # nodes of its syntax tree
MAX_POWER = 64  # largest exponent: x^64 is plenty, 9^9^9 is an attack
# The derivatives SymPy builds grow with the formula's shape, not its length:
# a product of 45 short factors, or 120 nested sin, has a Hessian of most of
# a million parts that takes SymPy minutes. Each stage is measured before the
# next is built (∇f before ∇²f, ∇²f before its code is printed); the largest
# built-in surface, Goldstein-Price, has 328 parts in ∇f and 903 in ∇²f.
MAX_GRADIENT = 5_000  # parts of ∂f/∂x and ∂f/∂y together
MAX_HESSIAN = 40_000  # parts of the Hessian's three entries together
# Numbers the formula computes must fit a float (2^1024 ≈ 1.8e308); one
# beyond 2^-1100 underflows to 0 (the subnormals end at 2^-1074).
_MAX_BITS = 1024
_MIN_BITS = -1100


class FormulaError(ValueError):
    """A formula that is refused; the message says what and where."""


# The functions a formula may call; each is SymPy's function of that name
# (abs and sign: their real versions, see _real_functions), so the whitelist
# and what it maps to cannot drift apart.
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

    real_abs, real_sign = _real_functions()
    special = {"abs": real_abs, "sign": real_sign}
    return {name: special.get(name) or getattr(sp, name) for name in FUNCTIONS}


@functools.cache
def _real_functions() -> tuple[Any, Any]:
    """|u| and sign(u) of a real u, as SymPy functions.

    SymPy's own Abs and sign are complex functions: the derivative of sign
    is a DiracDelta, which no NumPy code can compute, and that of |u| for a
    u not known to be real (|log x|) holds re, im and unevaluated
    derivatives. On the reals, away from the kink at u = 0, the derivative of
    |u| is sign(u) and that of sign(u) is 0; at the kink both are taken as 0,
    the subgradient the optimizers stop at. The code printed for them is
    NumPy's abs and sign.
    """
    import sympy as sp

    class RealSign(sp.Function):
        nargs = 1

        @classmethod
        def eval(cls, u):
            if u.is_Number:
                return sp.sign(u)
            if u.is_extended_positive:
                return sp.S.One
            if u.is_extended_negative:
                return sp.S.NegativeOne
            if u.is_zero:
                return sp.S.Zero
            if u.could_extract_minus_sign():
                return -cls(-u)
            return None

        def fdiff(self, argindex=1):
            return sp.S.Zero

        def _eval_is_extended_real(self):
            return True

        def _numpycode(self, printer):
            sign = printer._module_format("numpy.sign")
            return f"{sign}({printer._print(self.args[0])})"

        def _sympystr(self, printer):  # in messages, as the formula says it
            return f"sign({printer._print(self.args[0])})"

    class RealAbs(sp.Function):
        nargs = 1

        @classmethod
        def eval(cls, u):
            if u.is_Number:
                return sp.Abs(u)
            if u.is_extended_nonnegative:
                return u
            if u.is_extended_nonpositive:
                return -u
            if u.could_extract_minus_sign():
                return cls(-u)
            return None

        def fdiff(self, argindex=1):
            return RealSign(self.args[0])

        def _eval_is_extended_real(self):
            return True

        def _eval_is_extended_nonnegative(self):
            return True

        def _numpycode(self, printer):
            return f"abs({printer._print(self.args[0])})"

        def _sympystr(self, printer):
            return f"abs({printer._print(self.args[0])})"

    return RealAbs, RealSign


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
    try:
        expr = _Builder(names, _functions(), sorted(params)).build(tree.body)
    except OverflowError:  # SymPy computing a constant: exp(exp(exp(64.0)))
        raise FormulaError(_OVERFLOWS) from None
    if not isinstance(expr, sp.Expr) or expr.has(sp.zoo, sp.nan):
        raise FormulaError(_UNDEFINED)
    _real_valued(expr, "the formula")
    return expr


_OVERFLOWS = (
    "a number in the formula overflows: it is beyond 1.8e308, the largest float"
)
_UNDEFINED = "the formula is undefined (division by zero?)"
_COMPLEX = (
    "takes complex values ({}): a square root or log of a negative number, "
    "or asin/acos of a number beyond ±1"
)


def _real_valued(expr: Any, what: str) -> None:
    """Refuse an expression that SymPy made complex (√(−x²) is i·|x|): its
    NumPy code would compute complex numbers."""
    import sympy as sp

    if expr.has(sp.I):
        raise FormulaError(f"{what} " + _COMPLEX.format(_shown(expr)))


def _shown(expr: Any) -> str:
    """A SymPy expression for a message, cut short."""
    text = str(expr)
    return text if len(text) <= 40 else text[:37] + "..."


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
                digits = len(str(abs(value)))  # at most MAX_LENGTH of them
                shown = (
                    f"the number {value}"
                    if digits <= 20
                    else f"a number of {digits:,} digits"
                )
                raise FormulaError(
                    f"{shown} is too large; whole numbers in a "
                    "formula are at most 10^15 (write 1e20 for larger)"
                )
        elif not math.isfinite(value):
            raise FormulaError(
                "a number in the formula is beyond 1.8e308, the largest float"
            )
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
    """The walk of :class:`_Walker`, turning each node into SymPy.

    Every constant it makes (a part without x and y: ``pi^pi``, ``log(-1)``,
    ``1e300*1e300``) is evaluated as it is made and refused unless it is a
    real number a float can hold, so that a power tower or an exact rational
    of a billion digits is never built.
    """

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
        if isinstance(op, ast.USub):
            return -left
        if isinstance(op, ast.Add):
            result = left + right
        elif isinstance(op, ast.Sub):
            result = left - right
        elif isinstance(op, ast.Mult):
            result = left * right
        elif isinstance(op, ast.Div):
            result = left / right
        else:
            result = self._power(left, right)
        return _constant_checked(result)

    def _power(self, left: Any, right: Any) -> Any:
        # exponents computed by the formula (9^9^9, pi^pi^pi) are seen here
        exponent = _value(right) if not right.free_symbols else None
        if exponent is not None and not abs(exponent) <= MAX_POWER:
            raise FormulaError(
                f"exponents may be at most {MAX_POWER}; one here is {exponent:.3g}"
            )
        if exponent is not None and not left.free_symbols:
            # a constant's power: its size is known before it is computed
            # (((1/3)^64)^64)^64 has 1.6 million digits as an exact fraction)
            bits = _bits(left) * exponent
            size = f"about 10^{bits * math.log10(2):,.0f}"
            if bits > _MAX_BITS:
                raise FormulaError(
                    f"a power in the formula overflows: {size}, "
                    "beyond 1.8e308, the largest float"
                )
            if bits < _MIN_BITS:
                raise FormulaError(
                    f"a power in the formula underflows: {size}, "
                    "below the smallest float; write 0"
                )
        result = left**right
        combined = getattr(result, "exp", None) if result.is_Pow else None
        if combined is not None and combined.is_Number and abs(combined) > MAX_POWER:
            # (x^64)^64 is x^4096, which overflows for |x| > 1.2
            raise FormulaError(
                f"exponents may be at most {MAX_POWER}; a power of a power "
                f"multiplies them, to {_shown(combined)} here"
            )
        return result

    def call(self, function: str, args: list[Any]) -> Any:
        return _constant_checked(self.functions[function](*args))


def _value(constant: Any) -> float | None:
    """A constant's value as a float (inf beyond the float range), or None if
    SymPy cannot evaluate it to a real number."""
    import sympy as sp

    try:
        value = complex(sp.N(constant, 17))
    except OverflowError:
        return math.inf
    except (TypeError, ValueError):
        return None
    return value.real if value.imag == 0 else None


def _bits(constant: Any) -> float:
    """log₂ of a nonzero constant's magnitude, exactly enough for a bound
    (SymPy's numbers carry their binary exponent; nothing is computed)."""
    import sympy as sp

    if constant.is_Rational:
        p, q = abs(int(constant.p)), int(constant.q)
        return 0.0 if p == 0 else float(p.bit_length() - q.bit_length())
    value = sp.N(constant, 17)
    if isinstance(value, sp.Float):
        _, mantissa, exponent, count = value._mpf_
        return 0.0 if not mantissa else float(exponent + count)
    return 0.0  # not a real number: refused where it was made


def _constant_checked(result: Any) -> Any:
    """``result``, unless it is a constant that is undefined, complex or out
    of the float range."""
    import sympy as sp

    if result.free_symbols:
        return result
    if result.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise FormulaError(_UNDEFINED)
    if result.is_Rational:
        if result != 0 and not _MIN_BITS <= _bits(result) <= _MAX_BITS:
            raise FormulaError(
                "a number in the formula is too large or too small for a float"
            )
        return result
    try:
        value = complex(sp.N(result, 17))
    except OverflowError:
        raise FormulaError(_OVERFLOWS) from None
    except (TypeError, ValueError):
        return result  # not evaluated here: the view is evaluated later
    if value.imag != 0:
        raise FormulaError("part of the formula " + _COMPLEX.format(_shown(result)))
    if not math.isfinite(value.real):
        raise FormulaError(_OVERFLOWS)
    return result


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
GENERATOR = 2


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
    code = cache.load_shipped("formula", _cache_key(text, params, shipped=True))
    if code is not None and _well_formed(code):
        return code
    key = _cache_key(text, params)
    code = cache.load("formula", key)
    if code is not None and _well_formed(code):
        return code
    code = generate(parse(text, params))
    cache.store("formula", key, code)
    return code


def fresh(text: str, parameters: Mapping[str, float] | None = None) -> tuple[str, str]:
    """The shipped key of ``text`` with ``parameters`` and the code SymPy
    generates for it now, neither layer of the cache consulted: what
    ``benchmarks/record_builtin_code.py`` ships, and its test compares."""
    params = dict(parameters or {})
    check(text, params)
    return _cache_key(text, params, shipped=True), generate(parse(text, params))


def _cache_key(
    text: str, parameters: Mapping[str, float], shipped: bool = False
) -> str:
    """Everything the generated code depends on: the formula, the parameters
    (exactly, as hexadecimal floats) and the versions of what prints it.

    A shipped entry's key leaves SymPy's version out: its code is NumPy code
    that this optviz's printer wrote, right whatever SymPy is installed (its
    test checks it against the installed SymPy's code, to the bit with the
    SymPy that recorded it, to 1e-12 with another); the user's cache keys
    by SymPy's version too, since it keeps what the installed one prints."""
    import json

    from optviz import __version__

    key: dict[str, Any] = {
        "formula": text,
        "parameters": sorted((k, float(v).hex()) for k, v in parameters.items()),
        "optviz": __version__,
        "generator": GENERATOR,
    }
    if not shipped:
        key["sympy"] = _sympy_release()
    return json.dumps(key)


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
    """The NumPy code of f, ∇f and ∇²f of ``expr``, differentiated by SymPy.

    Raises :class:`FormulaError` for derivatives too large to build in
    reasonable time (:data:`MAX_GRADIENT`, :data:`MAX_HESSIAN`) and for what
    SymPy cannot build or print."""
    try:
        return _generate(expr)
    except RecursionError:
        raise FormulaError("a formula is nested too deeply") from None
    except OverflowError:
        raise FormulaError(_OVERFLOWS) from None


def _generate(expr: Any) -> str:
    import sympy as sp
    from sympy.printing.codeprinter import PrintMethodNotImplementedError

    x, y = sp.Symbol("x", real=True), sp.Symbol("y", real=True)
    expr = _on_the_reals(expr)
    gx, gy = (_on_the_reals(sp.diff(expr, z)) for z in (x, y))
    _bounded([gx, gy], MAX_GRADIENT, "its gradient")
    hessian: list[Any] = []
    for g, z in ((gx, x), (gx, y), (gy, y)):  # measured as it grows
        hessian.append(_on_the_reals(sp.diff(g, z)))
        _bounded(hessian, MAX_HESSIAN, "its Hessian")
    hxx, hxy, hyy = hessian
    for what, parts in (("its gradient", (gx, gy)), ("its Hessian", (hxx, hxy, hyy))):
        for part in parts:
            if part.has(sp.zoo, sp.nan):
                raise FormulaError(f"{what} is undefined (a division by zero)")
            _real_valued(part, what)
    try:
        return "\n".join(
            [
                _function("f", [expr], None),
                _function("grad", [gx, gy], "p.shape"),
                _function("hessian", [hxx, hxy, hyy], "p.shape + (2,)"),
            ]
        )
    except PrintMethodNotImplementedError as e:  # a function SymPy made
        name = str(e).split(": ")[-1].splitlines()[0] if ": " in str(e) else "?"
        raise FormulaError(
            f"its derivatives hold {name}, which cannot be computed with NumPy"
        ) from None


def _on_the_reals(expr: Any) -> Any:
    """``expr`` with SymPy's own |u| and sign(u) — which it makes of √(x²) —
    replaced by the real ones of :func:`_real_functions`, and a DiracDelta
    (the derivative of its sign) by 0, its value away from the kink."""
    import sympy as sp

    real_abs, real_sign = _real_functions()
    if expr.has(sp.Abs, sp.sign, sp.DiracDelta):
        expr = expr.replace(sp.Abs, real_abs).replace(sp.sign, real_sign)
        expr = expr.replace(sp.DiracDelta, lambda *args: sp.S.Zero)
    return expr


def _bounded(exprs: list[Any], most: int, what: str) -> None:
    """Refuse derivatives of more than ``most`` parts (counted up to there)."""
    import sympy as sp

    count = 0
    for expr in exprs:
        for _ in sp.preorder_traversal(expr):
            count += 1
            if count > most:
                raise FormulaError(
                    f"the formula is too complex to differentiate: {what} has "
                    f"more than {most:,} parts (Goldstein-Price's has under "
                    "1,000); write it with fewer nested functions or factors"
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
        if not exprs[0].free_symbols:  # a constant: give it the points' shape
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
