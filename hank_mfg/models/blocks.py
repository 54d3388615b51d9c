"""Aggregate blocks as plain functions in the paper's symbols (JAX).

A block is a function of named aggregates that returns named aggregates, in the style of the
Sequence-Space Jacobian toolkit's ``@simple`` blocks::

    @simple_block
    def firm(K, L, Z, alpha, delta):
        r = alpha * Z * (K(-1) / L) ** (alpha - 1) - delta
        w = (1 - alpha) * Z * (K(-1) / L) ** alpha
        Y = Z * K(-1) ** alpha * L ** (1 - alpha)
        return r, w, Y

The inputs are the function's parameter names; the outputs are the names in its ``return``
statement. Inside the body each input is a :class:`Variable`: ``K`` or ``K()`` is its value,
``K(-1)`` last period's and ``pi(+1)`` next period's (along a path the missing end is the
steady-state value; at the steady state a lag or lead is the value itself). Arithmetic
(``+ - * / ** //``, unary minus, ``abs``, comparisons) works on a Variable directly and gives
plain ``jax.numpy`` arrays. ``jax.numpy`` functions do not accept a Variable in jax 0.10.2
(``__jax_array__`` is no longer honoured there): write ``jnp.log(K())`` or
``jnp.exp(K(-1))``, or ``jnp.asarray(K)``.

All quantities are per period; rates (``r``, ``tau``, ``delta``) are fractions per period.
The timing is SSJ's: ``K`` is end-of-period capital (used in production next period), ``B``
end-of-period government debt, ``r`` the ex-post real rate paid in period t on what was held
at the end of t-1.
"""

from __future__ import annotations

import ast
import dis
import inspect
import operator
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array

__all__ = [
    "SimpleBlock",
    "Variable",
    "asset_market",
    "block_graph_order",
    "block_outputs",
    "cobb_douglas",
    "evaluate_blocks",
    "external_inputs",
    "firm",
    "firm_from_production",
    "goods_market",
    "government",
    "labour_market",
    "simple_block",
]


# --------------------------------------------------------------------------------------------
# Variables: an input with lags and leads
# --------------------------------------------------------------------------------------------


def _as_float_array(value: Any) -> Array:
    """``value`` as a JAX array; integers and booleans become floats (so gradients exist)."""
    array = jnp.asarray(value)
    if not jnp.issubdtype(array.dtype, jnp.inexact):
        array = array.astype(jnp.result_type(float))
    return array


def _as_float64(value: Any) -> np.ndarray:
    """``value`` as a NumPy float64 array (a steady state on plain numbers)."""
    return np.asarray(value, dtype=np.float64)


def _shift(path: Array, steady: Array, k: int, initial: Array | None = None) -> Array:
    """``path`` moved by ``k`` periods along axis 0: entry t is ``path[t + k]``; periods after
    ``T`` take the steady-state value, periods before 0 the ``initial`` value (default: the
    steady state's; a transition between two steady states starts from the old one)."""
    if k == 0:
        return path
    T = path.shape[0]
    edge = steady if k > 0 or initial is None else initial
    dtype = jnp.result_type(path, edge)
    path = path.astype(dtype)
    if abs(k) >= T:
        return jnp.broadcast_to(edge, path.shape).astype(dtype)
    fill = jnp.broadcast_to(edge, (abs(k),) + path.shape[1:]).astype(dtype)
    if k < 0:
        return jnp.concatenate([fill, path[: T + k]], axis=0)
    return jnp.concatenate([path[k:], fill], axis=0)


def _value(x: Any) -> Any:
    return x._value if isinstance(x, Variable) else x


class Variable:
    """One input of a block: its value (a path ``[T, ...]`` or a steady-state value) and its
    steady-state value.

    ``x()`` is the value, ``x(k)`` the value ``k`` periods ahead (``x(-1)``: last period's),
    filled with the steady-state value after the path's end and with the initial value (by
    default the steady state's) before its start; at the steady state ``x(k)`` is ``x()``.
    Operators give plain arrays; ``jax.numpy`` functions take ``x()``.
    """

    __slots__ = ("name", "_value", "_steady", "_initial", "_is_path")
    __array_ufunc__ = None  # numpy defers to the reflected operators below

    def __init__(
        self,
        name: str,
        value: Any,
        steady: Any,
        *,
        is_path: bool,
        initial: Any = None,
        convert: Callable[[Any], Any] | None = None,
    ) -> None:
        self.name = name
        convert = _as_float_array if convert is None else convert
        self._value = convert(value)
        self._steady = convert(steady)
        self._initial = None if initial is None else convert(initial)
        self._is_path = is_path
        if is_path and self._value.ndim == 0:
            raise ValueError(f"the path of '{name}' must have a time axis, got a scalar")

    def __call__(self, k: int = 0) -> Array:
        if isinstance(k, bool) or not isinstance(k, int):
            raise TypeError(
                f"'{self.name}(k)' takes a whole number of periods k (e.g. -1 or +1), got {k!r}"
            )
        if not self._is_path or k == 0:
            return self._value
        return _shift(self._value, self._steady, k, self._initial)

    def __jax_array__(self) -> Array:
        return self._value

    @property
    def steady(self) -> Array:
        """The steady-state value."""
        return self._steady

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self._value.shape)

    @property
    def ndim(self) -> int:
        return self._value.ndim

    @property
    def dtype(self) -> Any:
        return self._value.dtype

    def __getitem__(self, index: Any) -> Array:
        return self._value[index]

    def __len__(self) -> int:
        return len(self._value)

    def __repr__(self) -> str:
        kind = "path" if self._is_path else "steady state"
        return f"Variable({self.name!r}, {kind}, {self._value!r})"

    # arithmetic on the value (no shift), returning plain arrays
    def __neg__(self) -> Array:
        return -self._value

    def __pos__(self) -> Array:
        return +self._value

    def __abs__(self) -> Array:
        return jnp.abs(self._value)

    __hash__ = None  # type: ignore[assignment]


def _binary(op: Callable[[Any, Any], Any], name: str) -> tuple[Callable, Callable]:
    def forward(self: Variable, other: Any) -> Any:
        return op(self._value, _value(other))

    def reflected(self: Variable, other: Any) -> Any:
        return op(_value(other), self._value)

    forward.__name__ = f"__{name}__"
    reflected.__name__ = f"__r{name}__"
    return forward, reflected


for _name, _op in [
    ("add", operator.add),
    ("sub", operator.sub),
    ("mul", operator.mul),
    ("truediv", operator.truediv),
    ("floordiv", operator.floordiv),
    ("mod", operator.mod),
    ("pow", operator.pow),
    ("matmul", operator.matmul),
]:
    _fwd, _rev = _binary(_op, _name)
    setattr(Variable, f"__{_name}__", _fwd)
    setattr(Variable, f"__r{_name}__", _rev)

for _name, _op in [
    ("lt", operator.lt),
    ("le", operator.le),
    ("gt", operator.gt),
    ("ge", operator.ge),
    ("eq", operator.eq),
    ("ne", operator.ne),
]:
    _fwd, _ = _binary(_op, _name)
    setattr(Variable, f"__{_name}__", _fwd)
del _name, _op, _fwd, _rev


# --------------------------------------------------------------------------------------------
# Blocks
# --------------------------------------------------------------------------------------------


def _returned_names_from_bytecode(func: Callable) -> tuple[str, ...] | None:
    """The local names ``func`` returns, from its bytecode (``return a`` or ``return a, b``
    everywhere it returns), or None if it returns anything else."""
    code = getattr(func, "__code__", None)
    if code is None:
        return None
    ops = [i for i in dis.get_instructions(code) if i.opname not in ("CACHE", "NOP")]
    found = set()
    for k, op in enumerate(ops):
        if op.opname not in ("RETURN_VALUE", "RETURN_CONST"):
            continue
        if op.opname == "RETURN_CONST":
            return None
        before = ops[k - 1] if k else None
        if before is not None and before.opname == "LOAD_FAST":
            found.add((before.argval,))
        elif before is not None and before.opname == "BUILD_TUPLE" and k > before.arg:
            loads = ops[k - 1 - before.arg : k - 1]
            if not all(i.opname == "LOAD_FAST" for i in loads):
                return None
            found.add(tuple(i.argval for i in loads))
        else:
            return None
    return found.pop() if len(found) == 1 else None


def _returned_names(func: Callable, block_name: str) -> tuple[str, ...]:
    """The names in ``func``'s ``return name1, name2`` statement, read from its source."""
    ask = f"block '{block_name}' must end with 'return name1, name2' (plain variable names)"
    try:
        source = textwrap.dedent(inspect.getsource(func))
    except (OSError, TypeError) as error:  # e.g. code given to exec: read the bytecode
        names = _returned_names_from_bytecode(func)
        if names is None:
            raise ValueError(
                f"block '{block_name}': cannot read the source of {func!r} to find its "
                "outputs; pass outputs=(...) to simple_block"
            ) from error
        return names
    try:
        tree = ast.parse(source)
    except SyntaxError as error:  # e.g. a lambda in the middle of a line
        raise ValueError(
            f"block '{block_name}': cannot parse the source of {func!r} to find its outputs; "
            "define it with def, or pass outputs=(...) to simple_block"
        ) from error
    definition = next(
        (
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.name == func.__name__
        ),
        None,
    )
    if definition is None:
        raise ValueError(f"block '{block_name}': cannot find 'def {func.__name__}' in its source")
    definition.decorator_list = []

    returns: list[ast.Return] = []
    pending: list[ast.AST] = list(definition.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue  # a nested function's return is not the block's
        if isinstance(node, ast.Return):
            returns.append(node)
        pending.extend(ast.iter_child_nodes(node))
    if not returns:
        raise ValueError(f"{ask}; it has no return statement")

    found: set[tuple[str, ...]] = set()
    for statement in returns:
        value = statement.value
        if isinstance(value, ast.Name):
            names: tuple[str, ...] = (value.id,)
        elif (
            isinstance(value, ast.Tuple)
            and value.elts
            and all(isinstance(element, ast.Name) for element in value.elts)
        ):
            names = tuple(element.id for element in value.elts)  # type: ignore[attr-defined]
        else:
            shown = ast.unparse(value) if value is not None else "nothing"
            raise ValueError(f"{ask}; it returns '{shown}'")
        if len(set(names)) != len(names):
            raise ValueError(f"block '{block_name}' returns a name twice: {', '.join(names)}")
        found.add(names)
    if len(found) > 1:
        shown = " / ".join(", ".join(names) for names in sorted(found))
        raise ValueError(
            f"block '{block_name}' returns different names in different places: {shown}"
        )
    return found.pop()


def _parameter_names(func: Callable, block_name: str) -> tuple[str, ...]:
    names = []
    for parameter in inspect.signature(func).parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise ValueError(
                f"block '{block_name}': inputs must be named parameters, not *{parameter.name}"
            )
        names.append(parameter.name)
    return tuple(names)


@dataclass(frozen=True)
class SimpleBlock:
    """A function of named aggregates returning named aggregates (see the module's docstring).

    ``func`` is called with one :class:`Variable` per name in ``inputs`` (by keyword) and
    returns the outputs in the order of ``outputs`` (a single value when there is one).
    """

    func: Callable[..., Any]
    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(set(self.inputs)) != len(self.inputs):
            raise ValueError(f"block '{self.name}' names an input twice: {self.inputs}")
        if not self.outputs:
            raise ValueError(f"block '{self.name}' has no outputs")

    def __repr__(self) -> str:
        return (
            f"SimpleBlock({self.name!r}, inputs=({', '.join(self.inputs)}), "
            f"outputs=({', '.join(self.outputs)}))"
        )

    # -- evaluation --------------------------------------------------------------------------

    def _run(
        self, variables: Mapping[str, Variable], convert: Callable[[Any], Any] | None = None
    ) -> tuple[Array, ...]:
        try:
            result = self.func(**{name: variables[name] for name in self.inputs})
        except (TypeError, ValueError) as error:
            text = str(error)
            if "__jax_array__" in text or f"{__name__}.Variable" in text:
                raise TypeError(
                    f"block '{self.name}': jax.numpy functions take a Variable's array, e.g. "
                    "jnp.log(K()) or jnp.exp(K(-1)), not jnp.log(K)"
                ) from error
            raise
        if len(self.outputs) == 1:
            result = (result,)
        elif not isinstance(result, tuple | list) or len(result) != len(self.outputs):
            raise ValueError(
                f"block '{self.name}' must return {len(self.outputs)} values "
                f"({', '.join(self.outputs)})"
            )
        convert = _as_float_array if convert is None else convert
        return tuple(convert(_value(value)) for value in result)

    def _missing(self, name: str) -> ValueError:
        return ValueError(f"block '{self.name}' needs input '{name}', which nothing provides")

    def steady_state(self, values: Mapping[str, Any]) -> dict[str, Array]:
        """The outputs at the steady state given ``values`` of the inputs (lags and leads of a
        steady-state value are the value itself)."""
        return dict(zip(self.outputs, self._at_steady_state(values, _as_float_array), strict=True))

    def steady_state_floats(self, values: Mapping[str, float]) -> dict[str, float]:
        """:meth:`steady_state` on plain numbers, evaluated in NumPy and returned as floats:
        a steady-state search calls its blocks many times, and JAX's dispatch of each scalar
        operation would cost more than the operation."""
        outputs = self._at_steady_state(values, _as_float64)
        return {k: float(v) for k, v in zip(self.outputs, outputs, strict=True)}

    def _at_steady_state(
        self, values: Mapping[str, Any], convert: Callable[[Any], Any]
    ) -> tuple[Any, ...]:
        variables = {}
        for name in self.inputs:
            if name not in values:
                raise self._missing(name)
            value = values[name]
            variables[name] = Variable(name, value, value, is_path=False, convert=convert)
        return self._run(variables, convert=convert)

    def paths(
        self,
        paths: Mapping[str, Any],
        steady_state: Mapping[str, Any],
        *,
        T: int | None = None,
        initial_state: Mapping[str, Any] | None = None,
    ) -> dict[str, Array]:
        """The outputs as paths ``[T]`` given input ``paths`` ``[T]``.

        An input absent from ``paths`` stays at its value in ``steady_state``; leads beyond
        the path's end take the steady-state value, lags before its start the value in
        ``initial_state`` (default ``steady_state``: a transition between two steady states
        starts from the old one, e.g. ``K(-1)`` at date 0). ``T`` is read from the paths (pass
        it when none of this block's inputs has one). Works under ``jax.jit`` and
        ``jax.jacfwd`` with respect to the paths.
        """
        given = [name for name in self.inputs if name in paths]
        lengths = {
            name: jnp.shape(paths[name])[0] if jnp.ndim(paths[name]) else 0 for name in given
        }
        if T is None:
            if not given:
                raise ValueError(
                    f"block '{self.name}': none of its inputs ({', '.join(self.inputs)}) has a "
                    "path; pass T"
                )
            T = lengths[given[0]]
        wrong = {name: n for name, n in lengths.items() if n != T}
        if wrong:
            raise ValueError(
                f"block '{self.name}': every path must have length T={T}, got "
                + ", ".join(f"'{name}' of length {n}" for name, n in wrong.items())
            )
        variables = {}
        for name in self.inputs:
            if name not in steady_state:
                if name in paths:
                    raise ValueError(
                        f"block '{self.name}' needs the steady-state value of '{name}' to fill "
                        "its lags and leads"
                    )
                raise self._missing(name)
            steady = _as_float_array(steady_state[name])
            path = paths[name] if name in paths else jnp.broadcast_to(steady, (T,) + steady.shape)
            initial = None
            if initial_state is not None and name in initial_state:
                initial = initial_state[name]
            variables[name] = Variable(name, path, steady, is_path=True, initial=initial)
        outputs = self._run(variables)
        outputs = tuple(jnp.broadcast_to(y, (T,)) if y.ndim == 0 else y for y in outputs)
        return dict(zip(self.outputs, outputs, strict=True))

    def __call__(self, **values: Any) -> Any:
        """The function on plain values, with no shifting (``x(k)`` is ``x``): one array, or
        a tuple in the order of ``outputs``."""
        unknown = sorted(set(values) - set(self.inputs))
        if unknown:
            raise TypeError(f"block '{self.name}' has no input {', '.join(map(repr, unknown))}")
        outputs = self.steady_state(values)
        result = tuple(outputs[name] for name in self.outputs)
        return result[0] if len(result) == 1 else result


def simple_block(
    func: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    outputs: Sequence[str] | None = None,
) -> Any:
    """Decorator: ``func`` as a :class:`SimpleBlock` whose inputs are its parameter names and
    whose outputs are the names in its ``return`` statement (or ``outputs`` when its source
    cannot be read). Use as ``@simple_block`` or ``@simple_block(name="firm")``."""

    def make(function: Callable[..., Any]) -> SimpleBlock:
        block_name = name if name is not None else function.__name__
        inputs = _parameter_names(function, block_name)
        if outputs is not None:
            returned = tuple(outputs)
        else:
            returned = _returned_names(function, block_name)
        return SimpleBlock(func=function, name=block_name, inputs=inputs, outputs=returned)

    if func is None:
        return make
    return make(func)


# --------------------------------------------------------------------------------------------
# Firms
# --------------------------------------------------------------------------------------------


def cobb_douglas(K: Any, L: Any, Z: Any, alpha: Any) -> Any:
    """Output ``Y = Z K^α L^(1-α)`` per period from capital ``K``, labour ``L`` (efficiency
    units) and TFP ``Z``."""
    return Z * K**alpha * L ** (1 - alpha)


def firm_from_production(
    F: Callable[..., Any],
    *,
    name: str = "firm",
    capital: str = "K",
    labour: str = "L",
    depreciation: str = "delta",
) -> SimpleBlock:
    """A competitive firm from a production function ``F(K, L, Z, **params)``.

    ``F``'s first two parameters are capital and labour (the block's inputs ``capital`` and
    ``labour``), the others are inputs by their own names; ``depreciation`` is an input too.
    Outputs, per period: ``r = F_K(K(-1), L, ...) - δ`` (net rental rate), ``w = F_L`` (wage
    per efficiency unit) and ``Y = F`` (output), with last period's capital ``K(-1)`` as in
    SSJ's Krusell–Smith firm and marginal products by ``jax.grad``.
    """
    parameters = _parameter_names(F, name)
    if len(parameters) < 2:
        raise ValueError(f"block '{name}': F must take capital and labour first, F(K, L, ...)")
    others = parameters[2:]
    inputs = (capital, labour, *others, depreciation)
    if len(set(inputs)) != len(inputs):
        raise ValueError(
            f"block '{name}': the inputs {inputs} repeat a name; rename capital, labour or "
            "depreciation"
        )

    def scalar_F(k: Array, l: Array, *rest: Array) -> Array:
        return F(k, l, **dict(zip(others, rest, strict=True)))

    marginal_products = jax.grad(scalar_F, argnums=(0, 1))

    def production(**variables: Variable) -> tuple[Array, Array, Array]:
        arguments = jnp.broadcast_arrays(
            variables[capital](-1), variables[labour](), *(variables[p]() for p in others)
        )
        shape = arguments[0].shape
        flat = [jnp.ravel(a) for a in arguments]
        Y = jax.vmap(scalar_F)(*flat).reshape(shape)
        F_K, F_L = jax.vmap(marginal_products)(*flat)
        r = F_K.reshape(shape) - variables[depreciation]()
        w = F_L.reshape(shape)
        return r, w, Y

    production.__name__ = name
    return SimpleBlock(func=production, name=name, inputs=inputs, outputs=("r", "w", "Y"))


firm = firm_from_production(cobb_douglas)
"""Cobb–Douglas firm: inputs ``K, L, Z, alpha, delta``; outputs ``r, w, Y`` with
``r = α Z (K(-1)/L)^(α-1) - δ``, ``w = (1-α) Z (K(-1)/L)^α``, ``Y = Z K(-1)^α L^(1-α)``."""


# --------------------------------------------------------------------------------------------
# Government and markets
# --------------------------------------------------------------------------------------------


@simple_block
def government(
    B: Variable, r: Variable, G: Variable, transfers: Variable, w: Variable, N: Variable
) -> tuple[Array, Array, Array]:
    """Fiscal block: the labour tax rate ``tau`` that balances the budget each period.

    Budget: ``tau w N = (1 + r) B(-1) - B + G + transfers``: taxes on labour income ``w N``
    pay the interest and principal on last period's debt ``B(-1)`` net of new debt ``B``,
    government spending ``G`` and lump-sum ``transfers``. ``r`` is the ex-post real rate paid
    in period t on debt issued at t-1 (SSJ's convention, where the one-asset HANK has
    ``Tax = r B + G`` with constant debt); at the steady state ``tau w N = r B + G +
    transfers``. Outputs: ``tau`` (fraction of labour income), ``tax_revenue = tau w N`` and
    ``deficit = G + transfers + r B(-1) - tax_revenue`` (= ``B - B(-1)``, the new borrowing).
    """
    tax_revenue = (1 + r) * B(-1) - B + G + transfers
    tau = tax_revenue / (w * N)
    deficit = G + transfers + r * B(-1) - tax_revenue
    return tau, tax_revenue, deficit


@simple_block
def asset_market(A: Variable, K: Variable, B: Variable) -> Array:
    """Asset market residual ``asset_mkt = A - K - B``: households' wealth ``A`` less the
    capital stock ``K`` and government debt ``B`` (positive: excess saving)."""
    asset_mkt = A - K - B
    return asset_mkt


@simple_block
def labour_market(N: Variable, L: Variable) -> Array:
    """Labour market residual ``labour_mkt = N - L``: efficiency units households supply
    ``N`` (the government's tax base) less the firm's labour ``L`` (positive: excess supply)."""
    labour_mkt = N - L
    return labour_mkt


@simple_block
def goods_market(Y: Variable, C: Variable, K: Variable, delta: Variable, G: Variable) -> Array:
    """Goods market residual ``goods_mkt = Y - C - I - G`` with investment
    ``I = K - (1 - δ) K(-1)`` (at the steady state ``I = δ K``); positive: excess supply."""
    investment = K - (1 - delta) * K(-1)
    goods_mkt = Y - C - investment - G
    return goods_mkt


# --------------------------------------------------------------------------------------------
# Systems of blocks
# --------------------------------------------------------------------------------------------


def block_outputs(blocks: Sequence[SimpleBlock]) -> dict[str, SimpleBlock]:
    """Each output name and the block producing it; ValueError when two blocks produce the
    same output."""
    producer: dict[str, SimpleBlock] = {}
    for block in blocks:
        for output in block.outputs:
            if output in producer:
                raise ValueError(
                    f"blocks '{producer[output].name}' and '{block.name}' both produce '{output}'"
                )
            producer[output] = block
    return producer


def external_inputs(blocks: Sequence[SimpleBlock]) -> tuple[str, ...]:
    """The inputs no block produces (what a caller must give), in order of first use."""
    producer = block_outputs(blocks)
    seen: dict[str, None] = {}
    for block in blocks:
        for name in block.inputs:
            if name not in producer:
                seen.setdefault(name, None)
    return tuple(seen)


def block_graph_order(blocks: Sequence[SimpleBlock]) -> list[SimpleBlock]:
    """The blocks in an order where each comes after the blocks producing its inputs (ties
    keep the given order); ValueError on a duplicated output or a cycle, naming the blocks."""
    blocks = list(blocks)
    producer = block_outputs(blocks)
    index = {id(block): i for i, block in enumerate(blocks)}
    needs: list[set[int]] = [
        {index[id(producer[name])] for name in block.inputs if name in producer} for block in blocks
    ]
    order: list[int] = []
    done: set[int] = set()
    while len(order) < len(blocks):
        ready = [i for i in range(len(blocks)) if i not in done and needs[i] <= done]
        if not ready:
            raise ValueError(_describe_cycle(blocks, needs, done, producer))
        order.append(ready[0])
        done.add(ready[0])
    return [blocks[i] for i in order]


def _describe_cycle(
    blocks: list[SimpleBlock],
    needs: list[set[int]],
    done: set[int],
    producer: Mapping[str, SimpleBlock],
) -> str:
    remaining = [i for i in range(len(blocks)) if i not in done]
    # walk from a stuck block along unmet dependencies until a block repeats
    path = [remaining[0]]
    while True:
        step = min(needs[path[-1]] - done)
        if step in path:
            cycle = path[path.index(step) :] + [step]
            break
        path.append(step)
    links = []
    for a, b in zip(cycle[:-1], cycle[1:], strict=True):
        via = [name for name in blocks[a].inputs if name in blocks[b].outputs]
        links.append(
            f"'{blocks[a].name}' needs {', '.join(map(repr, via))} from '{blocks[b].name}'"
        )
    names = " -> ".join(f"'{blocks[i].name}'" for i in cycle)
    return f"the blocks form a cycle {names}: " + "; ".join(links)


def evaluate_blocks(
    blocks: Sequence[SimpleBlock],
    values: Mapping[str, Any],
    *,
    steady_state: Mapping[str, Any] | None = None,
    paths: bool = False,
) -> dict[str, Any]:
    """Evaluate ``blocks`` in dependency order and return every input and output.

    At the steady state (``paths=False``) ``values`` are steady-state values. With
    ``paths=True`` ``values`` are paths ``[T]`` of some inputs; every other input is constant
    at its value in ``steady_state``, and lags and leads are filled from ``steady_state``
    (a block output missing from it is computed from the blocks at the steady state); all
    results are paths ``[T]``. ValueError before evaluating anything when two blocks produce
    one output, when the blocks form a cycle, or when an input is provided by nothing.
    """
    order = block_graph_order(blocks)
    producer = block_outputs(blocks)
    given = dict(values)
    for name in given:
        if name in producer:
            raise ValueError(
                f"'{name}' is given in values but block '{producer[name].name}' produces it"
            )
    if paths and steady_state is None:
        raise ValueError("paths=True needs steady_state (to fill lags, leads and constants)")
    steady = dict(steady_state) if steady_state is not None else {}
    available = set(given) | set(steady) | set(producer)
    for block in order:
        for name in block.inputs:
            if name not in available:
                known = ", ".join(sorted(set(given) | set(steady))) or "nothing"
                raise ValueError(
                    f"block '{block.name}' needs input '{name}', which nothing provides "
                    f"(values give: {known})"
                )

    if not paths:
        results: dict[str, Any] = {**steady, **given}
        for block in order:
            results.update(block.steady_state(results))
        return results

    lengths = {name: int(jnp.shape(path)[0]) for name, path in given.items() if jnp.ndim(path)}
    if not lengths:
        raise ValueError("paths=True needs at least one path [T] in values")
    T = next(iter(lengths.values()))
    if any(n != T for n in lengths.values()):
        raise ValueError(f"every path must have the same length, got {lengths}")
    missing_steady = [name for name in given if name not in steady]
    if missing_steady:
        raise ValueError(
            f"steady_state lacks {', '.join(map(repr, missing_steady))}, needed to fill lags and "
            "leads of the paths"
        )

    results = dict(given)
    for block in order:
        if any(name not in steady for name in block.outputs):
            at_steady = block.steady_state(steady)
            for name in block.outputs:
                steady.setdefault(name, at_steady[name])
        for name in block.inputs:
            if name not in results:
                value = _as_float_array(steady[name])
                results[name] = jnp.broadcast_to(value, (T,) + value.shape)
        results.update(block.paths(results, steady, T=T))
    return results
