// The training page's script: a timeline over the epochs micrograd recorded (#training-data).
// Every number it shows is a string formatted by Python; it does no arithmetic on them.
// Labels are set with textContent only. The sample's graph is page.js's stepper.
"use strict";
(function () {
  const T = JSON.parse(document.getElementById("training-data").textContent);
  const $ = (id) => document.getElementById(id);
  const frames = T.frames, names = T.names, lastFrame = frames.length - 1;
  const cells = [...document.querySelectorAll("#heat rect.cell")];
  const points = [...document.querySelectorAll("#heat circle.point")];
  const weights = [...document.querySelectorAll("#net line.w")];

  const negated = (t) => (t.startsWith("-") ? t.slice(1) : "-" + t); // a sign, as text

  // A packed record: its template's texts with its numbers put back (joining strings; the
  // counters only pick which number goes where). training_page.Packer says how.
  function unpack(ref) {
    const t = T.templates[ref[0]], texts = t.pieces, same = t.same, values = ref[1].split("|");
    let text = texts[0], fresh = 0, r = 0;
    for (let i = 1; i < texts.length; i++) {
      let slot;
      if (r < same.length && same[r] === i - 1) {
        slot = same[r + 1];
        r += 2;
      } else {
        slot = fresh++;
      }
      text += (slot >= 0 ? values[slot] : negated(values[-1 - slot])) + texts[i];
    }
    return JSON.parse(text);
  }

  let frame = 0, sample = T.open_sample, stepper = null, drawing = -1, detail = null;
  let values = null;
  const numbered = (f) => frames[f].epoch + 1; // epochs count from 1, as the CLI prints them
  let timer = null;

  // ---- deep links: #epoch=E&sample=S&step=N ---------------------------------------------
  // E counts from 1 as the page does; any other text than digits or "end" is the default.
  // Digits are compared as integers (BigInt): no float rounds two epochs alike.

  function nearestFrame(text) { // the recorded epoch nearest to epoch E (the earlier on a tie)
    const epoch = BigInt(text) - 1n, gap = (i) => {
      const d = BigInt(frames[i].epoch) - epoch;
      return d < 0n ? -d : d;
    };
    let lo = 0, hi = lastFrame; // frames are in epoch order: the last at or before, or the first
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (BigInt(frames[mid].epoch) <= epoch) lo = mid;
      else hi = mid - 1;
    }
    return lo < lastFrame && gap(lo + 1) < gap(lo) ? lo + 1 : lo;
  }

  function count(text, end, otherwise) { // digits as a number (huge ones past any end)
    if (text === "end") return end;
    return /^\d+$/.test(text || "") ? Number(text) : otherwise;
  }

  function readHash() {
    const params = new URLSearchParams(location.hash.slice(1));
    const e = params.get("epoch");
    const f = e === "end" ? lastFrame : /^\d+$/.test(e || "") ? nearestFrame(e) : 0;
    const s = Math.min(count(params.get("sample"), Infinity, T.open_sample), T.samples.length - 1);
    return [f, s, count(params.get("step"), Infinity, 0)];
  }

  // The hash follows the state once the moves settle (writing it on every step of a played
  // or scrubbed run costs more than the redraw).
  let hashTimer = null;
  function writeHash(step) { // step: the stepper's new step (it calls this before moving)
    const k = step !== undefined ? step : stepper && shown ? stepper.current : 0;
    const hash = (stepper && stepper.quizOn ? "#quiz&" : "#") + "epoch=" + numbered(frame) +
      "&sample=" + sample + "&step=" + k;
    clearTimeout(hashTimer);
    hashTimer = setTimeout(() => {
      hashTimer = null;
      if (location.hash === hash) return;
      try {
        history.replaceState(null, "", hash);
      } catch (e) { // some browsers refuse replaceState on a page opened from disk
        location.replace(hash);
      }
      document.body.dataset.hash = hash;
    }, 150);
  }

  // ---- the parameter table --------------------------------------------------------------

  // The table's rows and columns are made once, its column widths fixed (T.widths, Python's
  // widest text of each): an epoch without this sample's update shows its start in "before"
  // and its end in "after", the other cells empty. A move rewrites the texts of the rows in
  // view (and a margin) at once, the others in small batches after the frame is painted or
  // as soon as they scroll into view: body[data-table] is the state ("frame:sample") every
  // row shows once all are written.
  let tableKey = "", filled = [], fillTimer = null, rowHeight = 0;
  const after = T.columns.indexOf("after"); // the column an epoch's end goes to

  // In quiz mode a parameter's grad, update and what follows show once the sample's graph
  // has had its steps into that parameter answered (page.js's stepper says which).
  const hidden = (i) => !!(stepper && shown && stepper.hides(names[i]));
  const hiding = () => names.map((_, i) => (hidden(i) ? "1" : "0")).join("");
  let mask = ""; // hiding() as the table shows it: "1" for each parameter the quiz hides

  function fillRow(i) {
    if (filled[i] === tableKey) return;
    const cells = $("params").tBodies[0].rows[i].cells, rows = detail && detail.rows;
    const secret = mask[i] === "1";
    for (let j = 1; j < cells.length; j++) {
      const text = secret && j > 1 ? (j === 2 ? "?" : "") : rows ? rows[i][j - 1]
        : j === 1 ? values[i] : j === after ? values[names.length + i] : "";
      if (cells[j].textContent !== text) cells[j].textContent = text;
    }
    filled[i] = tableKey;
  }

  let viewTop = 0, viewHeight = 0; // the scroll box's, kept by its scroll event (no layout read)
  function fillInView() {
    if (!rowHeight) { // measured once, with the first rows written
      const box = $("params").parentElement;
      for (let i = 0; i < Math.min(names.length, 40); i++) fillRow(i);
      rowHeight = $("params").tBodies[0].rows[0].getBoundingClientRect().height || 20;
      viewHeight = box.clientHeight || 400;
      box.addEventListener("scroll", () => {
        viewTop = box.scrollTop;
        fillInView();
      }, {passive: true});
    }
    const top = Math.floor(viewTop / rowHeight) - 20;
    const end = Math.ceil((viewTop + viewHeight) / rowHeight) + 20;
    for (let i = Math.max(0, top); i < Math.min(names.length, end); i++) fillRow(i);
    done();
  }

  function fillRest() {
    let budget = 60;
    for (let i = 0; i < names.length && budget > 0; i++) {
      if (filled[i] !== tableKey) { fillRow(i); budget--; }
    }
    if (!done()) fillTimer = setTimeout(fillRest, 0);
  }

  function done() {
    let all = true;
    for (let i = 0; i < names.length && all; i++) all = filled[i] === tableKey;
    document.body.dataset.table = all ? tableKey : "";
    return all;
  }

  function table() {
    const head = $("params").tHead, body = $("params").tBodies[0];
    if (!head.rows.length) {
      const row = head.insertRow();
      T.columns.forEach((text, j) => { // fixed widths: a move lays out no column anew
        const th = row.appendChild(document.createElement("th"));
        th.textContent = text;
        th.style.width = T.widths[j] + "ch";
      });
      names.forEach((name, i) => {
        const r = body.insertRow();
        r.dataset.p = String(i);
        r.insertCell().textContent = name;
        for (let j = 1; j < T.columns.length; j++) r.insertCell();
      });
    }
    const e = numbered(frame), rows = detail && detail.rows;
    mask = hiding();
    tableKey = frame + ":" + sample + ":" + mask;
    fillInView();
    clearTimeout(fillTimer);
    fillTimer = setTimeout(fillRest, 0);
    if (rows) {
      $("table-title").textContent = T.per_sample
        ? "Epoch " + e + ", sample " + sample + ": the update this sample's gradient makes " +
          "(E of this sample " + detail.sample_loss + ")"
        : "Epoch " + e + ": the full-batch update (the mean of every sample's gradient)";
      $("rule").textContent = "Update rule: " + T.rule + ". before = the parameter just " +
        "before this update, after = just after it." + (mask.includes("1") ? " Check " +
        "yourself: a ? is a grad the sample's graph asks for; it shows once answered." : "");
    } else {
      $("table-title").textContent = "Epoch " + e + ": the parameters at its start (before) " +
        "and its end (after)";
      $("rule").textContent = "The page holds no update of sample " + sample + " at this " +
        "epoch (see the note at the bottom for what it holds). Update rule: " + T.rule + ".";
    }
  }

  // ---- the plane, the network, the loss cursor --------------------------------------------

  let painted = null; // the heat codes the cells show
  function plane() {
    const heat = frames[frame].heat;
    if (heat && heat !== painted) { // only the cells whose colour changed
      cells.forEach((c, i) => {
        if (!painted || heat[i] !== painted[i]) c.setAttribute("fill", T.palette[parseInt(heat[i], 36)]);
      });
      painted = heat;
    }
    const spread = $("spread");
    if (spread && spread.textContent !== (frames[frame].spread || "")) {
      spread.textContent = frames[frame].spread || "";
    }
    points.forEach((p, i) => p.classList.toggle("selected", i === sample));
  }

  function network() {
    const codes = detail && detail.edges ? detail.edges : frames[frame].edges;
    for (const w of weights) {
      const c = codes[Number(w.dataset.p)];
      if (w.tagName === "line" && w.dataset.c !== c) w.dataset.c = c;
    }
  }

  function describe(el) { // the hover text of a weight or a neuron (its bias)
    if (el.dataset.p === undefined) {
      return el.dataset.name + ": an input. Sample " + sample + ": " + T.samples[sample];
    }
    const i = Number(el.dataset.p), name = names[i];
    const what = el.tagName === "line" ? "weight " : "neuron, bias ";
    if (hidden(i)) {
      return what + name + " = " + (detail && detail.rows ? detail.rows[i][0] + " (just " +
        "before this update)" : values[i] + " at the start of epoch " + numbered(frame)) +
        "\n∂E/∂" + name + " = ? (check yourself: the sample's graph asks for it)";
    }
    if (detail && detail.rows) {
      const r = detail.rows[i];
      return what + name + " = " + r[0] + " (just before this update)\n∂E/∂" + name + " = " +
        r[1] + "\n" + r[2];
    }
    return what + name + " = " + values[i] + " at the start of epoch " + numbered(frame) +
      ", " + values[names.length + i] + " at its end";
  }

  let hovered = null;
  function hover(el) {
    if (hovered) hovered.classList.remove("hover");
    for (const row of document.querySelectorAll("#params tr.hover")) row.classList.remove("hover");
    hovered = el;
    if (!el) return;
    el.classList.add("hover");
    $("net-info").textContent = describe(el);
    const row = document.querySelector('#params tr[data-p="' + el.dataset.p + '"]');
    if (row) row.classList.add("hover");
  }
  const net = $("net");
  if (net) {
    net.addEventListener("mouseover", (e) => {
      const hit = e.target.closest("line.hit, line.w, circle.n"); // a wide line over each weight
      if (hit) hover(hit.classList.contains("hit") ? weights.find((w) => w.dataset.p ===
        hit.dataset.p) : hit);
    });
  }

  // ---- the sample's graph: page.js's stepper -------------------------------------------------
  // An epoch shows the graphs of the nearest epoch that has them (entry.graph, Python's pick).
  // One drawing per graph shape; moving the epoch only feeds the stepper that epoch's numbers,
  // and only when they are another record's. A move by the controls feeds it after the
  // frame is painted (the loss, table, plane and network first): see later().

  let shown = null; // the record on the stepper: "frame:sample"

  function heldGraph() { // [frame index, packed detail] of the graph this state shows, or null
    const at = frames[frame].graph;
    const held = at === undefined ? null : frames[at].details[String(sample)];
    return held && held.drawing >= 0 ? [at, held] : null;
  }

  function graph(k) {
    const found = heldGraph(), e = numbered(frame);
    $("stepper").hidden = $("stepper-controls").hidden = !found;
    $("no-graph").hidden = !!found;
    if (!found) {
      shown = null;
      $("graph-title").textContent = "Sample " + sample + "'s graph at epoch " + e;
      $("no-graph").textContent = "This page holds no backward pass of sample " + sample +
        (T.graph_samples_text ? ": pick one of samples " + T.graph_samples_text : "") + ". " +
        T.held;
      document.body.dataset.graphEpoch = "";
      return;
    }
    const [at, held] = found, g = numbered(at), key = at + ":" + sample;
    $("graph-title").textContent = "Sample " + sample + " (" + T.samples[sample] + ") at " +
      "epoch " + g + ": the forward and backward pass train() ran" +
      (T.per_sample ? ", with the parameters just before this sample's update" :
        ", at the epoch's parameters (the full-batch update uses the mean over the samples)") +
      (at === frame ? "" : ". (The page holds no backward pass at epoch " + e + "; epoch " + g +
        " is the nearest it holds.)");
    if (key === shown) {
      if (k !== undefined) stepper.show(Math.min(k, stepper.last), false);
      return;
    }
    const record = at === frame ? detail.graph : unpack(held.packed).graph;
    let svg = null;
    if (held.drawing !== drawing) { // another shape: its drawing, copied once per switch
      svg = document.getElementById("drawing-" + held.drawing).content
        .querySelector("svg").cloneNode(true);
      $("graph").replaceChildren(svg);
      drawing = held.drawing;
    }
    const step = Math.min(k === undefined ? (stepper ? stepper.current : 0) : k,
      record.steps.length);
    if (!stepper) {
      stepper = micrograd.stepper(svg, record, {onStep: (n) => writeHash(n),
        onQuiz: () => writeHash(undefined), onShow: quizMoved});
    }
    stepper.load(record, svg || undefined, step); // its data texts: this epoch's
    shown = key;
    quizMoved(); // (the table was written before this graph was on the stepper)
    document.body.dataset.graphEpoch = String(g);
  }

  function quizMoved() { // a step shown or answered: the table and the hover follow the quiz
    if (!shown || hiding() === mask) return;
    table();
    if (hovered) hover(hovered);
  }

  let pending = null; // the step of a graph to feed once the frame is painted
  function later(k) {
    const first = pending === null;
    pending = {k: k};
    if (!first) return;
    requestAnimationFrame(() => setTimeout(() => {
      const wanted = pending;
      pending = null;
      if (wanted) graph(wanted.k);
    }, 0));
  }

  // ---- showing a state -------------------------------------------------------------------

  function show(f, s, k, write, lazy) {
    frame = Math.max(0, Math.min(lastFrame, f));
    sample = Math.max(0, Math.min(T.samples.length - 1, s));
    const entry = frames[frame];
    const packed = entry.details[String(sample)];
    detail = packed ? Object.assign(unpack(packed.packed), {edges: packed.edges}) : null;
    // (a detail with a graph holds its record: detail.graph)
    values = unpack(entry.values);
    $("epoch-scrub").value = String(frame);
    $("epoch-counter").textContent = "epoch " + numbered(frame) + " of " + T.epochs;
    $("epoch-first").disabled = $("epoch-prev").disabled = frame === 0;
    $("epoch-next").disabled = $("epoch-last").disabled = frame === lastFrame;
    $("sample").value = String(sample);
    $("epoch-status").textContent = "Epoch " + numbered(frame) + (frame === 0 ? " starts " +
      "from the initial parameters" : "") + ": mean loss " + entry.loss + ". " + T.kept;
    const [cx, cy] = entry.cursor.split(",");
    const cursor = $("cursor");
    cursor.setAttribute("x1", cx);
    cursor.setAttribute("x2", cx);
    $("cursor-dot").setAttribute("cx", cx);
    $("cursor-dot").setAttribute("cy", cy);
    plane();
    network();
    table();
    const found = heldGraph();
    if (lazy && found && shown !== frames[frame].graph + ":" + sample) later(k);
    else {
      pending = null;
      graph(k);
    }
    if (hovered) hover(hovered);
    document.body.dataset.epoch = String(numbered(frame));
    document.body.dataset.sample = String(sample);
    if (write) writeHash(undefined);
  }

  // ---- controls ----------------------------------------------------------------------------

  const select = $("sample");
  T.samples.forEach((text, i) => {
    const option = document.createElement("option");
    option.value = String(i);
    option.textContent = i + ": " + text;
    select.appendChild(option);
  });
  select.addEventListener("change", () => show(frame, Number(select.value), undefined, true, true));
  points.forEach((p, i) => p.addEventListener("click", () => show(frame, i, undefined, true, true)));

  function stop() {
    clearInterval(timer);
    timer = null;
    $("epoch-play").textContent = "play";
  }
  function play() {
    if (timer) { stop(); return; }
    if (frame >= lastFrame) show(0, sample, undefined, true, true);
    $("epoch-play").textContent = "pause";
    timer = setInterval(() => (frame >= lastFrame ? stop()
      : show(frame + 1, sample, undefined, true, true)), 500);
  }
  const go = (f) => () => { stop(); show(f(), sample, undefined, true, true); };
  $("epoch-first").addEventListener("click", go(() => 0));
  $("epoch-prev").addEventListener("click", go(() => frame - 1));
  $("epoch-next").addEventListener("click", go(() => frame + 1));
  $("epoch-last").addEventListener("click", go(() => lastFrame));
  $("epoch-play").addEventListener("click", play);
  const scrub = $("epoch-scrub");
  scrub.max = String(lastFrame);
  scrub.addEventListener("input", () => {
    stop();
    show(Number(scrub.value), sample, undefined, true, true);
  });

  $("legend").textContent = T.legend;
  $("held").textContent = T.summary + ". " + T.held;
  if (!cells.length) $("plane-box").hidden = true;
  if (!net) $("net-box").hidden = true;

  document.addEventListener("keydown", (e) => { // ↑ ↓: the epochs (page.js: the steps)
    if (e.altKey || e.ctrlKey || e.metaKey || !["ArrowUp", "ArrowDown"].includes(e.key)) return;
    if (["INPUT", "SELECT", "TEXTAREA"].includes(e.target.tagName)) return;
    e.preventDefault();
    $(e.key === "ArrowUp" ? "epoch-prev" : "epoch-next").click();
  });

  window.addEventListener("hashchange", () => {
    const [f, s, k] = readHash();
    const quiz = /(^#|&)quiz(&|$)/.test(location.hash);
    if (stepper && quiz !== stepper.quizOn) stepper.quiz(quiz);
    show(f, s, k, false);
  });
  const [f, s, k] = readHash();
  show(f, s, k, false);
  document.documentElement.dataset.ready = "1";
})();
