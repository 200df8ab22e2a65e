"""The one walk over a graph: its nodes in order, each with the name every view shows.

``walk(root)`` runs ``topological_order(root)`` once (root first, leaves included, each node
before its children) and names each node: its label, ``v<i>`` (its index in the order) if it
has none, ``label#<i>`` if the label repeats. Drawings, explanations, the pages and the
compiler all take their order and their names from here, so a node is called the same
everywhere, and a view walks a graph once however many nodes it explains.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from micrograd.engine import Value, topological_order

__all__ = ["Walk", "node_names", "walk", "walk_of"]


@dataclass(frozen=True, eq=False)
class Walk:
    """A graph's nodes in topological order (root first) with their names and positions."""

    root: Value
    order: list[Value]  # topological_order(root): node i is drawn as v<i>
    names: dict[Value, str] = field(repr=False)  # node -> its name, in the order's order
    index: dict[Value, int] = field(repr=False)  # node -> its position i in order

    @property
    def interior(self) -> list[Value]:
        """The nodes made by ops, in backward()'s order: root first, each before its children."""
        return [node for node in self.order if not node.is_leaf]


def walk(root: Value) -> Walk:
    """Walk root's graph once: its topological order and every node's name."""
    if not isinstance(root, Value):
        raise TypeError(f"root must be a Value, got {type(root).__name__}")
    order = topological_order(root)
    return Walk(root, order, dict(zip(order, node_names(order))),
                {node: i for i, node in enumerate(order)})


def walk_of(root: Value, walked: Walk | None) -> Walk:
    """The walk of root's graph: ``walked`` if the caller has it (checked), else walk(root)."""
    if walked is None:
        return walk(root)
    if walked.root is not root:
        raise ValueError("the walk given is of another graph than root's")
    return walked


def node_names(order: Sequence[Value]) -> list[str]:
    """Names for the nodes of ``order``: the label, "v<i>" if none, "label#<i>" if it repeats.

    A made-up name never equals a label of the graph (a node labelled "v1" beside an
    unlabelled node 1): it gets "_" in front until it does not, so every name is unique.
    """
    seen: dict[str, int] = {}
    for node in order:
        if node.label:
            seen[node.label] = seen.get(node.label, 0) + 1
    names = []
    for i, node in enumerate(order):
        if node.label and seen[node.label] == 1:
            names.append(node.label)
            continue
        name = f"{node.label}#{i}" if node.label else f"v{i}"
        while name in seen:
            name = "_" + name
        names.append(name)
    return names
