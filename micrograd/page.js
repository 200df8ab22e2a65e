// The backprop page's script: replays the records micrograd wrote into #backprop-data.
// Every number it shows is a string formatted by Python; it does no arithmetic on them.
// Labels are set with textContent only: they are text, never markup.
//
// The stepper is a component: ``micrograd.stepper(svg, data, hooks)`` mounts it on a Graphviz
// drawing and a recording (page.py's JSON: nodes, steps, grads) and returns {show, load}.
// ``load(data, svg)`` feeds it another recording of a graph with the same drawing (another
// epoch or sample of a training page), or a new drawing. ``hooks.onStep(k)`` hears each step
// the controls move to. The backprop page mounts it on #backprop-data, with #step=N links.
"use strict";
const micrograd = window.micrograd || (window.micrograd = {});
micrograd.stepper = function (svg, data, hooks) {
  const NS = "http://www.w3.org/2000/svg";
  let nodes, steps, grads, last, stepOf, received;
  const $ = (id) => document.getElementById(id);
  hooks = hooks || {};

  // Graphviz's groups by DOT name: v<i> is node i of topological_order(root), v<i>_op the op
  // that made it, an edge "v<c>->v<i>_op" carries child c into node i (in the children's order).
  let records, opNodes, edges, dataTexts, gradTexts, overlay, shift, base, tails, natural;
  function attach(drawing) {
    svg = drawing;
    records = [];
    opNodes = [];
    edges = new Map();
    for (const g of svg.querySelectorAll("g.node, g.edge")) {
      const title = g.querySelector("title");
      if (!title) continue;
      const name = title.textContent;
      title.remove(); // DOT names make poor tooltips
      if (g.classList.contains("edge")) {
        if (!edges.has(name)) edges.set(name, []);
        edges.get(name).push(g);
        continue;
      }
      const m = /^v(\d+)(_op)?$/.exec(name);
      if (!m) continue;
      (m[2] ? opNodes : records)[Number(m[1])] = g;
      g.dataset.node = m[1];
    }
    const fields = records.map((g) => g.querySelectorAll("text")); // name | data | grad
    gradTexts = fields.map((texts) => texts[texts.length - 1]);
    dataTexts = fields.map((texts) => texts[texts.length - 2]);
    overlay = document.createElementNS(NS, "g");
    overlay.id = "overlay";
    const graph0 = svg.querySelector("g.graph");
    graph0.appendChild(overlay);
    shift = graph0.transform.baseVal.consolidate().matrix; // Graphviz's translate(4 H)
    // Room for the notes beside edges at the drawing's border: a margin, grown when a step's
    // notes reach further. Graphviz's units are points (its width/height attributes say "pt").
    const vb = svg.viewBox.baseVal;
    base = {x: vb.x - 8, y: vb.y - 40, width: vb.width + 16, height: vb.height + 80};
    tails = new Map(); // edge -> where it leaves its child, and which way (fixed geometry)
    natural = svg.width.baseVal.value;
    svg.addEventListener("click", (e) => {
      const g = e.target.closest("g.node");
      if (g && g.dataset.node !== undefined) inspect(Number(g.dataset.node));
    });
  }

  // Bookkeeping over the records: the step that processes each node, the terms each receives.
  function feed(recording) {
    nodes = recording.nodes;
    steps = recording.steps;
    grads = recording.grads;
    last = steps.length;
    stepOf = new Array(nodes.length).fill(0);
    received = nodes.map(() => []);
    steps.forEach((s, k) => {
      stepOf[s.node] = k + 1;
      s.updates.forEach((u) => received[u.child].push([k + 1, s.node, u]));
    });
  }

  function gradAt(i, k) { // the grad text of node i after step k
    const h = grads[i];
    let j = h.length - 1;
    while (h[j][0] > k) j--;
    return h[j][1];
  }

  function frame(boxes) { // boxes: the notes, in graph0's units (Graphviz translates graph0)
    let x0 = base.x, y0 = base.y, x1 = base.x + base.width, y1 = base.y + base.height;
    for (const b of boxes) {
      x0 = Math.min(x0, b.x + shift.e - 6);
      y0 = Math.min(y0, b.y + shift.f - 4);
      x1 = Math.max(x1, b.x + shift.e + b.width + 6);
      y1 = Math.max(y1, b.y + shift.f + b.height + 4);
    }
    const box = [x0, y0, x1 - x0, y1 - y0].join(" ");
    if (svg.getAttribute("viewBox") === box) return;
    svg.setAttribute("viewBox", box);
    svg.setAttribute("width", (x1 - x0) + "pt");
    svg.setAttribute("height", (y1 - y0) + "pt");
  }

  function tag(parent, name, cls, text) { // an SVG element with optional class and text
    const el = document.createElementNS(NS, name);
    if (cls) el.setAttribute("class", cls);
    if (text !== undefined) el.textContent = text;
    parent.appendChild(el);
    return el;
  }

  // Notes are measured on a canvas, not with getBBox: on a graph of thousands of nodes each
  // getBBox would lay out the whole drawing again.
  const FONT_SIZE = 10.5, LINE = 1.25 * FONT_SIZE, PAD_X = 4, PAD_Y = 3;
  const ruler = document.createElement("canvas").getContext("2d");
  ruler.font = FONT_SIZE + 'px "DejaVu Sans", sans-serif';

  // The box around a node of the drawing: a record's polygon or an op's ellipse.
  function outline(node) {
    const ellipse = node.querySelector("ellipse");
    if (ellipse) {
      const [cx, cy, rx, ry] = ["cx", "cy", "rx", "ry"].map((a) => +ellipse.getAttribute(a));
      return {x: cx - rx, y: cy - ry, width: 2 * rx, height: 2 * ry};
    }
    const xs = [], ys = []; // Graphviz's polygon points "x,y x,y ..."
    const points = node.querySelector("polygon").getAttribute("points");
    for (const pair of points.trim().split(/\s+/)) {
      const [x, y] = pair.split(",").map(Number);
      xs.push(x);
      ys.push(y);
    }
    const x = Math.min(...xs), y = Math.min(...ys);
    return {x: x, y: y, width: Math.max(...xs) - x, height: Math.max(...ys) - y};
  }

  function tail(edge, record) {
    if (!tails.has(edge)) {
      const path = edge.querySelector("path");
      const p = path.getPointAtLength(0);
      const q = path.getPointAtLength(Math.min(20, path.getTotalLength()));
      const box = outline(record);
      tails.set(edge, {x: p.x, y: p.y, dx: q.x - p.x, dy: q.y - p.y, left: box.x,
        right: box.x + box.width, top: box.y, bottom: box.y + box.height});
    }
    return tails.get(edge);
  }

  // A boxed note beside the tail of an edge (the child's end, where edges are spread out,
  // not the op's end, where they converge), on the side the edge leaves from; or stacked
  // under an earlier note (`below`) when a child receives two terms in one step; moved down
  // past what it would cover (`others`): the step's other notes, the node being processed.
  function note(cls, edge, record, lines, below, others) {
    const t = tail(edge, record);
    const width = Math.max(...lines.map((line) => ruler.measureText(line).width)) + 2 * PAD_X;
    const height = lines.length * LINE + 2 * PAD_Y;
    let x, y;
    if (below) {
      x = below.x;
      y = below.y + below.height + 4;
    } else if (Math.abs(t.dx) >= Math.abs(t.dy)) {
      x = t.dx >= 0 ? Math.max(t.x, t.right) + 4 : Math.min(t.x, t.left) - 4 - width;
      y = t.y - height / 2;
    } else {
      x = t.x - width / 2;
      y = t.dy >= 0 ? Math.max(t.y, t.bottom) + 4 : Math.min(t.y, t.top) - 4 - height;
    }
    for (let moved = true; moved;) { // below any earlier note of this step it would cover
      moved = false;
      for (const o of others) {
        if (x < o.x + o.width && o.x < x + width && y < o.y + o.height && o.y < y + height) {
          y = o.y + o.height + 3;
          moved = true;
        }
      }
    }
    const g = tag(overlay, "g", cls);
    g.setAttribute("transform", "translate(" + x + "," + y + ")");
    const rect = tag(g, "rect");
    rect.setAttribute("width", width);
    rect.setAttribute("height", height);
    rect.setAttribute("rx", 3);
    const text = tag(g, "text");
    lines.forEach((line, n) => {
      const span = tag(text, "tspan", "", line);
      span.setAttribute("x", PAD_X);
      span.setAttribute("y", PAD_Y + (n + 0.8) * LINE);
    });
    return {x: x, y: y, width: width, height: height};
  }

  let current = -1, selected = -1, marked = [];

  function mark(el, cls) {
    if (!el) return;
    el.classList.add(cls);
    marked.push([el, cls]);
  }

  function show(k, writeHash) {
    k = Math.max(0, Math.min(last, k));
    for (let i = 0; i < nodes.length; i++) {
      const text = "grad " + gradAt(i, k);
      if (gradTexts[i].textContent !== text) gradTexts[i].textContent = text;
    }
    for (const [el, cls] of marked) el.classList.remove(cls);
    marked = [];
    overlay.replaceChildren();
    const stepText = $("step-text"), status = $("status");
    if (k === 0) {
      stepText.textContent = "Step 0: the graph after the forward pass, before backward(): " +
        "every grad is 0.\nNext, backward() seeds the root's grad with 1 and applies the " +
        "chain rule node by node.";
      status.textContent = last === 0
        ? "The root is a leaf: backward() has no chain-rule step to show."
        : "Step 0 of " + last + ": after the forward pass, every grad 0.";
    } else {
      const s = steps[k - 1];
      stepText.textContent = s.text;
      status.textContent = "Step " + k + " of " + last + ": " + nodes[s.node].name +
        " passes its grad " + s.grad + " to its " +
        (s.updates.length === 1 ? "child" : s.updates.length + " children") +
        " (child.grad += local derivative · grad).";
      mark(records[s.node], "active");
      mark(opNodes[s.node], "active");
      const outEdges = edges.get("v" + s.node + "_op->v" + s.node) || [];
      outEdges.forEach((e) => mark(e, "lit"));
      const seen = new Map(), placed = new Map(), boxes = [];
      // the node being processed and its op stay in sight: notes move down past them too
      const active = [records[s.node], opNodes[s.node]].filter(Boolean).map(outline);
      for (const u of s.updates) {
        mark(records[u.child], "updated");
        const key = "v" + u.child + "->v" + s.node + "_op";
        const n = seen.get(key) || 0; // a child used twice has two edges, one term on each
        seen.set(key, n + 1);
        const edge = (edges.get(key) || [])[n];
        if (!edge) continue;
        mark(edge, "lit");
        const lines = ["+= " + u.edge, "grad " + u.before + " → " + u.after];
        const box = note("term", edge, records[u.child], lines, placed.get(u.child),
          [...active, ...boxes]);
        placed.set(u.child, box);
        boxes.push(box);
      }
      frame(boxes);
    }
    if (k === 0) frame([]);
    $("scrub").value = String(k);
    $("counter").textContent = "step " + k + " / " + last;
    $("first").disabled = $("prev").disabled = k === 0;
    $("next").disabled = $("last").disabled = k === last;
    document.body.dataset.step = String(k);
    if (writeHash && k !== current && hooks.onStep) hooks.onStep(k);
    current = k;
    if (selected >= 0) inspect(selected);
    if (k > 0) { // keep the node being processed in view, once the frame is laid out anyway
      const g = records[steps[k - 1].node];
      requestAnimationFrame(() => g.scrollIntoView({block: "nearest", inline: "nearest"}));
    }
  }

  // ---- the node inspector --------------------------------------------------------------

  function el(parent, name, text, cls) {
    const e = document.createElement(name);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    parent.appendChild(e);
    return e;
  }

  function inspect(i) {
    if (selected >= 0) {
      records[selected].classList.remove("selected");
      if (opNodes[selected]) opNodes[selected].classList.remove("selected");
    }
    selected = i;
    records[i].classList.add("selected");
    if (opNodes[i]) opNodes[i].classList.add("selected");
    const node = nodes[i], box = $("node-info");
    box.replaceChildren();
    el(box, "h3", node.name);
    const facts = el(box, "dl");
    const fact = (term, value) => { el(facts, "dt", term); return el(facts, "dd", value); };
    fact("op", node.op ? node.op + "  (drawn " + node.symbol + ")" : "none: a leaf");
    fact("data", node.data);
    fact("grad", gradAt(i, current) + "  at step " + current +
      (current < last ? "  (" + gradAt(i, last) + " after the last step)" : ""));
    const k = stepOf[i];
    if (k) {
      fact("processed", "at step " + k);
      el(box, "h4", "Local derivatives");
      const list = el(box, "ul", undefined, "formulas");
      for (const u of steps[k - 1].updates) {
        const d = "∂" + node.name + "/∂" + nodes[u.child].name;
        el(list, "li", d + " = " + (u.formula ? u.formula + " = " : "") + u.local);
      }
    }
    const terms = received[i];
    if (terms.length) {
      el(box, "h4", terms.length === 1 ? "Its one chain-rule term" : "Its " + terms.length +
        " chain-rule terms (a value used " + terms.length + " times gets one per use)");
      const list = el(box, "ul", undefined, "terms");
      for (const [step, from, u] of terms) {
        el(list, "li", "step " + step + ": from " + nodes[from].name + ", term " + u.term +
          ": grad " + u.before + " → " + u.after, step > current ? "future" : "");
      }
    }
    if (node.explain) {
      el(box, "h4", "The chain rule, path by path (explain)");
      el(box, "pre", node.explain, "explain");
    }
  }

  // ---- controls ------------------------------------------------------------------------

  let timer = null;
  function stop() {
    clearInterval(timer);
    timer = null;
    $("play").textContent = "play";
    $("play").title = "play (space)";
  }
  function play() {
    if (timer) { stop(); return; }
    if (current >= last) show(0, true);
    $("play").textContent = "pause";
    $("play").title = "pause (space)";
    timer = setInterval(() => (current >= last ? stop() : show(current + 1, true)), 1000);
  }
  const go = (k) => () => { stop(); show(k(), true); };
  $("first").addEventListener("click", go(() => 0));
  $("prev").addEventListener("click", go(() => current - 1));
  $("next").addEventListener("click", go(() => current + 1));
  $("last").addEventListener("click", go(() => last));
  $("play").addEventListener("click", play);
  const scrub = $("scrub");
  scrub.addEventListener("input", () => { stop(); show(Number(scrub.value), true); });

  document.addEventListener("keydown", (e) => {
    if (e.altKey || e.ctrlKey || e.metaKey || e.target === scrub) return; // the slider moves itself
    const key = {ArrowRight: "next", ArrowLeft: "prev", Home: "first", End: "last", " ": "play"};
    const id = key[e.key];
    if (!id || (e.target.tagName === "BUTTON" && e.key === " ")) return;
    e.preventDefault();
    $(id).click();
  });

  // ---- fit the graph to the window's width (when shrinking it keeps it readable) --------

  const fit = $("fit");
  const applyFit = () => svg.classList.toggle("fit", fit.checked);
  fit.addEventListener("change", applyFit);
  function fitWidth() {
    fit.checked = natural > svg.parentNode.clientWidth &&
      svg.parentNode.clientWidth / natural >= 0.4;
    applyFit();
  }

  // ---- mounting, and feeding another recording ------------------------------------------

  function load(recording, drawing, k) {
    stop();
    if (drawing && drawing !== svg) {
      attach(drawing);
      selected = -1;
      current = -1;
      fitWidth();
    }
    feed(recording);
    scrub.max = String(last);
    nodes.forEach((node, i) => {
      const text = "data " + node.data;
      if (dataTexts[i] && dataTexts[i].textContent !== text) dataTexts[i].textContent = text;
    });
    if (selected >= nodes.length) selected = -1;
    show(k === undefined ? Math.min(current, last) : k, false);
  }

  attach(svg);
  feed(data);
  scrub.max = String(last);
  fitWidth();
  return {show: show, load: load, stop: stop,
    get current() { return current; }, get last() { return last; }};
};

// ---- the backprop page: one recording, #step=N, #step=0, #step=end links ---------------

(function () {
  const script = document.getElementById("backprop-data");
  if (!script) return; // another page (a training page) mounts the stepper itself
  const data = JSON.parse(script.textContent);
  const last = data.steps.length;

  function hashStep() {
    const m = /^#step=(\d+|end)$/.exec(location.hash);
    if (!m) return 0;
    return m[1] === "end" ? last : Math.min(last, Number(m[1]));
  }

  function setHash(k) {
    const hash = "#step=" + k;
    if (location.hash === hash) return;
    try {
      history.replaceState(null, "", hash);
    } catch (e) { // some browsers refuse replaceState on a page opened from disk
      location.replace(hash);
    }
  }

  const stepper = micrograd.stepper(document.querySelector("#graph svg"), data,
    {onStep: setHash});
  window.addEventListener("hashchange", () => stepper.show(hashStep(), false));
  stepper.show(hashStep(), false);
  document.documentElement.dataset.ready = "1";
})();
