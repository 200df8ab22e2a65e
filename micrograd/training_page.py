"""The training page: one self-contained HTML file that replays a run ``train(..., page=...)`` made.

A timeline over the recorded epochs (``micrograd.record``): the loss curve with a cursor,
the parameter table of the selected sample's update (the notes' p ← p − lr·∂E/∂p with
numbers; Adam's m, v and step), the model's output over the input plane for 2-input
models with the data points, a network view (neurons and weight edges) for Net221 and MLP,
and the selected sample's graph stepping through backward with the backprop page's own
stepper (page.js): the very forward and backward pass train() ran for that sample in that
epoch, rebuilt here at the parameters recorded just before its update and checked to give
the grads train() used, bit for bit.

This module is what the page holds (the frames, packed; the data its script reads) and
writes it; how the pictures are drawn is ``micrograd.training_svg``, how each update is
written in the parameter table ``micrograd.updates``.

What a page holds: the frames ``history.recording`` kept; the updates and sample graphs of
its detail samples on its detail frames (the page lists both); on a large graph (more than
``EXPLAIN_LEAVES`` leaves) no explain() texts, no graph over ``DRAWN_NODES`` nodes (the
network view instead), and graphs on at most ``GRAPH_NODES`` recorded nodes. Python formats
every number; the script does no arithmetic on values.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from micrograd._files import check_writable, write_atomic
from micrograd._numbers import number, preview, same, short
from micrograd.engine import Value
from micrograd.nn import MLP, Module, Net221
from micrograd.page import (
    DOCUMENT_HEAD,
    KEYS,
    STEPPER_CONTROLS,
    STEPPER_PANELS,
    asset,
    embed_json,
    record,
)
from micrograd.record import Frame, Recording, TrainHistory, evenly
from micrograd.training_svg import (
    Heat,
    Plane,
    Sample,
    edge_styles,
    graph_svg,
    heat_legend,
    heat_svg,
    loss_svg,
    network_layout,
    network_svg,
    sample_text,
)
from micrograd.updates import table_columns, table_rows, update_rule
from micrograd.walk import walk

__all__ = ["DRAWN_NODES", "EXPLAIN_LEAVES", "GRAPH_FRAMES", "GRAPH_NODES", "HEAT_EVALS", "Packer",
           "check_page", "table_columns", "table_rows", "unpack", "update_rule", "write_page"]

#: A sample graph with more leaves than this has no explain() texts on the page.
EXPLAIN_LEAVES = 40
#: The sample graphs on a page hold at most this many nodes in all (records × nodes).
GRAPH_NODES = 12_000
#: A sample graph of more nodes than this is not drawn (the network view stands in for it).
DRAWN_NODES = 1_000
#: Graphs go to as few samples as leave room for this many epochs of each (if the run has them).
GRAPH_FRAMES = 5
#: The heatmaps of a page evaluate at most about this many op nodes (grid × frames × nodes).
HEAT_EVALS = 1_000_000

# A number inside the JSON text of a record: what pack() takes out into a record's values.
# A negative number in a formula is written in parentheses, "(-0.5)": taken out whole, so a
# record whose numbers change sign keeps its template.
_NUMBER = re.compile(r"\(-\d+(?:\.\d+)?(?:e[-+]?\d+)?\)"
                     r"|(?<![\w.#])-?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![\w.])")


def check_page(path: str | os.PathLike[str], samples: list[Sample]) -> None:
    """ValueError or OSError, before training, if path cannot take the training page; TypeError
    if the page cannot draw the samples (inputs that are not numbers: a Value's grads would
    change)."""
    if Path(path).suffix.lower() != ".html":
        raise ValueError(f"train: page must be an .html file, got {preview(str(path), 200)}")
    for i, (inputs, _) in enumerate(samples):
        bad = next((v for v in inputs if number(v) is None), None)
        if bad is not None:
            raise TypeError(f"train: page= draws samples whose inputs are numbers; data[{i}] "
                            f"has {preview(bad)} (give its .data)")
    check_writable(path)


# ---- packing: records of one shape share their text, and keep only their numbers --------


class Packer:
    """Records as (template, numbers): a template is records' JSON text with their numbers out.

    Records of one graph at other epochs differ only in their numbers, so they share their
    text. ``pack`` files a record under its number-free text and returns its reference, an
    empty list; ``templates()`` then fills every reference in with [template index, "n0|n1|…"]:
    a number that is the same in every record of a template stays in its text, and positions
    whose numbers are equal in every record share one slot. The page puts the numbers back
    (string joining, no arithmetic): see ``unpack``.
    """

    def __init__(self) -> None:
        self._groups: dict[tuple[str, ...], list[tuple[list[Any], list[str]]]] = {}

    def pack(self, data: Any) -> list[Any]:
        """data's reference, filled in by templates()."""
        text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        ref: list[Any] = []
        self._groups.setdefault(tuple(_NUMBER.split(text)), []).append(
            (ref, _NUMBER.findall(text)))
        return ref

    def templates(self) -> list[dict[str, Any]]:
        """The templates: {"pieces": texts between slots, "same": [position, slot, …]}.

        Slot k of a record's numbers fills position k of its template unless "same" names an
        earlier slot for that position: a number equal to an earlier one in every record, or
        (slot −1 − j) to slot j's number with the other sign.
        """
        out: list[dict[str, Any]] = []
        for pieces, members in self._groups.items():
            texts, same = [pieces[0]], []
            slot_of: dict[tuple[str, ...], int] = {}
            for column, after in zip(zip(*(numbers for _, numbers in members)), pieces[1:]):
                if len(set(column)) == 1:  # one number in every record: part of the text
                    texts[-1] += column[0] + after
                    continue
                negated = tuple(map(_negated, column))
                if column in slot_of:
                    same += [len(texts) - 1, slot_of[column]]
                elif negated in slot_of:
                    same += [len(texts) - 1, -1 - slot_of[negated]]
                else:
                    slot_of[column] = len(slot_of)
                texts.append(after)
            for m, (ref, _) in enumerate(members):
                ref[:] = [len(out), "|".join(column[m] for column in slot_of)]
            out.append({"pieces": texts, "same": same})
        return out


def _negated(number: str) -> str:
    """The number's text with the other sign ("" for a number in parentheses: none)."""
    if number.startswith("("):
        return ""
    return number[1:] if number.startswith("-") else f"-{number}"


def unpack(template: dict[str, Any], ref: list[Any]) -> Any:
    """A packed record back (as the page's unpack does it): its template with its numbers in."""
    values, same, texts = ref[1].split("|"), template["same"], template["pieces"]
    text, new, r = texts[0], 0, 0
    for i, after in enumerate(texts[1:]):
        if r < len(same) and same[r] == i:
            slot, r = same[r + 1], r + 2
        else:
            slot, new = new, new + 1
        text += (values[slot] if slot >= 0 else _negated(values[-1 - slot])) + after
    return json.loads(text)


# ---- the page --------------------------------------------------------------------------------


def write_page(path: str | os.PathLike[str], history: TrainHistory, model: Module,
               samples: list[Sample], loss: Callable[[Any, Any], Value]) -> Path:
    """Write the training page of a recorded run to path (atomically); returns the path."""
    recording = history.recording
    if recording is None or not recording.frames:
        raise ValueError("training page: the run recorded no epoch (epochs=0?)")
    params = [p for _, p in model.named_parameters()]
    saved = [(p.data, p.grad) for p in params]
    try:
        data, drawings = _page_data(history, recording, model, params, samples, loss)
    finally:
        for p, (d, g) in zip(params, saved):
            p.data, p.grad = d, g
    title = f"training run · {type(model).__name__} · micrograd"
    page = (DOCUMENT_HEAD + asset("training_page.html")).format(
        controls=STEPPER_CONTROLS, panels=STEPPER_PANELS, title=html.escape(title),
        heading=html.escape(f"Watch {_model_text(model)} learn, epoch by epoch"),
        lede=_LEDE, keys=html.escape(KEYS),
        css=asset("page.css") + asset("training_page.css"),
        loss=data.pop("loss_svg_markup"), heat=data.pop("heat_svg_markup"),
        net=data.pop("net_svg_markup"), data=embed_json(data),
        drawings="".join(f'<template id="drawing-{k}">{svg}</template>'
                         for k, svg in enumerate(drawings)),
        js=asset("page.js"), tjs=asset("training_page.js"))
    path = Path(path)
    write_atomic(path, page.encode("utf-8"))
    return path


def _page_data(history: TrainHistory, recording: Recording, model: Module, params: list[Value],
               samples: list[Sample], loss: Callable[[Any, Any], Value]
               ) -> tuple[dict[str, Any], list[str]]:
    frames = recording.frames
    packer = Packer()
    curve, cursor = loss_svg(history.losses)
    layers = network_layout(model)
    scale = max((abs(v) for f in frames for v in f.start if math.isfinite(v)), default=1.0)
    # the plane: 2 inputs, and targets that are numbers (one output's, or classes), not lists
    two_inputs = all(len(x) == 2 and not isinstance(t, (list, tuple)) for x, t in samples)
    plane = heat = None
    heat_markup = ""
    if two_inputs:
        probe = Plane(model, samples, 2)
        nodes = max(1, len(probe.program))
        grid = max(8, min(24, int(math.sqrt(HEAT_EVALS / (nodes * len(frames))))))
        plane = Plane(model, samples, grid)
        heat = Heat(samples, len(plane.outputs))
        heat_markup = heat_svg(plane, heat, samples)

    # which (frame, sample) pairs get a graph: within GRAPH_NODES, as many detail samples as
    # leave room for GRAPH_FRAMES epochs, then as many detail epochs as fit
    detail_frames = [i for i, f in enumerate(frames) if f.updates]
    pool = recording.samples if recording.per_sample else evenly(len(samples), 4)
    probe_root = loss(model(*samples[0][0]), samples[0][1])
    probe_nodes = walk(probe_root).order
    graph_nodes = len(probe_nodes)
    fit = max(1, GRAPH_NODES // (graph_nodes * GRAPH_FRAMES))
    graph_samples = [pool[i] for i in evenly(len(pool), fit)] if graph_nodes <= DRAWN_NODES \
        else []
    per_frame = max(1, graph_nodes * len(graph_samples))
    graph_frames = sorted({detail_frames[i] for i in evenly(len(detail_frames),
                                                            max(2, GRAPH_NODES // per_frame))}
                          ) if graph_samples else []
    graph_set = set(graph_frames)
    explained = sum(1 for n in probe_nodes if n.is_leaf) <= EXPLAIN_LEAVES

    nearest = [min(graph_frames, key=lambda g: (abs(frames[g].epoch - f.epoch), g))
               for f in frames] if graph_frames else []
    drawings: list[tuple[Any, Value, list[str], list[str], list[float], list[float]]] = []
    out_frames = []
    columns = table_columns(recording)
    widths = [max(len(c) for c in (columns[0], *recording.names)), *map(len, columns[1:])]
    moved: dict[int, int] = {}  # per sample of the first graphs, how many grads are not 0
    for i, frame in enumerate(frames):
        for p, v in zip(params, frame.start):
            p.data = v
        start, end = [short(v) for v in frame.start], [short(v) for v in frame.end]
        widths[1] = max(widths[1], *map(len, start))
        widths[4] = max(widths[4], *map(len, end))
        entry: dict[str, Any] = {"epoch": frame.epoch, "loss": short(frame.loss),
                                 "cursor": cursor(frame.epoch),
                                 "values": packer.pack(start + end),
                                 "edges": edge_styles(frame.start, scale), "details": {}}
        if graph_frames:  # the frame whose graphs this epoch shows: the nearest that has them
            entry["graph"] = nearest[i]
        if plane is not None and heat is not None:
            outputs = plane.values()
            entry["heat"] = "".join(heat.code(outs) for outs in outputs)
            entry["spread"] = heat.spread(outputs)
        updates = {u.sample: u for u in frame.updates}
        for s in (recording.samples if recording.per_sample else graph_samples):
            update = updates.get(s) if recording.per_sample else updates.get(None)
            detail: dict[str, Any] = {}
            if update is not None:
                detail["rows"] = table_rows(recording, update)
                for row in detail["rows"]:
                    widths[1:] = [max(w, len(t)) for w, t in zip(widths[1:], row)]
                detail["sample_loss"] = short(update.loss)
                detail["edges"] = edge_styles(update.before, scale)
            if i in graph_set and s in graph_samples:
                before = update.before if (update is not None and recording.per_sample) \
                    else frame.start
                detail["graph"], detail["drawing"] = _graph(
                    model, params, samples[s], loss, before, drawings, explained,
                    update.grads if (update is not None and recording.per_sample) else None)
                if i == graph_frames[0]:
                    moved[s] = sum(h[-1][1] != "0" for h in detail["graph"]["grads"])
            if detail:
                entry["details"][str(s)] = _pack_detail(packer, detail)
        out_frames.append(entry)

    svgs = [graph_svg(root, data_at, grad_at, params)
            for _, root, _, _, data_at, grad_at in drawings]
    held = _held_text(recording, frames, detail_frames, graph_frames, graph_samples,
                      len(samples), explained, graph_nodes)
    names = recording.names
    data: dict[str, Any] = {
        "names": names,
        "columns": columns,
        "widths": widths,  # each column's widest text, in characters: the table's fixed layout
        "rule": update_rule(recording),
        "per_sample": recording.per_sample,
        "epochs": recording.epochs,
        # the page opens on the sample whose first graph has the most grads that are not 0
        "open_sample": max(moved, key=lambda s: (moved[s], -s)) if moved else 0,
        "kept": "" if len(frames) == recording.epochs else (
            f"The page keeps {len(frames)} of the {recording.epochs} epochs, evenly spaced "
            "(◀ ▶ move between them)."),
        "reason": str(history.reason),
        "frames": out_frames,
        "templates": packer.templates(),
        "samples": [sample_text(x, t) for x, t in samples],
        "detail_samples": recording.samples if recording.per_sample else pool,
        "graph_samples_text": _list(graph_samples),
        "held": held,
        "heat_svg_markup": heat_markup,
        "palette": heat.palette if heat else [],
        "legend": heat_legend(heat, samples) if heat else "",
        "net_svg_markup": network_svg(layers) if layers else "",
        "summary": (f"{type(model).__name__} on {len(samples)} samples, "
                    f"{'per-sample' if recording.per_sample else 'full-batch'} updates; "
                    f"{recording.epochs} epochs run, stopped: {history.reason}"),
        "loss_svg_markup": curve,
    }
    return data, svgs


def _pack_detail(packer: Packer, detail: dict[str, Any]) -> dict[str, Any]:
    """The detail's numbers packed (its graph's with its table's: they share many); its edge
    codes and drawing index (-1: no graph) beside them."""
    out: dict[str, Any] = {"edges": detail.pop("edges", ""), "drawing": detail.pop("drawing", -1)}
    out["packed"] = packer.pack(detail)
    return out


def _graph(model: Module, params: list[Value], sample: Sample, loss: Callable[[Any, Any], Value],
           before: list[float], drawings: list[Any], explained: bool,
           grads: list[float] | None) -> tuple[dict[str, Any], int]:
    """The sample's graph at the parameters ``before``, recorded for the stepper.

    With ``grads`` (train()'s, per sample), the rebuilt graph's backward() must give them
    bit for bit, or RuntimeError.
    """
    for p, v in zip(params, before):
        p.data = v
    inputs, target = sample
    root = loss(model(*inputs), target)
    rec = record(root, explained)
    if grads is not None:
        for p in params:
            p.grad = 0.0
        root.backward()
        if not same([p.grad for p in params], grads):
            raise RuntimeError("training page: the rebuilt sample graph's grads differ from "
                               "the ones train() used")
    order = rec.order
    key = tuple((rec.walk.names[n], n.op_symbol, tuple(rec.walk.index[c] for c in n.children))
                for n in order)
    k = next((i for i, entry in enumerate(drawings) if entry[0] == key), len(drawings))
    if k == len(drawings):
        drawings.append((key, root, [""] * len(order), [""] * len(order),
                         [0.0] * len(order), [0.0] * len(order)))
    _, _, wide_data, wide_grad, data_at, grad_at = drawings[k]
    for i, node in enumerate(order):
        text = short(node.data)
        if len(text) > len(wide_data[i]):
            wide_data[i], data_at[i] = text, node.data
        for _, g in rec.data["grads"][i]:
            if len(g) > len(wide_grad[i]):
                wide_grad[i], grad_at[i] = g, float(g)
    drawings[k] = (key, drawings[k][1], wide_data, wide_grad, data_at, grad_at)
    return rec.data, k


_LEDE = ("The run train() made, replayed. First press → (or ▶ of the backward pass): the "
         "sample's graph runs backward() one node at a time; then move the epochs (↑ ↓) and "
         "watch the loss, the plane and the weights change.")


def _model_text(model: Module) -> str:
    """ "MLP 2-8-8-1 (relu)": the model's kind, sizes and activation, for the heading."""
    if isinstance(model, Net221):
        return f"the notes' 2-2-1 network ({model.activation})"
    if isinstance(model, MLP):
        return f"MLP {'-'.join(map(str, [model.nin, *model.nouts]))} ({model.activation})"
    return type(model).__name__


def _held_text(recording: Recording, frames: list[Frame], detail_frames: list[int],
               graph_frames: list[int], graph_samples: list[int], n_samples: int,
               explained: bool, graph_nodes: int) -> str:
    """What the page holds, in words: its epochs, samples, updates and graphs."""
    epochs = [f.epoch + 1 for f in frames]  # counted from 1, as the command line prints them
    if len(epochs) == recording.epochs:
        text = f"This page holds every epoch of the run (1 to {epochs[-1]})."
    else:
        text = (f"This page holds {len(epochs)} of the {recording.epochs} epochs, evenly "
                f"spaced, the first and the last included: {_list(epochs)}.")

    def which(chosen: list[int]) -> str:
        return "every sample" if len(chosen) == n_samples else (
            f"samples {_list(chosen)} (of {n_samples})")

    def when(chosen: list[int]) -> str:
        return "on every epoch it holds" if len(chosen) == len(frames) else (
            f"on epochs {_list([frames[i].epoch + 1 for i in chosen])}")

    if recording.per_sample:
        text += f" Parameter updates: {which(recording.samples)}, {when(detail_frames)}."
    else:
        text += f" Parameter updates (one full-batch step per epoch): {when(detail_frames)}."
    if not graph_samples:
        return text + (f" Backward step-through: none; a sample's graph has {graph_nodes:,} "
                       f"nodes, more than the {DRAWN_NODES:,} a page draws (the network view "
                       "shows the model).")
    text += (f" Backward step-through: {which(graph_samples)}, {when(graph_frames)}; another "
             "epoch shows the nearest of these.")
    if not explained:
        text += (f" The graph has more than {EXPLAIN_LEAVES} leaves: the node panel leaves "
                 "out explain()'s path-by-path texts.")
    return text


def _list(xs: list[int], limit: int = 14) -> str:
    if len(xs) <= limit:
        return ", ".join(map(str, xs))
    return ", ".join(map(str, xs[: limit - 4])) + ", …, " + ", ".join(map(str, xs[-3:]))
