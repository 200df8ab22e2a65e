"""Backprop one node at a time for one sample of the 2-2-1 network, and the same in pdb.

``micrograd.trace.backward_steps(E)`` is ``E.backward()`` unrolled into a generator: one
record per interior node, root first, saying what the chain rule added to each child
(child.grad += local derivative · node.grad). This demo prints every record for
E = ½(y − ŷ)² of Net221 (tanh, sample x = (1, 0), y = 1), checks that the walk leaves the
same gradients as ``backward()``, and prints ``explain(E, w11)``: ∂E/∂w11 as the notes'
chain-rule product ∂E/∂ŷ · ∂ŷ/∂z1 · ∂z1/∂a1 · ∂a1/∂w11, with numbers.

The same in a debugger (the demo prints these commands with the installed engine's path
and current line numbers, found with ``inspect``, so they stay right when the engine
changes; pdb wants the absolute path of an imported file):

    python -m pdb demos/step_through.py
    (Pdb) b /path/to/micrograd/engine.py:<the line `grad_output = node.grad` in chain_rule>
    (Pdb) c
    (Pdb) p node.op, node.data, node.grad, node.local_grads
    (Pdb) p [child.label for child in node.children]
    (Pdb) c

or ``python demos/step_through.py --pdb`` for a pdb prompt after each printed step
(``p step.node.grad``, ``p step.updates``; ``c`` goes on).

Run:  python demos/step_through.py [--quick] [--pdb]   (prints only; --out is accepted and
unused so that every demo takes the same options)
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Sequence
from typing import Any

import demo_common

from micrograd.engine import chain_rule, topological_order
from micrograd.losses import half_squared_error
from micrograd.nn import Net221
from micrograd.trace import backward_steps, explain

SAMPLE = ((1.0, 0.0), 1.0)
ENGINE_LINE = "grad_output = node.grad"  # the first line of chain_rule's loop body
TRACE_LINE = "yield BackwardStep("


def source_line(function: Callable[..., Any], text: str) -> tuple[str, int]:
    """(file, line number) of the first line of function's source that contains text."""
    lines, start = inspect.getsourcelines(function)
    for offset, line in enumerate(lines):
        if text in line:
            return inspect.getsourcefile(function) or "?", start + offset
    raise LookupError(f"{function.__qualname__} has no line containing {text!r}")


def pdb_guide() -> str:
    """How to stop at each node of the backward pass in pdb, with today's line numbers."""
    engine_file, engine_line = source_line(chain_rule, ENGINE_LINE)
    trace_file, trace_line = source_line(backward_steps, TRACE_LINE)
    return "\n".join([
        "To step through the same pass in pdb (pdb wants the absolute path of an imported file; "
        "these are this installation's):",
        "  python -m pdb demos/step_through.py",
        f"  (Pdb) b {engine_file}:{engine_line}",
        "  (Pdb) c",
        "  (Pdb) p node.op, node.data, node.grad, node.local_grads",
        "  (Pdb) p [child.label for child in node.children]",
        "  (Pdb) c",
        f"Line {engine_line} is `{ENGINE_LINE}` in chain_rule's loop, which E.backward() runs. "
        "The first stop is the root E (this script calls E.backward() after the walk, to check "
        "it); each `c` moves "
        "to the next node, in the order printed above.",
        f"Or stop in the generator: b {trace_file}:{trace_line} (its `yield`), "
        "then `p node.op, grad_output, node.local_grads` and `p updates`.",
        "Or run `python demos/step_through.py --pdb`: a pdb prompt after each printed step "
        "(`p step.node.grad`, `p step.updates`, `c` to go on).",
    ])


def main(argv: Sequence[str] | None = None) -> int:
    p = demo_common.parser(__doc__, "the same (this demo is instant)")
    p.add_argument("--pdb", action="store_true",
                   help="open pdb after each step of the walk (c goes on to the next)")
    args = p.parse_args(argv)

    net = Net221("tanh")
    (x1, x2), y = SAMPLE
    loss = half_squared_error(net(x1, x2), y)
    y_hat = loss.children[0]
    print(f"E = ½(y − ŷ)² for Net221 (tanh, seed {Net221.DEFAULT_SEED}) at x = ({x1:g}, {x2:g}), "
          f"y = {y:g}: ŷ = {y_hat.data:.4f}, E = {loss.data:.4f}")
    print("The backward pass, one node at a time (micrograd.trace.backward_steps): each line "
          "'child += local·grad → grad' is one use of the chain rule.\n")

    steps = 0
    for steps, step in enumerate(backward_steps(loss), 1):
        print(f"step {steps}: {step}")
        if args.pdb:
            breakpoint()  # p step.node.grad, p step.updates; c goes on
    print()

    nodes = topological_order(loss)
    walked = [node.grad for node in nodes]
    loss.zero_grad()
    loss.backward()
    same = sum(a == node.grad for a, node in zip(walked, nodes))
    print(f"{steps} steps; check: the walk left the same gradient as E.backward() on "
          f"{same} of {len(nodes)} nodes\n")

    print("explain(E, w11): ∂E/∂w11 as the chain rule, the notes' derivation with numbers:")
    print(explain(loss, net.w11))
    print(f"(backward() gives w11.grad = {net.w11.grad!r})\n")
    print(pdb_guide())
    return 0 if same == len(nodes) else 1


if __name__ == "__main__":
    sys.exit(main())
