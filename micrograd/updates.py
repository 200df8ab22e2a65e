"""The training page's parameter table: each optimiser step written as the rule that made it.

The notes' p ← p − lr·∂E/∂p with numbers, SGD's momentum and Adam's m and v, each with the lr
its step took (``Update.lr``); an optimiser whose step this module does not know is written
as its own step, p ← p + Δp, the change it made. Python formats every number.
"""

from __future__ import annotations

import math

from micrograd._numbers import same, short
from micrograd.optim import SGD, Adam, AdamW, Optimizer
from micrograd.record import Recording, Update
from micrograd.steps import signed

__all__ = ["rule_of", "table_columns", "table_rows", "update_rule"]


def rule_of(optimizer: Optimizer) -> str:
    """The update the page writes: "adam", "momentum", "sgd", or "own" for a step it does not
    know (an optimiser that is not SGD, Adam or AdamW, or overrides their step)."""
    step = type(optimizer).step
    if isinstance(optimizer, AdamW):
        return "adam" if step is AdamW.step else "own"
    if isinstance(optimizer, Adam):
        return "adam" if step is Adam.step else "own"
    if isinstance(optimizer, SGD) and step is SGD.step:
        return "momentum" if optimizer.momentum else "sgd"
    return "own"


def _notes_step(update: Update) -> bool:
    """Whether the step was the notes' p ← p − lr·∂E/∂p, bit for bit, with the lr it took
    (an SGD of one's own that decays its lr after each step is; NaN counts as NaN)."""
    return same([b - update.lr * g for b, g in zip(update.before, update.grads)], update.after)


def _rule(recording: Recording, updates: list[Update]) -> str:
    """rule_of the optimiser, but "sgd" for an SGD whose own step was the notes' at every
    one of these updates."""
    rule, opt = rule_of(recording.optimizer), recording.optimizer
    if (rule == "own" and isinstance(opt, SGD) and not opt.momentum and updates
            and all(map(_notes_step, updates))):
        return "sgd"
    return rule


def table_columns(recording: Recording) -> list[str]:
    """The table's column heads for this optimiser."""
    head = ["parameter", "before", "∂E/∂p", "update", "after"]
    rule = rule_of(recording.optimizer)
    if rule == "adam":
        return [*head, "m", "v"]
    if rule == "momentum":
        return [*head, "velocity v"]
    return head


def _lr(recording: Recording) -> str:
    """ "lr = 0.1", or, when the steps took other lrs, the first and the last of them."""
    lrs = [u.lr for f in recording.frames for u in f.updates if u.lr == u.lr]
    if len(set(lrs)) <= 1:
        return f"lr = {short(lrs[0] if lrs else recording.optimizer.lr)}"
    return f"lr as each step took it ({short(lrs[0])} at first, {short(lrs[-1])} at last)"


def update_rule(recording: Recording) -> str:
    """The optimiser's update, as the page's caption writes it."""
    opt = recording.optimizer
    rule = _rule(recording, [u for f in recording.frames for u in f.updates])
    lr = _lr(recording)
    if rule == "adam" and isinstance(opt, Adam):
        b1, b2 = opt.betas
        decay = ""
        if opt.weight_decay:
            decay = (f"; first p ← p·(1 − lr·λ), λ = {short(opt.weight_decay)}"
                     if isinstance(opt, AdamW) else
                     f"; g = ∂E/∂p + λ·p, λ = {short(opt.weight_decay)}")
        return (f"{type(opt).__name__}, {lr}: m ← {short(b1)}·m + "
                f"{short(1 - b1)}·g, v ← {short(b2)}·v + {short(1 - b2)}·g², "
                f"p ← p − lr/(1 − β1ᵗ)·m/(√v/√(1 − β2ᵗ) + ε), ε = {short(opt.eps)}{decay}")
    if rule == "momentum" and isinstance(opt, SGD):
        return (f"SGD with momentum {short(opt.momentum)}, {lr}: "
                f"v ← {short(opt.momentum)}·v + ∂E/∂p, p ← p − lr·v")
    if rule == "own":
        return (f"{type(opt).__name__}'s own step, a rule this page does not know: each row "
                "writes p ← p + Δp, the change the step made")
    return f"the notes' gradient descent, {lr}: p ← p − lr·∂E/∂p"


def table_rows(recording: Recording, update: Update) -> list[list[str]]:
    """One row per parameter: name, before, grad, the update with numbers, after (+ state),
    written with the lr this step took."""
    opt = recording.optimizer
    rule = _rule(recording, [update])
    lr = update.lr if update.lr == update.lr else opt.lr
    rows = []
    for i, name in enumerate(recording.names):
        before, grad, after = update.before[i], update.grads[i], update.after[i]
        if rule == "adam" and isinstance(opt, Adam):
            m, v = update.state["m"][i], update.state["v"][i]
            b1, b2 = opt.betas
            step = lr / (1.0 - b1 ** update.t)
            root = math.sqrt(1.0 - b2 ** update.t)
            start = short(before)
            if opt.weight_decay and isinstance(opt, AdamW):
                start = f"{short(before)}·{short(1.0 - lr * opt.weight_decay)}"
            text = (f"{name} ← {start} − {short(step)}·{signed(short(m))}/(√{short(v)}/"
                    f"{short(root)} + {short(opt.eps)}) = {short(after)}")
            rows.append([short(before), short(grad), text, short(after), short(m), short(v)])
        elif rule == "momentum":
            v = update.state["velocity"][i]
            text = f"{name} ← {short(before)} − {short(lr)}·{signed(short(v))} = {short(after)}"
            rows.append([short(before), short(grad), text, short(after), short(v)])
        elif rule == "own":
            text = (f"{name} ← {short(before)} + {signed(short(after - before))} = "
                    f"{short(after)}")
            rows.append([short(before), short(grad), text, short(after)])
        else:
            text = f"{name} ← {short(before)} − {short(lr)}·{signed(short(grad))} = {short(after)}"
            rows.append([short(before), short(grad), text, short(after)])
    return rows
