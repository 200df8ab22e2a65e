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
  const weights = [...document.querySelectorAll("#net [data-p]")];

  // A packed record: its template's text pieces with its numbers put back (joining strings).
  function unpack(ref) {
    const t = T.templates[ref[0]], pieces = T.pieces[t.pieces], values = ref[1].split("|");
    let text = pieces[0];
    for (let i = 0; i < t.slots.length; i++) text += values[t.slots[i]] + pieces[i + 1];
    return JSON.parse(text);
  }

  let frame = 0, sample = 0, stepper = null, drawing = -1, detail = null, values = null;
  let timer = null;

  // ---- deep links: #epoch=E&sample=S&step=N ---------------------------------------------

  function nearestFrame(epoch) { // the recorded epoch nearest to epoch (the earlier on a tie)
    let best = 0;
    for (let i = 1; i < frames.length; i++) {
      if (Math.abs(frames[i].epoch - epoch) < Math.abs(frames[best].epoch - epoch)) best = i;
    }
    return best;
  }

  function readHash() {
    const params = new URLSearchParams(location.hash.slice(1));
    const e = params.get("epoch"), s = params.get("sample"), n = params.get("step");
    let f = 0;
    if (e === "end") f = lastFrame;
    else if (/^\d+$/.test(e || "")) f = nearestFrame(Number(e));
    let k = 0;
    if (n === "end") k = Infinity;
    else if (/^\d+$/.test(n || "")) k = Number(n);
    const picked = /^\d+$/.test(s || "") ? Math.min(Number(s), T.samples.length - 1) : 0;
    return [f, picked, k];
  }

  function writeHash(step) { // step: the stepper's new step (it calls this before moving)
    const k = step !== undefined ? step : stepper && detail && detail.graph ? stepper.current : 0;
    const hash = (stepper && stepper.quizOn ? "#quiz&" : "#") + "epoch=" + frames[frame].epoch +
      "&sample=" + sample + "&step=" + k;
    if (location.hash === hash) return;
    try {
      history.replaceState(null, "", hash);
    } catch (e) { // some browsers refuse replaceState on a page opened from disk
      location.replace(hash);
    }
  }

  // ---- the parameter table --------------------------------------------------------------

  function cell(row, text, tag) {
    const td = document.createElement(tag || "td");
    td.textContent = text;
    row.appendChild(td);
  }

  function table() {
    const head = $("params").tHead, body = $("params").tBodies[0];
    head.replaceChildren();
    body.replaceChildren();
    const top = head.insertRow();
    const e = frames[frame].epoch;
    if (detail && detail.rows) {
      T.columns.forEach((c) => cell(top, c, "th"));
      names.forEach((name, i) => {
        const row = body.insertRow();
        row.dataset.p = String(i);
        cell(row, name);
        detail.rows[i].forEach((text) => cell(row, text));
      });
      $("table-title").textContent = T.per_sample
        ? "Epoch " + e + ", sample " + sample + ": the update this sample's gradient makes " +
          "(E of this sample " + detail.sample_loss + ")"
        : "Epoch " + e + ": the full-batch update (the mean of every sample's gradient)";
      $("rule").textContent = "Update rule: " + T.rule + ". before = the parameter just " +
        "before this update, after = just after it.";
    } else {
      ["parameter", "at the start of epoch " + e, "at its end"].forEach((c) => cell(top, c, "th"));
      names.forEach((name, i) => {
        const row = body.insertRow();
        row.dataset.p = String(i);
        cell(row, name);
        cell(row, values[i]);
        cell(row, values[names.length + i]);
      });
      $("table-title").textContent = "Epoch " + e + ": the parameters";
      $("rule").textContent = "The page holds no update of sample " + sample + " at this " +
        "epoch (see the note at the bottom for what it holds). Update rule: " + T.rule + ".";
    }
  }

  // ---- the plane, the network, the loss cursor --------------------------------------------

  function plane() {
    const heat = frames[frame].heat;
    if (heat) cells.forEach((c, i) => c.setAttribute("fill", T.palette[parseInt(heat[i], 36)]));
    points.forEach((p, i) => p.classList.toggle("selected", i === sample));
  }

  function network() {
    const codes = detail && detail.edges ? detail.edges : frames[frame].edges;
    for (const w of weights) {
      if (w.tagName === "line") w.dataset.c = codes[Number(w.dataset.p)];
    }
  }

  function describe(el) { // the hover text of a weight or a neuron (its bias)
    if (el.dataset.p === undefined) {
      return el.dataset.name + ": an input. Sample " + sample + ": " + T.samples[sample];
    }
    const i = Number(el.dataset.p), name = names[i];
    const what = el.tagName === "line" ? "weight " : "neuron, bias ";
    if (detail && detail.rows) {
      const r = detail.rows[i];
      return what + name + " = " + r[0] + " (just before this update)\n∂E/∂" + name + " = " +
        r[1] + "\n" + r[2];
    }
    return what + name + " = " + values[i] + " at the start of epoch " + frames[frame].epoch +
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
      const el = e.target.closest("line.w, circle.n");
      if (el) hover(el);
    });
  }

  // ---- the sample's graph: page.js's stepper -------------------------------------------------

  function graph(k) {
    const has = detail && detail.graph;
    $("stepper").hidden = !has;
    $("no-graph").hidden = !!has;
    const e = frames[frame].epoch;
    if (!has) {
      $("graph-title").textContent = "Sample " + sample + "'s graph at epoch " + e;
      $("no-graph").textContent = "This page holds no backward pass of sample " + sample +
        " at epoch " + e + ". " + T.held;
      return;
    }
    $("graph-title").textContent = "Sample " + sample + " (" + T.samples[sample] + ") at " +
      "epoch " + e + ": the forward and backward pass train() ran" +
      (T.per_sample ? ", with the parameters just before this sample's update" :
        ", at the epoch's parameters (the full-batch update uses the mean over the samples)");
    let svg = null;
    if (detail.drawing !== drawing) {
      const copy = document.getElementById("drawing-" + detail.drawing).content
        .querySelector("svg").cloneNode(true);
      $("graph").replaceChildren(copy);
      svg = copy;
      drawing = detail.drawing;
    }
    const last = detail.graph.steps.length;
    const step = Math.min(k === undefined ? (stepper ? stepper.current : 0) : k, last);
    if (!stepper) {
      stepper = micrograd.stepper(svg, detail.graph, {onStep: (k) => writeHash(k),
        onQuiz: () => writeHash()});
    }
    stepper.load(detail.graph, svg || undefined, step); // its data texts: this epoch's
  }

  // ---- showing a state -------------------------------------------------------------------

  function show(f, s, k, write) {
    frame = Math.max(0, Math.min(lastFrame, f));
    sample = Math.max(0, Math.min(T.samples.length - 1, s));
    const entry = frames[frame];
    const packed = entry.details[String(sample)];
    detail = packed ? Object.assign(unpack(packed.packed), {edges: packed.edges,
      drawing: packed.drawing}) : null;
    values = unpack(entry.values);
    $("epoch-scrub").value = String(frame);
    $("epoch-counter").textContent = "epoch " + entry.epoch + " (" + (frame + 1) + " of " +
      frames.length + " held)";
    $("epoch-first").disabled = $("epoch-prev").disabled = frame === 0;
    $("epoch-next").disabled = $("epoch-last").disabled = frame === lastFrame;
    $("sample").value = String(sample);
    $("epoch-status").textContent = "Epoch " + entry.epoch + " of " + (T.epochs_run - 1) +
      " (epoch 0 starts from the initial parameters): mean loss " + entry.loss +
      ". Sample " + sample + ": " + T.samples[sample] + ".";
    const [cx, cy] = entry.cursor.split(",");
    const cursor = $("cursor");
    cursor.setAttribute("x1", cx);
    cursor.setAttribute("x2", cx);
    $("cursor-dot").setAttribute("cx", cx);
    $("cursor-dot").setAttribute("cy", cy);
    plane();
    network();
    table();
    graph(k);
    if (hovered) hover(hovered);
    document.body.dataset.epoch = String(entry.epoch);
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
  select.addEventListener("change", () => show(frame, Number(select.value), undefined, true));
  points.forEach((p, i) => p.addEventListener("click", () => show(frame, i, undefined, true)));

  function stop() {
    clearInterval(timer);
    timer = null;
    $("epoch-play").textContent = "play";
  }
  function play() {
    if (timer) { stop(); return; }
    if (frame >= lastFrame) show(0, sample, undefined, true);
    $("epoch-play").textContent = "pause";
    timer = setInterval(() => (frame >= lastFrame ? stop()
      : show(frame + 1, sample, undefined, true)), 500);
  }
  const go = (f) => () => { stop(); show(f(), sample, undefined, true); };
  $("epoch-first").addEventListener("click", go(() => 0));
  $("epoch-prev").addEventListener("click", go(() => frame - 1));
  $("epoch-next").addEventListener("click", go(() => frame + 1));
  $("epoch-last").addEventListener("click", go(() => lastFrame));
  $("epoch-play").addEventListener("click", play);
  const scrub = $("epoch-scrub");
  scrub.max = String(lastFrame);
  scrub.addEventListener("input", () => { stop(); show(Number(scrub.value), sample, undefined, true); });

  $("legend").textContent = T.legend;
  $("held").textContent = T.summary + ". " + T.held;
  if (!cells.length) $("plane-box").hidden = true;
  if (!net) $("net-box").hidden = true;

  window.addEventListener("hashchange", () => {
    const [f, s, k] = readHash();
    show(f, s, k, false);
  });
  const [f, s, k] = readHash();
  show(f, s, k, false);
  document.documentElement.dataset.ready = "1";
})();
