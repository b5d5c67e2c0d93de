"""Any PyTorch optimizer as a method: ``method: torch:AdamW`` (a class of
``torch.optim``) or ``torch:package.module.Class`` (a third-party one, such as
``torch:pytorch_optimizer.AdaBelief``).

Each row (one start) is one float64 parameter tensor of shape ``(2,)`` with an
optimizer of its own, so that nothing the optimizer computes over all its
parameters (a norm, a trust ratio) mixes the starts. At every update the
surface's gradient is written into the tensor's ``.grad`` and ``step()`` is
called. The hyperparameters are the constructor's keyword arguments, passed
through as the config gives them (a YAML list becomes a tuple:
``betas: [0.9, 0.99]``); the constructor validates them, once when the config
is read, and what it raises becomes one line at that key.

The state holds the tensors and the optimizers, which ``step()`` changes in
place: unlike the other methods' states it is not a value to step twice.
PyTorch is imported only when a config names a ``torch:`` method; without it
that config is one line saying how to install it.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import importlib.util
import inspect
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import numpy as np

from optviz.errors import ConfigError, PluginError
from optviz.optim import plugins
from optviz.optim.methods import ENTRY_KEYS, FAMILIES, Method
from optviz.optim.protocol import Family

Array = np.ndarray
INSTALL = 'pip install "optviz[torch]"'


class HyperparameterError(ValueError):
    """A hyperparameter the optimizer refused; ``key`` says which (or '')."""

    def __init__(self, message: str, key: str = "") -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class TorchHyperparameters:
    """What steps a ``torch:`` method's rows: the class and its arguments."""

    cls: type
    kwargs: tuple[tuple[str, Any], ...]
    reference: str  # torch:AdamW, as the config names it


class TorchState(NamedTuple):
    theta: Array  # (R, 2) the points
    params: tuple[Any, ...]  # one float64 tensor of shape (2,) per row
    optimizers: tuple[Any, ...]  # one optimizer per row, over its tensor


@dataclass(frozen=True)
class TorchMethod(Method):
    """A ``torch:`` method: no declared hyperparameters; the keys of the
    config's entry go to the constructor, which checks them."""

    cls: type | None = None
    reference: str = ""
    # The config passes every key of the entry through (optviz.config).
    passthrough: ClassVar[bool] = True

    def defaults(self) -> dict[str, Any]:
        return {}

    def keys(self) -> tuple[str, ...]:
        """The constructor's keyword arguments, for messages."""
        assert self.cls is not None
        parameters = inspect.signature(self.cls).parameters
        return tuple(k for k in parameters if k not in ("self", "params"))

    def build(self, params: Any) -> TorchHyperparameters:
        """Check ``params`` with the optimizer's own constructor. Raises
        :class:`HyperparameterError` naming the key it refused."""
        assert self.cls is not None
        kwargs = {}
        for key, value in dict(params).items():
            kwargs[key] = _value(value, key)
        hp = TorchHyperparameters(self.cls, tuple(kwargs.items()), self.reference)
        problem = _refusal(hp.cls, kwargs)
        if problem is not None:
            key = _culprit(hp.cls, kwargs, problem)
            if isinstance(problem, TypeError) and "keyword" in str(problem):
                raise HyperparameterError(
                    f"{self.name} has no hyperparameter {key!r}; it takes "
                    + ", ".join(repr(k) for k in self.keys())
                    + plugins.did_you_mean(key, self.keys()),
                    key,
                )
            raise HyperparameterError(
                f"{self.reference} refused it: {plugins._exception(problem)}", key
            )
        return hp


def _value(value: Any, key: str) -> Any:
    """A YAML value as the constructor takes it: lists as tuples."""
    if key in ENTRY_KEYS:  # the config takes these itself
        raise HyperparameterError(f"{key!r} is not a hyperparameter", key)
    if isinstance(value, list | tuple):
        return tuple(_value(v, key) for v in value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise HyperparameterError(
        f"{key} must be a number, true/false, text, null or a list of them "
        "(as the optimizer's constructor takes it)",
        key,
    )


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise ConfigError(
            f"torch: methods need PyTorch, which is not installed: {INSTALL}"
        ) from None
    return torch


def _probe(torch: Any) -> Any:
    return torch.zeros(2, dtype=torch.float64, requires_grad=True)


def _refusal(cls: type, kwargs: dict[str, Any]) -> Exception | None:
    torch = _torch()
    try:
        cls([_probe(torch)], **kwargs)
    except Exception as e:
        return e
    return None


def _culprit(cls: type, kwargs: dict[str, Any], problem: Exception) -> str:
    """Which key the constructor refused: the one it names as unexpected,
    else the one it refuses alone ('' if none does)."""
    for key in kwargs:
        if f"'{key}'" in str(problem) and isinstance(problem, TypeError):
            return key
    alone = [k for k in kwargs if _refusal(cls, {k: kwargs[k]}) is not None]
    return alone[0] if len(alone) == 1 else ""


def method(name: str) -> TorchMethod:
    """The method ``torch:<name>``: ``AdamW`` (``torch.optim.AdamW``) or
    ``package.module.Class``. Raises :class:`ConfigError`."""
    torch = _torch()
    reference = f"torch:{name}"
    module_name, dot, attr = name.rpartition(".")
    if not dot:
        module_name = "torch.optim"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        raise ConfigError(
            f"{reference}: cannot import {module_name!r} ({e}); is the package "
            "that has it installed?"
        ) from None
    except Exception as e:
        spec = importlib.util.find_spec(module_name.partition(".")[0])
        files = tuple(spec.submodule_search_locations or ()) if spec else ()
        home = plugins._Home(reference, files)
        raise ConfigError(
            f"{home.where(e)}: {plugins._exception(e)} (while {module_name} was "
            f"imported for {reference})"
        ) from None
    cls: Any = getattr(module, attr, None)
    optimizer = torch.optim.Optimizer
    if not (isinstance(cls, type) and issubclass(cls, optimizer)):
        names = [
            n
            for n, v in vars(module).items()
            if isinstance(v, type) and issubclass(v, optimizer) and v is not optimizer
        ]
        what = "nothing" if cls is None else f"a {type(cls).__name__}"
        close = difflib.get_close_matches(attr, names, n=1, cutoff=0.6)
        raise ConfigError(
            f"{reference}: {attr!r} in {module_name} is {what}, not a "
            "torch.optim.Optimizer; its optimizers are "
            + ", ".join(sorted(names))
            + (f"; did you mean {close[0]!r}?" if close else "")
        )
    stepper: Any = cls
    step = inspect.signature(stepper.step).parameters.get("closure")
    if step is not None and step.default is inspect.Parameter.empty:
        raise ConfigError(
            f"{reference}: its step() needs a closure that evaluates the loss "
            "again and again; optviz steps PyTorch optimizers with the gradient "
            "alone (for L-BFGS use the method lbfgs)"
        )
    doc = (inspect.getdoc(cls) or "").strip().splitlines()
    summary = f"{module_name}.{attr}" + (f": {doc[0]}" if doc else "")
    return TorchMethod(
        cls.__name__, summary, (), TorchHyperparameters, cls=cls, reference=reference
    )


def init(hp: TorchHyperparameters, rows: Array) -> TorchState:
    torch = _torch()
    params = tuple(
        torch.tensor(row, dtype=torch.float64, requires_grad=True) for row in rows
    )
    with _failures(hp, "constructor", None):
        optimizers = tuple(hp.cls([p], **dict(hp.kwargs)) for p in params)
    return TorchState(np.array(rows, dtype=float), params, optimizers)


def update(grad: Array, s: TorchState, t: int, hp: TorchHyperparameters) -> TorchState:
    """Write each row's gradient into its tensor's ``.grad``; ``step()``."""
    torch = _torch()
    g = torch.from_numpy(np.array(grad, dtype=np.float64))
    with _failures(hp, "step()", t):
        for i, (p, opt) in enumerate(zip(s.params, s.optimizers)):
            p.grad = g[i].clone()
            opt.step()
    with torch.no_grad():
        theta = torch.stack([p.detach() for p in s.params]).numpy().copy()
    return TorchState(theta, s.params, s.optimizers)


@contextlib.contextmanager
def _failures(hp: TorchHyperparameters, what: str, t: int | None) -> Iterator[None]:
    """An exception of the optimizer's as one line naming its file and line."""
    try:
        yield
    except Exception as error:
        source = inspect.getsourcefile(hp.cls) or ""
        home = plugins._Home(hp.reference, (source,) if source else ())
        when = f", update {t}" if t is not None else ""
        raise PluginError(
            f"{home.where(error)}: {plugins._exception(error)} (in "
            f"{hp.reference}'s {what}{when})"
        ) from error


FAMILIES[TorchHyperparameters] = Family(init, update)
