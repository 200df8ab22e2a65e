"""Networks on top of the engine: Module, Neuron, Layer, MLP and the notes' Net221.

A neuron's pre-activation is one node, ``Value.linear(w, x, b)`` = w·x + b, and its
activation is any registered one-input op, looked up by name (``"linear"`` or None means
none). Parameters are labelled with their names (``w11`` … ``b`` in Net221,
``L0.N3.w1`` in an MLP), so graphs, state dicts and explanations use the same words. The
nodes of a call are labelled too: an MLP's inputs ``x1 … xn`` (as the notes number them),
and neuron j of layer k makes ``Lk.Nj.a``, its pre-activation, and ``Lk.Nj.z``, its
activation (the notes' a_j and z_j; Net221 keeps the notes' own a1 … ŷ).

Initialisation comes from the ``seed`` argument only: an int, a ``random.Random`` (used,
and advanced, as given) or None for the class's fixed default seed. There is no global
random state, so the same arguments always build the same model. The one way to draw from
Python's global ``random`` is to ask for it: ``seed=random`` (the module), which
``init="karpathy"`` implies when no seed is given, as karpathy's micrograd 0.1.0 draws
(uniform(-1, 1) per weight, in his order; ``random.seed(1337)`` then builds his demo's model).

A model takes its inputs as ``model(x1, …, xn)`` or as one list or tuple, ``model([x1, …, xn])``
(karpathy's form: ``list(map(model, inputs))``). Neuron and Layer take his ``nonlin=`` keyword.

Saved files are JSON with a small header::

    {"format": "micrograd-notes/state", "version": 1, "kind": "MLP",
     "config": {"nin": 2, "nouts": [8, 1], ...}, "parameters": {"L0.N0.w0": 0.25, ...}}
"""

from __future__ import annotations

import json
import math
import os
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from types import ModuleType
from typing import Any, ClassVar

from micrograd import ops, owners
from micrograd._files import parse_json, read_small_file, write_atomic
from micrograd._numbers import as_float, clip, number, preview
from micrograd.engine import Value, apply
from micrograd.losses import (  # noqa: F401 (the losses' old import path: micrograd.nn.hinge)
    bce_with_logits,
    class_index,
    cross_entropy,
    half_squared_error,
    hinge,
    mse,
)

__all__ = ["MLP", "Layer", "ModelMismatch", "Module", "Net221", "Neuron", "activation_names",
           "vouched"]

FORMAT = "micrograd-notes/state"
FORMAT_VERSION = 1

#: Module.load refuses larger files (and save refuses to write them), before reading: a
#: model of scalars is far smaller (about 25 bytes a parameter, so over two million of them).
MAX_FILE_BYTES = 64 * 2**20

Seed = int | random.Random | ModuleType | None  # (the module: only `random` itself)
INITS = ("scaled", "karpathy")  # weights uniform in ±1/√nin, or in ±1 as micrograd 0.1.0's
Operand = Value | int | float
Activation = Callable[[Value], Value]


# ---- helpers -------------------------------------------------------------------------


def _rng(seed: Seed, default: int, init: str = "scaled") -> random.Random | ModuleType:
    """What to draw from: the Random given, a new one seeded by seed (default if None), or
    Python's global random for seed=random, and for seed=None under init="karpathy"."""
    if init not in INITS:
        raise ValueError(f"init must be one of {', '.join(INITS)}, got {preview(init)}")
    if seed is random or (seed is None and init == "karpathy"):
        return random  # the global Random: random.seed(1337) fixes what is drawn
    if isinstance(seed, random.Random):
        return seed
    if seed is None:
        return random.Random(default)
    if isinstance(seed, int) and not isinstance(seed, bool):
        return random.Random(seed)
    raise TypeError("seed must be an int, a random.Random, the random module or None, "
                    f"got {type(seed).__name__}")


def _inputs(model: Module, xs: tuple[Any, ...], nin: int) -> tuple[Any, ...]:
    """The call's nin inputs, given as model(x1, …, xn) or as one list, model([x1, …, xn])
    (or any one iterable of them but a string: a tuple, a NumPy row)."""
    if len(xs) == 1 and isinstance(xs[0], Iterable) and not isinstance(xs[0], (Value, str)):
        xs = tuple(xs[0])
    if len(xs) != nin:
        names = ", ".join(f"x{i}" for i in range(1, nin + 1)) if nin <= 3 else f"x1, …, x{nin}"
        raise TypeError(f"{model!r} takes {nin} inputs, got {len(xs)}: call it as "
                        f"model({names}) or with one list, model([{names}])")
    return xs


def _nonlin(activation: str | None, nonlin: bool | None) -> str | None:
    """karpathy's nonlin=True/False as an activation: "relu" (his ReLU) or "linear"."""
    if nonlin is None:
        return activation
    if activation != "relu":  # (relu is the default: nonlin decides)
        raise TypeError(f"give activation= or nonlin=, not both (activation={activation!r}, "
                        f"nonlin={nonlin!r})")
    return "relu" if nonlin else "linear"


#: The most inputs or neurons a layer takes: a neuron of 10**8 weights would already need
#: about 10 GB of Values (a larger count is refused before any is made).
MAX_WIDTH = 10**8


def _positive_int(x: Any, what: str) -> int:
    if not isinstance(x, int) or isinstance(x, bool) or x < 1:
        raise ValueError(f"{what} must be a positive int, got {preview(x)}")
    if x > MAX_WIDTH:
        raise ValueError(f"{what} must be at most MAX_WIDTH ({MAX_WIDTH:,}), got {preview(x)}")
    return x


#: The points activation_names() tries each one-input op at: an activation is defined on
#: the whole real line (log is not, so it is not offered; it is still accepted by name).
PROBES = (-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0)


def activation_names() -> list[str]:
    """"linear" (none) and every registered one-input op finite at every point of PROBES."""
    return ["linear", *(name for name in ops.names()
                        if ops.get(name).arity == 1 and _defined_everywhere(ops.get(name)))]


def _defined_everywhere(op: ops.Op) -> bool:
    try:
        return all(math.isfinite(op.forward(x, **op.params)) for x in PROBES)
    except (ArithmeticError, ValueError, TypeError):
        return False


def _activation(name: str | None, params: Mapping[str, float] | None) -> tuple[
        str, dict[str, float], Activation | None]:
    """Resolve an activation name: (name, its params with defaults filled in, the function)."""
    if name is None or name == "linear":
        if params:
            raise ValueError(f"activation 'linear' takes no params, got {preview(dict(params))}")
        return "linear", {}, None
    if not isinstance(name, str):
        raise TypeError(f"activation must be an op name (str) or None, got {type(name).__name__}")
    try:
        op = ops.get(name)
    except KeyError:
        op = None
    if op is None or op.arity != 1:
        raise ValueError(
            f"unknown activation {preview(name)}; known: {', '.join(activation_names())}"
        ) from None
    resolved = dict(op.params)  # the op's defaults, then the given params
    for key, value in (params or {}).items():
        if key not in op.params:
            raise ValueError(f"activation {name!r} has no param {preview(key)}; "
                             f"its params: {', '.join(op.params) or 'none'}")
        x = number(value)
        if x is None or not math.isfinite(x):
            raise ValueError(f"activation {name!r} param {key!r} must be a finite number, "
                             f"got {preview(value)}")
        resolved[key] = x
    return name, resolved, partial(apply, name, **resolved)


def _as_param(value: Any, name: str) -> float:
    """A state-dict entry as a finite float; ValueError naming the parameter otherwise."""
    try:
        x = as_float(value, f"parameter {preview(name)}")
    except TypeError:
        raise ValueError(f"parameter {preview(name)} is not a number: {preview(value)}") from None
    if not math.isfinite(x):
        raise ValueError(f"parameter {preview(name)} is not finite: {x!r}")
    return x


def _preview(names: Iterable[str], limit: int = 5) -> str:
    names = list(names)
    shown = ", ".join(clip(name, 60) if name.isprintable() else preview(name)
                      for name in names[:limit])
    return shown + (f", … ({len(names)} in all)" if len(names) > limit else "")


# ---- Module --------------------------------------------------------------------------


class ModelMismatch(ValueError):
    """Module.load: the file holds another model; ``kind`` and ``config`` say which."""

    def __init__(self, message: str, kind: Any, config: Any) -> None:
        super().__init__(message)
        self.kind, self.config = kind, config


class Module:
    """Base of every model: named parameters, zero_grad, state dicts, and JSON save/load.

    A subclass defines ``named_parameters()`` (a fixed order) and ``config()`` (the
    constructor arguments a saved file must match).
    """

    DEFAULT_SEED: ClassVar[int] = 0  # the seed used when seed=None
    __call__: Callable[..., Any]  # a subclass maps inputs to its output Value (or Values)
    #: Declared True in a class body whose code has no branch on Value data (the same graph
    #: for any data), so train() may record a sample's graph once and replay it. It vouches
    #: for the code of that class body only; ``vouched(model)`` says whether it covers all
    #: the code a call of a model reaches.
    branch_free: ClassVar[bool] = False

    def named_parameters(self) -> list[tuple[str, Value]]:
        """(name, Value) for every parameter, in a fixed order."""
        raise NotImplementedError(f"{type(self).__name__} must define named_parameters()")

    def parameters(self) -> list[Value]:
        """Every parameter Value, in the order of named_parameters()."""
        return [p for _, p in self.named_parameters()]

    def hidden_parameters(self) -> list[Value]:
        """Parameters that backprop reaches only through a hidden activation; [] if none."""
        return []

    def config(self) -> dict[str, Any]:
        """The constructor arguments that fix the parameter names (JSON values)."""
        return {}

    def zero_grad(self) -> None:
        """grad = 0 on every parameter (not on the rest of a graph)."""
        for p in self.parameters():
            p.grad = 0.0

    def state_dict(self) -> dict[str, float]:
        """{name: value} for every parameter, in the order of named_parameters().

        Current: a Trainer that holds some of the parameters syncs first (``micrograd.owners``).
        """
        named = self.named_parameters()
        owners.sync(p for _, p in named)
        return {name: p.data for name, p in named}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Set every parameter from {name: number}; ValueError (model unchanged) on any mismatch.

        A Trainer that holds some of the parameters reads them anew (``micrograd.owners``).
        """
        if not isinstance(state, Mapping):
            raise ValueError("a state dict must be a mapping of names to numbers, "
                             f"got {type(state).__name__}")
        named = self.named_parameters()
        expected = [name for name, _ in named]
        missing = [name for name in expected if name not in state]
        known = set(expected)
        extra = [str(name) for name in state if name not in known]
        if missing or extra:
            problems = []
            if missing:
                problems.append(f"missing parameters: {_preview(missing)}")
            if extra:
                problems.append(f"unexpected parameters: {_preview(extra)}")
            raise ValueError(f"state dict does not fit {self!r}: " + "; ".join(problems))
        values = [_as_param(state[name], name) for name in expected]  # all checked first
        params = [p for _, p in named]
        owners.sync(params)  # a Trainer holding these (and maybe others) takes them back after
        for p, x in zip(params, values):
            p.data = x
        owners.load(params)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the parameters as JSON, atomically: the file is whole, old or new, never half."""
        path = os.fspath(path)
        state = self.state_dict()
        for name, x in state.items():
            if not math.isfinite(x):
                raise ValueError(f"{clip(path, 200)}: cannot save: parameter {preview(name)} "
                                 f"is not finite ({x!r})")
        document = {"format": FORMAT, "version": FORMAT_VERSION, "kind": type(self).__name__,
                    "config": self.config(), "parameters": state}
        data = (json.dumps(document, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
                ).encode("utf-8")
        if len(data) > MAX_FILE_BYTES:
            raise ValueError(f"{clip(path, 200)}: cannot save: {len(data):,} bytes is over "
                             f"MAX_FILE_BYTES ({MAX_FILE_BYTES:,}), the most load() reads")
        write_atomic(path, data)

    def load(self, path: str | os.PathLike[str]) -> None:
        """Set this model's parameters from a file written by save() (a method, not a factory).

        The file's kind and config must match this model. Any problem raises ValueError
        naming the file and the problem, with the model unchanged: a file that is not a
        regular file (a directory, a FIFO, a device) or is over MAX_FILE_BYTES is refused
        before reading. OSError if the file is missing or unreadable.
        """
        path = os.fspath(path)
        try:
            document = parse_json(read_small_file(path, MAX_FILE_BYTES))
            state = self._check_header(document)
            self.load_state_dict(state)
        except ModelMismatch as err:
            raise ModelMismatch(f"{path}: {err}", err.kind, err.config) from None
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None

    def _check_header(self, document: Any) -> Mapping[str, Any]:
        if not isinstance(document, dict):
            raise ValueError(f"not a {FORMAT} file: the JSON is a {type(document).__name__}, "
                             "not an object")
        if document.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} file: format is {preview(document.get('format'))}")
        keys = {"format", "version", "kind", "config", "parameters"}
        if set(document) != keys:
            missing, extra = sorted(keys - set(document)), sorted(set(document) - keys)
            raise ValueError(f"malformed header: missing keys {missing}, "
                             f"unexpected keys {preview(extra, 200)}")
        version = document["version"]
        if version != FORMAT_VERSION or isinstance(version, bool):
            raise ValueError(f"unsupported format version {preview(version)} (this library "
                             f"reads {FORMAT_VERSION})")
        if document["kind"] != type(self).__name__:
            raise ModelMismatch(f"holds a {preview(document['kind'])}, "
                                f"not a {type(self).__name__!r}", document["kind"],
                                document["config"])
        if document["config"] != self.config():
            raise ModelMismatch(f"config {preview(document['config'], 200)} does not match "
                                f"this model's {self.config()}", document["kind"],
                                document["config"])
        parameters = document["parameters"]
        if not isinstance(parameters, dict):
            raise ValueError(f"'parameters' must be an object, got {type(parameters).__name__}")
        return parameters

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


#: Methods no ``__call__`` of the package reaches: a subclass that overrides only these
#: (and sets data) runs the package's code when called, so it stays vouched for.
NOT_IN_A_CALL = frozenset({
    "__init__", "__repr__", "config", "named_parameters", "parameters", "hidden_parameters",
    "zero_grad", "state_dict", "load_state_dict", "save", "load"})


def _class_vouched(cls: type) -> bool:
    """Every class body in cls's MRO that defines code a call may run declares branch_free."""
    for c in cls.__mro__:
        if c is Module or c is object or vars(c).get("branch_free") is True:
            continue
        if any(name not in NOT_IN_A_CALL
               and (callable(v) or isinstance(v, (property, staticmethod, classmethod)))
               for name, v in vars(c).items()):
            return False
    return True


def _registered_activation(f: Any) -> bool:
    """f is an activation as _activation makes it: apply bound to a registered op's name."""
    return (isinstance(f, partial) and f.func is apply and len(f.args) == 1
            and isinstance(f.args[0], str) and f.args[0] in ops.names())


def vouched(model: Module) -> bool:
    """True if all the code a call of model reaches is declared free of branches on Value data.

    That is: every module in the model's tree (itself, and every Module held in an attribute,
    or in a list, tuple or dict there) has a class whose code-defining bodies each declare
    ``branch_free = True`` (methods of NOT_IN_A_CALL aside), and every function held by a
    module is an activation from the op registry (an op is a node: a replay evaluates it
    again). A lambda or method set on an instance, or a subclass that overrides a helper
    without declaring, makes the model unvouched.
    """
    seen: set[int] = set()
    stack: list[Any] = [model]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, Module):
            if not _class_vouched(type(item)):
                return False
            stack.extend(getattr(item, "__dict__", {}).values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif callable(item) and not _registered_activation(item):
            return False
    return True


# ---- Neuron, Layer, MLP --------------------------------------------------------------


class Neuron(Module):
    """f(w0·x0 + … + w(n-1)·x(n-1) + b): one linear node, then the activation f by op name."""

    branch_free = True

    def __init__(self, nin: int, activation: str | None = "relu", seed: Seed = None,
                 activation_params: Mapping[str, float] | None = None, *,
                 nonlin: bool | None = None, init: str = "scaled") -> None:
        self.nin = _positive_int(nin, "Neuron nin")
        self.activation, self.activation_params, self._activate = _activation(
            _nonlin(activation, nonlin), activation_params)
        rng = _rng(seed, self.DEFAULT_SEED, init)
        scale = 1.0 if init == "karpathy" else 1.0 / math.sqrt(nin)
        self.w = [Value(rng.uniform(-scale, scale), f"w{i}") for i in range(nin)]
        self.b = Value(0.0, "b")
        self.name = ""  # where it sits, as its parameters' labels start: "L0.N3." in an MLP

    def __call__(self, *xs: Operand) -> Value:
        """z = f(a), a = w·x + b: nodes labelled a and z after the neuron's name ("L0.N3.a")."""
        if len(xs) != self.nin or self.nin == 1:
            xs = _inputs(self, xs, self.nin)
        pre = Value.linear(self.w, xs, self.b)
        pre.label = self.name + "a"
        if self._activate is None:
            return pre
        out = self._activate(pre)
        out.label = self.name + "z"
        return out

    def named_parameters(self) -> list[tuple[str, Value]]:
        """w0 … w(n-1), b."""
        return [*((f"w{i}", w) for i, w in enumerate(self.w)), ("b", self.b)]

    def config(self) -> dict[str, Any]:
        return {"nin": self.nin, "activation": self.activation,
                "activation_params": dict(self.activation_params)}


class Layer(Module):
    """nout neurons on the same inputs; returns a list of nout Values (one Value if nout is 1)."""

    branch_free = True

    def __init__(self, nin: int, nout: int, activation: str | None = "relu", seed: Seed = None,
                 activation_params: Mapping[str, float] | None = None, *,
                 nonlin: bool | None = None, init: str = "scaled") -> None:
        _positive_int(nout, "Layer nout")
        rng = _rng(seed, self.DEFAULT_SEED, init)
        activation = _nonlin(activation, nonlin)
        self.neurons = [Neuron(nin, activation, rng, activation_params, init=init)
                        for _ in range(nout)]
        self.name = ""
        self._label("")

    def _label(self, name: str) -> None:
        """Label the parameters and name the neurons after where this layer sits ("L0.")."""
        self.name = name
        for j, neuron in enumerate(self.neurons):
            neuron.name = f"{name}N{j}."
        for label, p in self.named_parameters():
            p.label = name + label

    @property
    def nin(self) -> int:
        return self.neurons[0].nin

    @property
    def activation(self) -> str:
        return self.neurons[0].activation

    def __call__(self, *xs: Operand) -> Value | list[Value]:
        """[neuron(x) for each neuron], or the one neuron's Value (as karpathy's Layer returns)."""
        out = [neuron(*xs) for neuron in self.neurons]
        return out[0] if len(out) == 1 else out

    def named_parameters(self) -> list[tuple[str, Value]]:
        """N{j}.w{i}, N{j}.b for neuron j."""
        return [(f"N{j}.{name}", p) for j, neuron in enumerate(self.neurons)
                for name, p in neuron.named_parameters()]

    def config(self) -> dict[str, Any]:
        first = self.neurons[0]
        return {"nin": first.nin, "nout": len(self.neurons), "activation": first.activation,
                "activation_params": dict(first.activation_params)}


class MLP(Module):
    """Layers of neurons with the given activation, the last layer linear.

    ``model(*xs)`` (or ``model(xs)``) returns a Value if the last layer has one neuron, else a
    list of Values (fixed by ``nouts``). Weights are uniform in ±1/√nin, biases 0; with
    ``init="karpathy"`` uniform in ±1 from Python's global random unless a seed is given, as
    micrograd 0.1.0's ``MLP(nin, nouts)`` (ReLU on every layer but the last, as here).
    """

    branch_free = True

    def __init__(self, nin: int, nouts: Sequence[int], activation: str | None = "relu",
                 seed: Seed = None, activation_params: Mapping[str, float] | None = None, *,
                 init: str = "scaled") -> None:
        _positive_int(nin, "MLP nin")
        if isinstance(nouts, (str, bytes)) or not isinstance(nouts, Sequence) or not nouts:
            raise ValueError(
                f"MLP nouts must be a non-empty sequence of positive ints, got {preview(nouts)}")
        sizes = [nin, *(_positive_int(n, "MLP nouts entry") for n in nouts)]
        rng = _rng(seed, self.DEFAULT_SEED, init)
        name, params, _ = _activation(activation, activation_params)
        self.activation, self.activation_params = name, params
        last = len(nouts) - 1
        self.layers = [
            Layer(sizes[k], sizes[k + 1], "linear" if k == last else name, rng,
                  None if k == last else params, init=init)
            for k in range(len(nouts))
        ]
        self._single = sizes[-1] == 1
        for k, layer in enumerate(self.layers):
            layer._label(f"L{k}.")

    @property
    def nin(self) -> int:
        return self.layers[0].nin

    @property
    def nouts(self) -> list[int]:
        return [len(layer.neurons) for layer in self.layers]

    def __call__(self, *xs: Operand) -> Value | list[Value]:
        """The last layer's output for the inputs x1 … xn (numbers become Values labelled so)."""
        if len(xs) != self.nin or self.nin == 1:
            xs = _inputs(self, xs, self.nin)
        out: list[Value] = [x if isinstance(x, Value) else Value(x, f"x{i}")
                            for i, x in enumerate(xs, 1)]
        for layer in self.layers:
            y = layer(*out)
            out = [y] if isinstance(y, Value) else y  # (a one-neuron layer gives its Value)
        return out[0] if self._single else out

    def named_parameters(self) -> list[tuple[str, Value]]:
        """L{k}.N{j}.w{i}, L{k}.N{j}.b: layer k, neuron j, input i, all counted from 0."""
        return [(f"L{k}.{name}", p) for k, layer in enumerate(self.layers)
                for name, p in layer.named_parameters()]

    def hidden_parameters(self) -> list[Value]:
        """Every layer's parameters but the last layer's."""
        return [p for layer in self.layers[:-1] for p in layer.parameters()]

    def config(self) -> dict[str, Any]:
        return {"nin": self.nin, "nouts": self.nouts, "activation": self.activation,
                "activation_params": dict(self.activation_params)}


# ---- the notes' 2-2-1 network --------------------------------------------------------


class Net221(Module):
    """The notes' network: a_j = w_j1·x1 + w_j2·x2 + b_j, z_j = f(a_j), ŷ = w1·z1 + w2·z2 + b.

    The nine parameters are Values labelled w11 w12 w21 w22 b1 b2 w1 w2 b, each drawn
    uniformly from [-1, 1] (the notes: "随机取", pick at random); the nodes of a call
    are labelled x1 x2 a1 a2 z1 z2 ŷ. Any activation works, step included (it cannot learn:
    its derivative is 0). seed=None means the fixed DEFAULT_SEED.
    """

    branch_free = True
    DEFAULT_SEED: ClassVar[int] = 1  # solves XOR with sigmoid, tanh, relu and leaky_relu
    NAMES: ClassVar[tuple[str, ...]] = ("w11", "w12", "w21", "w22", "b1", "b2", "w1", "w2", "b")

    def __init__(self, activation: str | None = "sigmoid", seed: Seed = None,
                 activation_params: Mapping[str, float] | None = None) -> None:
        self.activation, self.activation_params, self._activate = _activation(
            activation, activation_params)
        rng = _rng(seed, self.DEFAULT_SEED)
        (self.w11, self.w12, self.w21, self.w22, self.b1, self.b2,
         self.w1, self.w2, self.b) = (Value(rng.uniform(-1.0, 1.0), name) for name in self.NAMES)

    def __call__(self, *xs: Operand) -> Value:
        """ŷ for the inputs x1, x2 (or one pair, [x1, x2]); numbers become Values labelled so."""
        x1, x2 = xs if len(xs) == 2 else _inputs(self, xs, 2)
        if not isinstance(x1, Value):
            x1 = Value(x1, "x1")
        if not isinstance(x2, Value):
            x2 = Value(x2, "x2")
        a1 = Value.linear((self.w11, self.w12), (x1, x2), self.b1)
        a1.label = "a1"
        a2 = Value.linear((self.w21, self.w22), (x1, x2), self.b2)
        a2.label = "a2"
        z1, z2 = a1, a2  # "linear": no activation node, z_j is a_j
        if self._activate is not None:
            z1 = self._activate(a1)
            z1.label = "z1"
            z2 = self._activate(a2)
            z2.label = "z2"
        y_hat = Value.linear((self.w1, self.w2), (z1, z2), self.b)
        y_hat.label = "ŷ"
        return y_hat

    def named_parameters(self) -> list[tuple[str, Value]]:
        """w11 w12 w21 w22 b1 b2 w1 w2 b, in the notes' order."""
        return [(name, getattr(self, name)) for name in self.NAMES]

    def hidden_parameters(self) -> list[Value]:
        """w11 w12 w21 w22 b1 b2: the hidden layer's."""
        return [self.w11, self.w12, self.w21, self.w22, self.b1, self.b2]

    def config(self) -> dict[str, Any]:
        return {"activation": self.activation, "activation_params": dict(self.activation_params)}
