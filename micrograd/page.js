// The backprop page's script: replays the records micrograd wrote into #backprop-data.
// Every number it shows is a string formatted by Python; it does no arithmetic on them.
// Labels are set with textContent only: they are text, never markup.
//
// The stepper is a component: ``micrograd.stepper(svg, data, hooks)`` mounts it on a Graphviz
// drawing and a recording (page.py's JSON: nodes, steps, grads) and returns {show, load}.
// ``load(data, svg)`` feeds it another recording of a graph with the same drawing (another
// epoch or sample of a training page), or a new drawing. ``hooks.onStep(k)`` hears each step
// the controls move to, ``hooks.onShow(k)`` every step shown (a quiz answer shows it again);
// ``hides(name)`` says whether the quiz hides that node's grad. The backprop page mounts it
// on #backprop-data, with #step=N links.
"use strict";
const micrograd = window.micrograd || (window.micrograd = {});
micrograd.stepper = function (svg, data, hooks) {
  const NS = "http://www.w3.org/2000/svg";
  let nodes, steps, grads, last, stepOf, received, tolerance, nameIndex;
  const $ = (id) => document.getElementById(id);
  hooks = hooks || {};

  // Graphviz's groups by DOT name: v<i> is node i of topological_order(root), v<i>_op the op
  // that made it, an edge "v<c>->v<i>_op" carries child c into node i (in the children's order).
  let records, opNodes, edges, labelled, dataTexts, gradTexts, overlay, base, smallest;
  function attach(drawing) {
    svg = drawing;
    records = [];
    opNodes = [];
    edges = new Map();
    labelled = []; // [edge, i]: the edges into node i's op that carry a label
    for (const g of svg.querySelectorAll("g.node, g.edge")) {
      const title = g.querySelector("title");
      if (!title) continue;
      const name = title.textContent;
      title.remove(); // DOT names make poor tooltips
      if (g.classList.contains("edge")) {
        if (!edges.has(name)) edges.set(name, []);
        edges.get(name).push(g);
        const into = /^v\d+->v(\d+)_op$/.exec(name);
        if (into && g.querySelector("text")) labelled.push([g, Number(into[1])]);
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
    svg.querySelector("g.graph").appendChild(overlay);
    // a margin for the badges at the drawing's border; Graphviz's units are points, 4/3 px
    const vb = svg.viewBox.baseVal;
    base = {x: vb.x - 10, y: vb.y - 10, width: vb.width + 20, height: vb.height + 20};
    svg.setAttribute("viewBox", [base.x, base.y, base.width, base.height].join(" "));
    smallest = BADGE_FONT; // the smallest text of the drawing, in its units
    for (const t of svg.querySelectorAll("text[font-size]")) {
      smallest = Math.min(smallest, Number(t.getAttribute("font-size")) || smallest);
    }
    tails = new Map();
    obstacles = null;
    svg.addEventListener("click", (e) => {
      const g = e.target.closest("g.node");
      if (g && g.dataset.node !== undefined && !dragged) inspect(Number(g.dataset.node));
    });
  }

  // Bookkeeping over the records: the step that processes each node, the terms each receives.
  function feed(recording) {
    nodes = recording.nodes;
    steps = recording.steps;
    tolerance = recording.tolerance; // trace.ANSWER_TOLERANCE
    grads = recording.grads;
    last = steps.length;
    stepOf = new Array(nodes.length).fill(0);
    nameIndex = new Map(nodes.map((node, i) => [node.name, i]));
    received = nodes.map(() => []);
    quiz.done = new Map(); // a new recording: its steps are yet to be answered
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

  function tag(parent, name, cls, text) { // an SVG element with optional class and text
    const el = document.createElementNS(NS, name);
    if (cls) el.setAttribute("class", cls);
    if (text !== undefined) el.textContent = text;
    parent.appendChild(el);
    return el;
  }

  // Texts are measured on a canvas, not with getBBox: on a graph of thousands of nodes each
  // getBBox would lay out the whole drawing again.
  const BADGE_FONT = 10, BADGE_R = 8;
  const FAMILY = '"DejaVu Sans", sans-serif';
  const ruler = document.createElement("canvas").getContext("2d");

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

  // ---- the step's badges: a numbered disc on each edge, tied to its row beside the graph ----

  let obstacles = null, shapes = 0; // the drawing's nodes and texts, as boxes in its units
  function drawingBoxes() {
    if (obstacles) return obstacles;
    obstacles = [];
    for (const g of [...records, ...opNodes]) if (g) obstacles.push(outline(g));
    shapes = obstacles.length; // the nodes' boxes come first, then the texts
    for (const t of svg.querySelectorAll("g.edge text, g.graph > text")) obstacles.push(textBox(t));
    return obstacles;
  }

  function textBox(t) { // a Graphviz text's box, from its attributes and the ruler (no layout)
    const size = Number(t.getAttribute("font-size")) || 14;
    ruler.font = size + "px " + FAMILY;
    const width = ruler.measureText(t.textContent).width;
    const x = Number(t.getAttribute("x")), anchor = t.getAttribute("text-anchor");
    const left = anchor === "middle" ? x - width / 2 : anchor === "end" ? x - width : x;
    return {x: left - 1, y: Number(t.getAttribute("y")) - size, width: width + 2,
      height: 1.3 * size};
  }

  const overlaps = (a, b, margin) => a.x < b.x + b.width + margin &&
    b.x < a.x + a.width + margin && a.y < b.y + b.height + margin &&
    b.y < a.y + a.height + margin;

  // Where an edge's badge goes: on the edge (or just beside it), walking from its child's end
  // (where edges are spread out) towards the op, at the first spot on no node, edge label or
  // earlier badge; failing that, the first on no node or badge.
  let tails = new Map(); // edge -> the spots along it (fixed geometry)
  function spots(edge) {
    if (!tails.has(edge)) {
      const path = edge.querySelector("path"), length = path.getTotalLength(), out = [];
      for (let at = BADGE_R + 2; at <= Math.max(BADGE_R + 2, length - BADGE_R - 6); at += 3) {
        const p = path.getPointAtLength(at), q = path.getPointAtLength(Math.min(length, at + 1));
        const d = Math.hypot(q.x - p.x, q.y - p.y) || 1, nx = (p.y - q.y) / d, ny = (q.x - p.x) / d;
        for (const side of [0, 1.4, -1.4]) {
          out.push({x: p.x + side * BADGE_R * nx, y: p.y + side * BADGE_R * ny});
        }
      }
      tails.set(edge, out);
    }
    return tails.get(edge);
  }

  function badge(edge, n, taken) {
    const all = spots(edge), box = (p) => ({x: p.x - BADGE_R, y: p.y - BADGE_R,
      width: 2 * BADGE_R, height: 2 * BADGE_R});
    const nodeBoxes = drawingBoxes().slice(0, shapes), free = (q, boxes) =>
      !boxes.some((b) => overlaps(box(q), b, 1));
    const p = all.find((q) => free(q, drawingBoxes()) && free(q, taken)) ||
      all.find((q) => free(q, nodeBoxes) && free(q, taken)) || all[0];
    const g = tag(overlay, "g", "badge");
    g.setAttribute("transform", "translate(" + p.x + "," + p.y + ")");
    g.dataset.n = String(n);
    tag(g, "circle").setAttribute("r", BADGE_R);
    const text = tag(g, "text", "", String(n));
    text.setAttribute("text-anchor", "middle");
    text.setAttribute("y", 0.36 * BADGE_FONT);
    text.setAttribute("font-size", BADGE_FONT);
    return box(p);
  }

  let current = -1, selected = -1, marked = [], ties = [];

  function mark(el, cls) {
    if (!el) return;
    el.classList.add(cls);
    marked.push([el, cls]);
  }

  // Hovering a term's row (or its badge, its row in the quiz) lights its edge and its child.
  function tie(n, on) {
    for (const el of ties[n] || []) el.classList.toggle("hot", on);
    for (const el of document.querySelectorAll('[data-n="' + n + '"]')) {
      el.classList.toggle("hot", on);
    }
  }
  function tied(el, n) {
    el.dataset.n = String(n);
    el.addEventListener("mouseenter", () => tie(n, true));
    el.addEventListener("mouseleave", () => tie(n, false));
  }

  function show(k, writeHash) {
    k = Math.max(0, Math.min(last, k));
    const unanswered = quizHides(k) ? new Set(steps[k - 1].updates.map((u) => u.child)) : null;
    for (let i = 0; i < nodes.length; i++) {
      const text = "grad " + (unanswered && unanswered.has(i) ? "?" : gradAt(i, k));
      if (gradTexts[i].textContent !== text) gradTexts[i].textContent = text;
    }
    for (const [g, i] of labelled) { // the edge labels (local derivatives) of unanswered steps
      g.classList.toggle("quiz-hidden", quiz.on && stepOf[i] > 0 &&
        (stepOf[i] > k || (stepOf[i] === k && unanswered !== null)));
    }
    for (const [el, cls] of marked) el.classList.remove(cls);
    for (const el of overlay.parentNode.querySelectorAll(".hot")) el.classList.remove("hot");
    marked = [];
    ties = [];
    overlay.replaceChildren();
    const stepText = $("step-text"), status = $("status"), terms = $("terms");
    terms.replaceChildren();
    if (k === 0) {
      stepText.textContent = "Step 0: the graph after the forward pass, before backward(): " +
        "every grad is 0.\nNext, backward() seeds the root's grad with 1 and applies the " +
        "chain rule node by node.";
      status.textContent = last === 0
        ? "The root is a leaf: backward() has no chain-rule step to show."
        : "Step 0 of " + last + ": after the forward pass, every grad 0. Press → to start " +
          "at the root, " + nodes[0].name + ".";
      terms.hidden = true;
      if (records[0]) follow([outline(records[0])], []);
    } else {
      const s = steps[k - 1];
      const hide = quizHides(k);
      stepText.textContent = hide ? s.text.split("\n")[0] + "\n  … the terms are " +
        "yours to work out: check yourself above." : s.text;
      status.textContent = "Step " + k + " of " + last + ": " + nodes[s.node].name +
        " passes its grad " + s.grad + " to its " +
        (s.updates.length === 1 ? "child" : s.updates.length + " children") +
        " (child.grad += local derivative · grad).";
      mark(records[s.node], "active");
      mark(opNodes[s.node], "active");
      const outEdges = edges.get("v" + s.node + "_op->v" + s.node) || [];
      outEdges.forEach((e) => mark(e, "lit"));
      const seen = new Map(), boxes = [];
      terms.hidden = hide;
      s.updates.forEach((u, j) => {
        const n = j + 1;
        mark(records[u.child], "updated");
        const key = "v" + u.child + "->v" + s.node + "_op";
        const m = seen.get(key) || 0; // a child used twice has two edges, one term on each
        seen.set(key, m + 1);
        const edge = (edges.get(key) || [])[m];
        ties[n] = [edge, records[u.child]].filter(Boolean);
        if (edge) {
          mark(edge, "lit");
          boxes.push(badge(edge, n, boxes));
        }
        if (hide) return;
        const row = el(terms, "li", undefined, "term");
        tied(row, n);
        el(row, "span", String(n), "badge");
        el(row, "span", cut(nodes[u.child].name), "who");
        el(row, "span", u.before + " + " + paren(u.local) + "·" + paren(s.grad) + " = " +
          u.after, "sum"); // its grad before + the term = its grad after
        row.title = nodes[u.child].name + ".grad += " + u.edge;
      });
      for (const g of overlay.children) tied(g, Number(g.dataset.n));
      follow([outline(records[s.node])], [...[opNodes[s.node], ...s.updates.map((u) =>
        records[u.child])].filter(Boolean).map(outline), ...boxes]);
    }
    $("scrub").value = String(k);
    $("counter").textContent = "step " + k + " / " + last;
    $("first").disabled = $("prev").disabled = k === 0;
    $("next").disabled = $("last").disabled = k === last;
    document.body.dataset.step = String(k);
    if (writeHash && k !== current && hooks.onStep) hooks.onStep(k);
    current = k;
    renderQuiz(k);
    if (selected >= 0) inspect(selected);
    if (hooks.onShow) hooks.onShow(k);
  }

  // ---- the view follows the step: the node being processed, its children, the badges ------

  let following = null;
  function follow(active, rest) { // boxes in graph0's units; scrolled once the frame is laid out
    const first = following === null;
    following = [active, rest];
    if (first) requestAnimationFrame(followNow);
  }

  function followNow() {
    const [active, rest] = following;
    following = null;
    const m = svg.querySelector("g.graph").getScreenCTM();
    if (!m) return;
    const span = (list) => { // a list of boxes on screen: [left, top, right, bottom]
      const xs = [], ys = [];
      for (const b of list) {
        for (const [x, y] of [[b.x, b.y], [b.x + b.width, b.y + b.height]]) {
          xs.push(m.a * x + m.c * y + m.e);
          ys.push(m.b * x + m.d * y + m.f);
        }
      }
      return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
    };
    const view = svg.parentNode, r = view.getBoundingClientRect(), pad = 16;
    const inner = {left: r.left + view.clientLeft, top: r.top + view.clientTop};
    inner.right = inner.left + view.clientWidth;
    inner.bottom = inner.top + view.clientHeight;
    // each way, all of the step if it fits in the view, else as much of it as fits with the
    // node being processed: a window of the view's size on the step's middle, moved to hold it
    let [left, top, right, bottom] = span([...active, ...rest]);
    const [aLeft, aTop, aRight, aBottom] = span(active);
    const fitted = (lo, hi, aLo, aHi, size) => {
      if (hi - lo <= size) return [lo, hi];
      const start = Math.max(aHi - size, Math.min(aLo, (lo + hi - size) / 2));
      return [start, start + size];
    };
    [left, right] = fitted(left, right, aLeft, aRight, view.clientWidth - 2 * pad);
    [top, bottom] = fitted(top, bottom, aTop, aBottom, view.clientHeight - 2 * pad);
    // a step out of view is brought to the view's middle (the next steps are near it)
    if (left < inner.left + pad || right > inner.right - pad) {
      view.scrollLeft += (left + right) / 2 - (inner.left + inner.right) / 2;
    }
    if (view.scrollHeight > view.clientHeight) { // the drawing scrolls in its own pane
      if (top < inner.top + pad || bottom > inner.bottom - pad) {
        view.scrollTop += (top + bottom) / 2 - (inner.top + inner.bottom) / 2;
      }
      return;
    }
    const header = document.querySelector("header"); // else the window scrolls (a narrow window)
    const ceiling = header && getComputedStyle(header).position === "sticky"
      ? header.getBoundingClientRect().bottom + pad : pad;
    if (top < ceiling) window.scrollBy(0, top - ceiling);
    else if (bottom > innerHeight - pad) window.scrollBy(0, Math.min(bottom - innerHeight + pad,
      top - ceiling));
  }

  function secret(step) { // a step the learner has not answered yet, in quiz mode
    return quiz.on && (step > current || (step === current && quizHides(current)));
  }
  function hides(name) { // whether the quiz hides the grad of the node of that name
    const i = nameIndex.get(name);
    return i !== undefined && received[i].some(([step]) => secret(step));
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
    const open = received[i].every(([step]) => !secret(step));
    fact("grad", (open || !secret(current) || !received[i].some(([step]) => step === current)
      ? gradAt(i, current) : "?") + "  at step " + current +
      (current < last && !quiz.on ? "  (" + gradAt(i, last) + " after the last step)" : ""));
    const k = stepOf[i];
    if (k) {
      fact("processed", "at step " + k);
      el(box, "h4", "Local derivatives");
      if (secret(k)) {
        el(box, "p", "They show once step " + k + " is answered (check yourself).", "hint");
      } else {
        const list = el(box, "ul", undefined, "formulas");
        for (const u of steps[k - 1].updates) {
          const d = "∂" + node.name + "/∂" + nodes[u.child].name;
          el(list, "li", d + " = " + (u.formula ? u.formula + " = " : "") + u.local);
        }
      }
    }
    const terms = received[i].filter(([step]) => !secret(step));
    if (terms.length) {
      el(box, "h4", terms.length === 1 ? "Its one chain-rule term" : "Its " + terms.length +
        " chain-rule terms (a value used " + terms.length + " times gets one per use)");
      const list = el(box, "ul", undefined, "terms");
      for (const [step, from, u] of terms) {
        el(list, "li", "step " + step + ": from " + nodes[from].name + ", term " + u.term +
          ": grad " + u.before + " → " + u.after, step > current ? "future" : "");
      }
    }
    if (node.explain && !open) {
      el(box, "p", "Its chain rule, path by path, shows once its last term is answered.",
        "hint");
    } else if (node.explain) {
      el(box, "h4", "The chain rule, path by path (explain)");
      el(box, "pre", node.explain, "explain");
    }
  }

  // ---- check yourself: the quiz mode -------------------------------------------------------
  // For each child of the step the learner types its new grad or the local derivative. Until
  // the step is answered (checked or revealed) none of its numbers shows: not the notes', the
  // children's grads, the step's text, the inspector's, nor the edge labels. A typed answer is
  // right inside the interval Python wrote for it (u.accept, grading.accepted: check()'s own
  // rule); the script only compares. near() (the recording's tolerance) only names what a wrong
  // number looks like.

  const quiz = {on: false, ask: "grad", done: new Map(), right: 0, wrong: 0, revealed: 0};
  const paren = (t) => (t.startsWith("-") ? "(" + t + ")" : t); // a number as a factor
  function cut(name) { // a name for a row: at most 40 characters (the panels say it whole)
    const chars = Array.from(name);
    return chars.length > 40 ? chars.slice(0, 39).join("") + "…" : name;
  }

  function numbers(u) { // a term's numbers, or null when one is not finite (not asked)
    const n = {local: Number(u.local), term: Number(u.term), grad: Number(u.after),
      before: Number(u.before)};
    return Object.values(n).every(Number.isFinite) && u.accept ? n : null;
  }

  function near(x, value) { // x within the recording's tolerance of value
    return Math.abs(x - value) <= tolerance * Math.abs(value);
  }

  function accepts(u, ask, x) { // x inside the answers Python counts right
    const [low, high] = u.accept[ask];
    return low <= x && x <= high;
  }

  function looksLike(x, n, u, ask) { // what a wrong number is, if it is one of the step's own
    const kinds = ask === "grad" ? [["term", n.term], ["local", n.local], ["-grad", -n.grad],
      ["-term", -n.term], ["before", n.before]] : [["-local", -n.local], ["term", n.term],
      ["grad", n.grad]];
    for (const [kind, v] of kinds) {
      if (!accepts(u, ask, v) && near(x, v)) return kind;
    }
    return "";
  }

  function quizzable(k) { return k > 0 && steps[k - 1].updates.some((u) => numbers(u)); }
  function quizHides(k) { return quiz.on && quizzable(k) && !quiz.done.has(k); }

  function quizControls() {
    const bar = $("counter").parentNode;
    const label = el(bar, "label", undefined, "quiz-toggle");
    const box = el(label, "input");
    box.type = "checkbox";
    box.id = "quiz";
    label.append(" check yourself");
    const ask = el(bar, "select");
    ask.id = "quiz-ask";
    ask.setAttribute("aria-label", "what to type");
    [["grad", "type the new grads"], ["local", "type the local derivatives"]].forEach(
      ([value, text]) => { el(ask, "option", text).value = value; });
    el(bar, "span", "", "quiz-score").id = "quiz-score";
    box.addEventListener("change", () => setQuiz(box.checked, true));
    ask.addEventListener("change", () => { quiz.ask = ask.value; show(current, false); });
    const panel = document.createElement("div");
    panel.id = "quiz-panel";
    $("terms").after(panel);
  }

  function setQuiz(on, byUser) {
    quiz.on = on;
    $("quiz").checked = on;
    $("quiz-ask").hidden = !on;
    document.body.classList.toggle("quizzing", on);
    if (current >= 0) show(current, false);
    if (byUser && hooks.onQuiz) hooks.onQuiz(on);
  }

  function readNumber(text) { // the typed text as a number, or null ("−" typed as a minus)
    const t = text.trim().replace(/\u2212/g, "-");
    return /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t) ? Number(t) : null;
  }

  function answerText(s, u, ask) { // the right answer, its formula with the numbers in
    const name = nodes[s.node].name, c = nodes[u.child].name, d = "∂" + name + "/∂" + c;
    const forms = [u.formula, u.plugged].filter((f, n, all) => f && f !== u.local &&
      all.indexOf(f) === n); // (plugged: written only when it says more)
    const local = d + " = " + forms.map((f) => f + " = ").join("") + u.local;
    if (ask === "local") return local;
    return c + ".grad = " + u.before + " + " + d + " · " + name + ".grad = " + u.before +
      " + " + u.local + "·" + paren(s.grad) + " = " + u.before + " + " + paren(u.term) +
      " = " + u.after + ",  with " + local;
  }

  function meaning(kind, s, u, ask) { // what a wrong number would have meant
    const name = nodes[s.node].name, c = nodes[u.child].name, d = "∂" + name + "/∂" + c;
    const says = {
      "local": "That is the local derivative " + d + " = " + u.local + " alone: the chain " +
        "rule multiplies it by " + name + "'s grad " + s.grad + " and adds it to " + c +
        "'s grad before, " + u.before + ".",
      "term": ask === "grad" ? "That is the term " + u.term + ": you forgot to add the grad " +
        c + " had before this step, " + u.before + "." : "That is the term " + u.term +
        " (the local derivative times " + name + "'s grad " + s.grad + "), not the local " +
        "derivative.",
      "grad": "That is " + c + "'s new grad " + u.after + ", not the local derivative.",
      "-grad": "The sign is wrong.",
      "-local": "The sign is wrong.",
      "-term": "That is the term with the wrong sign, and without the grad before (" +
        u.before + ").",
      "before": "That is " + c + "'s grad before this step: the term " + u.term +
        " is still to be added.",
    };
    return says[kind] || "That is none of the numbers of this step.";
  }

  function checkStep(k, reveal) {
    const s = steps[k - 1], ask = quiz.ask;
    const inputs = [...$("quiz-panel").querySelectorAll("input")];
    const typed = inputs.map((input) => input.value.trim());
    const answers = typed.map(readNumber);
    if (!reveal && s.updates.some((u, j) => numbers(u) && answers[j] === null)) {
      $("quiz-hint").textContent = "Type a number in each box (like -0.3242 or 1e-3), " +
        "or press reveal.";
      return;
    }
    const marks = s.updates.map((u, j) => {
      const n = numbers(u);
      if (!n) return {cls: "given", text: "", why: []};
      if (reveal) {
        quiz.revealed++;
        return {cls: "revealed", text: "revealed", why: [answerText(s, u, ask)]};
      }
      if (accepts(u, ask, answers[j])) {
        quiz.right++;
        return {cls: "right", text: "✓ right", why: []};
      }
      quiz.wrong++;
      return {cls: "wrong", text: "✗ wrong", why: [meaning(looksLike(answers[j], n, u, ask), s, u,
        ask), answerText(s, u, ask)]};
    });
    quiz.done.set(k, {ask: ask, typed: reveal ? s.updates.map((u) =>
      (ask === "grad" ? u.after : u.local)) : typed, marks: marks});
    show(k, false); // the step's numbers show now
  }

  function renderQuiz(k) {
    const panel = $("quiz-panel");
    panel.hidden = !quiz.on;
    $("quiz-score").textContent = quiz.on ? "score " + quiz.right + " / " + (quiz.right +
      quiz.wrong) + (quiz.revealed ? " (" + quiz.revealed + " revealed)" : "") : "";
    if (!quiz.on) return;
    panel.replaceChildren();
    el(panel, "h2", "Check yourself");
    if (!quizzable(k)) {
      el(panel, "p", k === 0 ? "At each step, type what the chain rule gives each child, " +
        "then press Check. Press → (or ▶) to start." : "Nothing to ask at this step.", "hint");
      return;
    }
    const s = steps[k - 1], name = cut(nodes[s.node].name), done = quiz.done.get(k);
    const ask = done ? done.ask : quiz.ask;
    el(panel, "p", ask === "grad" ? "Each child's new grad: its grad before + ∂" + name +
      "/∂child · " + name + "'s grad (" + s.grad + ")." : "Each local derivative ∂" + name +
      "/∂child: the rule of " + nodes[s.node].op + " at the data drawn.", "hint");
    const long = []; // [the row's text, its short form]
    s.updates.forEach((u, j) => {
      const row = el(panel, "div", undefined, "quiz-row");
      tied(row, j + 1);
      el(row, "span", String(j + 1), "badge");
      const c = cut(nodes[u.child].name), d = "∂" + name + "/∂" + c;
      const whole = ask === "grad" ? c + ".grad = " + u.before + " + " + d + "·" +
        paren(s.grad) + " =" : d + " =";
      const label = el(row, "label");
      const say = el(label, "span", whole, "say");
      if (ask === "grad") long.push([say, c + ".grad = " + u.before + " + … ="]);
      const input = el(label, "input");
      input.title = whole;
      input.type = "text";
      input.inputMode = "decimal";
      input.autocomplete = "off";
      if (!numbers(u)) {
        input.value = ask === "grad" ? u.after : u.local;
        input.disabled = true;
      } else if (done) {
        input.value = done.typed[j];
        input.disabled = true;
        const m = done.marks[j];
        el(row, "span", m.text, "mark " + m.cls);
        m.why.forEach((line) => el(row, "div", line, "why"));
      } else {
        input.addEventListener("keydown", (e) => { if (e.key === "Enter") checkStep(k, false); });
      }
    });
    if (!done) {
      const buttons = el(panel, "div", undefined, "quiz-buttons");
      el(buttons, "button", "Check").addEventListener("click", () => checkStep(k, false));
      el(buttons, "button", "reveal").addEventListener("click", () => checkStep(k, true));
      el(buttons, "span", "", "hint").id = "quiz-hint";
    }
    const line = long.length ? 1.5 * parseFloat(getComputedStyle(long[0][0]).lineHeight) : 0;
    for (const [say, text] of long) { // one line a row: a longer one says "…" (the hint says it)
      if (say.offsetHeight > line) say.textContent = text;
    }
    inView(panel);
  }

  function inView(el) { // el scrolled into its scrolling column, if it has one (not the window)
    for (let box = el.parentElement; box; box = box.parentElement) {
      const overflow = getComputedStyle(box).overflowY;
      if ((overflow !== "auto" && overflow !== "scroll") || box.scrollHeight <= box.clientHeight) {
        continue;
      }
      const r = box.getBoundingClientRect(), e = el.getBoundingClientRect();
      if (e.top < r.top || e.height > r.height) box.scrollTop += e.top - r.top - 4;
      else if (e.bottom > r.bottom) box.scrollTop += e.bottom - r.bottom + 4;
      return;
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
    if (e.target.tagName === "INPUT" && e.target.type === "text") return; // typing an answer
    if (e.target.tagName === "SELECT") return;
    const key = {ArrowRight: "next", ArrowLeft: "prev", Home: "first", End: "last", " ": "play",
      "+": "zoom-in", "=": "zoom-in", "-": "zoom-out", "0": "fit"};
    const id = key[e.key];
    if (!id || ($("stepper") && $("stepper").hidden)) return;
    e.preventDefault(); // (space on a focused button: play, not that button)
    $(id).click();
  });

  // ---- the view: zoom (wheel, + − 0, the buttons) and pan (drag, scroll bars) ------------
  // The drawing's width and height follow the zoom; the pane scrolls. The least zoom keeps
  // the drawing's smallest text at MIN_TEXT_PX on screen; "fit" shows all of the drawing if
  // it fits at that, else as much as it can, on the step.

  const MIN_TEXT_PX = 12, PX_PER_UNIT = 4 / 3, MAX_ZOOM = 3; // Graphviz's units are points
  let zoom = 1, dragged = false;
  const least = () => MIN_TEXT_PX / (smallest * PX_PER_UNIT) + 1e-4; // (+: no 11.9999 px)

  function setZoom(z, at) { // at: [clientX, clientY] kept where it is, else the view's middle
    const view = svg.parentNode, r = view.getBoundingClientRect();
    const [cx, cy] = at || [r.left + r.width / 2, r.top + r.height / 2];
    const before = svg.getBoundingClientRect();
    const fx = (cx - before.left) / (before.width || 1);
    const fy = (cy - before.top) / (before.height || 1);
    zoom = Math.max(least(), Math.min(MAX_ZOOM, z));
    svg.setAttribute("width", (base.width * zoom).toFixed(2) + "pt");
    svg.setAttribute("height", (base.height * zoom).toFixed(2) + "pt");
    const after = svg.getBoundingClientRect();
    view.scrollLeft += after.left + fx * after.width - cx;
    view.scrollTop += after.top + fy * after.height - cy;
    $("zoom-level").textContent = Math.round(100 * zoom) + "%";
    $("zoom-out").disabled = zoom <= least() + 1e-9;
    $("zoom-in").disabled = zoom >= MAX_ZOOM;
  }

  function fitView() {
    const view = svg.parentNode, style = getComputedStyle(view);
    const w = view.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const h = view.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
    const whole = Math.min(w / base.width, h > 40 ? h / base.height : Infinity) / PX_PER_UNIT;
    setZoom(Math.min(1.25, whole));
    if (current >= 0) show(current, false); // and on the step again
  }

  $("zoom-in").addEventListener("click", () => setZoom(zoom * 1.25));
  $("zoom-out").addEventListener("click", () => setZoom(zoom / 1.25));
  $("fit").addEventListener("click", fitView);

  function pannable(view) { // wheel zooms at the pointer; a drag pans (a click still inspects)
    view.addEventListener("wheel", (e) => {
      if (e.shiftKey) return; // shift + wheel: the scroll bars' own sideways scroll
      e.preventDefault();
      setZoom(zoom * Math.exp(-Math.max(-100, Math.min(100, e.deltaY)) / 300),
        [e.clientX, e.clientY]);
    }, {passive: false});
    let start = null;
    view.addEventListener("pointerdown", (e) => {
      if (e.button !== 0 || e.pointerType === "touch") return;
      start = [e.clientX, e.clientY, view.scrollLeft, view.scrollTop];
      dragged = false;
    });
    view.addEventListener("pointermove", (e) => {
      if (!start) return;
      const dx = e.clientX - start[0], dy = e.clientY - start[1];
      if (!dragged && Math.abs(dx) + Math.abs(dy) < 4) return;
      if (!dragged) view.setPointerCapture(e.pointerId);
      dragged = true;
      view.classList.add("dragging");
      view.scrollLeft = start[2] - dx;
      view.scrollTop = start[3] - dy;
    });
    const end = () => {
      start = null;
      view.classList.remove("dragging");
      setTimeout(() => { dragged = false; }, 0); // after the click this drag would make
    };
    view.addEventListener("pointerup", end);
    view.addEventListener("pointercancel", end);
  }

  // ---- mounting, and feeding another recording ------------------------------------------

  function load(recording, drawing, k) {
    stop();
    if (drawing && drawing !== svg) {
      attach(drawing);
      selected = -1;
      current = -1;
      fitView();
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
  pannable(svg.parentNode);
  fitView();
  quizControls();
  setQuiz(hooks.quiz !== undefined ? hooks.quiz : /(^#|&)quiz(&|$)/.test(location.hash), false);
  return {show: show, load: load, stop: stop, quiz: (on) => setQuiz(on, false), hides: hides,
    get current() { return current; }, get last() { return last; },
    get quizOn() { return quiz.on; }};
};

// ---- the backprop page: one recording, #step=N, #step=0, #step=end links ---------------

(function () {
  const script = document.getElementById("backprop-data");
  if (!script) return; // another page (a training page) mounts the stepper itself
  const data = JSON.parse(script.textContent);
  const last = data.steps.length;

  function hashParts() { // "#quiz", "#step=N", "#quiz&step=N" (N a number or "end")
    const parts = location.hash.slice(1).split("&");
    const m = parts.map((p) => /^step=(\d+|end)$/.exec(p)).find(Boolean);
    const step = !m ? 0 : m[1] === "end" ? last : Math.min(last, Number(m[1]));
    return {quiz: parts.includes("quiz"), step: step};
  }

  let stepper = null;
  function setHash(k) {
    const hash = (stepper && stepper.quizOn ? "#quiz&step=" : "#step=") + k;
    if (location.hash === hash) return;
    try {
      history.replaceState(null, "", hash);
    } catch (e) { // some browsers refuse replaceState on a page opened from disk
      location.replace(hash);
    }
  }

  const opened = hashParts();
  stepper = micrograd.stepper(document.querySelector("#graph svg"), data,
    {onStep: setHash, quiz: opened.quiz, onQuiz: () => setHash(stepper.current)});
  window.addEventListener("hashchange", () => {
    const wanted = hashParts();
    if (wanted.quiz !== stepper.quizOn) stepper.quiz(wanted.quiz);
    stepper.show(wanted.step, false);
  });
  stepper.show(opened.step, false);
  document.documentElement.dataset.ready = "1";
})();
