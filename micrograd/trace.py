"""Backprop, shown: one name for three modules, one idea each (read them in this order).

- ``micrograd.steps``: ``backward_steps(root)``, the backward pass one node at a time, each
  chain-rule term with its local derivative as a formula (``local_formula``);
- ``micrograd.paths``: ``explain(root, wrt)``, ∂root/∂wrt as the sum over paths root → wrt
  of the product of the local derivatives along each (``chain_paths``, ``derivation``);
- ``micrograd.grading``: ``check(root, answers)``, a hand derivation marked node by node.

Their names are here too, so ``micrograd.trace.backward_steps`` and the rest keep working.
"""

from __future__ import annotations

from micrograd.grading import ANSWER_TOLERANCE, CheckReport, Mark, Term, accepted, check
from micrograd.paths import ChainPath, Derivation, chain_paths, derivation, explain, explain_each
from micrograd.steps import (
    BackwardStep,
    ChildUpdate,
    backward_steps,
    local_formula,
    local_formula_numbers,
)
from micrograd.walk import node_names

__all__ = [
    "ANSWER_TOLERANCE",
    "BackwardStep",
    "ChainPath",
    "CheckReport",
    "ChildUpdate",
    "Derivation",
    "Mark",
    "Term",
    "accepted",
    "backward_steps",
    "chain_paths",
    "check",
    "derivation",
    "explain",
    "explain_each",
    "local_formula",
    "local_formula_numbers",
    "node_names",
]
