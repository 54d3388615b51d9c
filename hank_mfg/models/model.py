"""A model: a household block and aggregate blocks, evaluated in dependency order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from hank_mfg.models.household_block import HouseholdBlock

__all__ = ["AggregateBlock", "Model"]


class AggregateBlock(Protocol):
    """What a model needs of an aggregate block (see :mod:`hank_mfg.models.blocks`)."""

    name: str

    @property
    def inputs(self) -> tuple[str, ...]: ...

    @property
    def outputs(self) -> tuple[str, ...]: ...

    def steady_state(self, values: Mapping[str, Any]) -> dict[str, Any]: ...


@dataclass(frozen=True, eq=False)
class Model:
    """A household block and aggregate blocks (firms, government, market clearing …).

    Args:
        household: the :class:`~hank_mfg.models.household_block.HouseholdBlock`.
        blocks: aggregate blocks, in any order: each has ``name``, ``inputs``, ``outputs`` and
            ``steady_state(values) -> {output: value}``.
        name: the model's name.
    """

    household: HouseholdBlock
    blocks: Sequence[AggregateBlock] = ()
    name: str = "model"

    def __post_init__(self) -> None:
        object.__setattr__(self, "blocks", tuple(self.blocks))
        producer: dict[str, str] = {name: self.household.name for name in self.household.outputs}
        for block in self.blocks:
            for name in block.outputs:
                if name in producer:
                    raise ValueError(
                        f"model {self.name!r}: {name!r} is produced by both block "
                        f"{producer[name]!r} and block {block.name!r}"
                    )
                producer[name] = block.name

    @property
    def all_blocks(self) -> tuple[Any, ...]:
        return (self.household, *self.blocks)

    @property
    def outputs(self) -> tuple[str, ...]:
        """Every variable a block produces."""
        return tuple(name for block in self.all_blocks for name in block.outputs)

    @property
    def inputs(self) -> tuple[str, ...]:
        """Every variable some block reads."""
        names = [name for block in self.all_blocks for name in block.inputs]
        return tuple(dict.fromkeys(names))

    def exogenous(self) -> tuple[str, ...]:
        """Inputs no block produces: what the calibration and the unknowns must give."""
        produced = set(self.outputs)
        return tuple(name for name in self.inputs if name not in produced)

    def check_provided(self, given: Sequence[str]) -> None:
        """``ValueError`` naming the first block input that neither ``given`` nor a block
        provides."""
        available = set(given) | set(self.outputs)
        for block in self.all_blocks:
            for name in block.inputs:
                if name not in available:
                    raise ValueError(
                        f"block {block.name!r} needs input {name!r}, which nothing provides "
                        f"(give it in the calibration or as an unknown)"
                    )

    def order(self, given: Sequence[str]) -> tuple[Any, ...]:
        """The blocks (household included) in an order where each block's inputs are given or
        produced by an earlier block."""
        self.check_provided(given)
        available, done, order = set(given), set(), []
        pending = list(self.all_blocks)
        while pending:
            ready = [b for b in pending if all(name in available for name in b.inputs)]
            if not ready:
                names = ", ".join(repr(b.name) for b in pending)
                raise ValueError(f"model {self.name!r}: blocks {names} depend on each other")
            for block in ready:
                order.append(block)
                available.update(block.outputs)
                done.add(id(block))
            pending = [b for b in pending if id(b) not in done]
        return tuple(order)
