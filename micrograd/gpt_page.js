// The GPT page: shows the recorded step asked for. Every number and picture was made in
// Python (micrograd/gpt_page.py); this script only puts a record's parts in their places.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("gpt-data").textContent);
  const records = data.records;
  const $ = (id) => document.getElementById(id);
  const scrub = $("scrub");
  scrub.max = String(Math.max(0, records.length - 1));
  $("curve").innerHTML = data.curve;  // an SVG made by Python, its texts escaped there
  for (const q of document.querySelectorAll("#probe, .probe")) q.textContent = data.name;
  $("parameter").textContent = data.parameter;
  $("sample-note").textContent = "(temperature " + data.temperature + ", seeded by the step)";

  function rows(table, cells) {
    const body = table.querySelector("tbody");
    body.replaceChildren();
    for (const row of cells) {
      const tr = document.createElement("tr");
      for (const cell of row) {
        const td = document.createElement("td");
        td.textContent = cell;
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
  }

  function show(index) {
    index = Math.max(0, Math.min(records.length - 1, index));
    const r = records[index];
    scrub.value = String(index);
    $("counter").textContent = "step " + r.step + " / " + data.steps + " · loss " + r.loss;
    const list = $("samples");
    list.replaceChildren();
    for (const name of r.samples) {
      const li = document.createElement("li");
      li.textContent = name || "(empty)";
      list.appendChild(li);
    }
    $("heatmaps").innerHTML = r.heatmaps.join("");  // SVGs made by Python
    rows($("positions"), r.positions);
    $("name-loss").textContent = "(mean " + r.name_loss + ")";
    rows($("matrices"), r.matrices);
    $("explain").textContent = r.explain;
    for (const dot of document.querySelectorAll("circle.mark")) {
      dot.classList.toggle("current", dot.dataset.step === String(r.step));
    }
    const hash = "#step=" + r.step;
    if (location.hash !== hash) history.replaceState(null, "", hash);
  }

  function fromHash() {
    const m = /step=(\d+|end)/.exec(location.hash);
    if (!m) return 0;
    if (m[1] === "end") return records.length - 1;
    const found = records.findIndex((r) => String(r.step) === m[1]);
    return found < 0 ? 0 : found;
  }

  scrub.addEventListener("input", () => show(Number(scrub.value)));
  $("prev").addEventListener("click", () => show(Number(scrub.value) - 1));
  $("next").addEventListener("click", () => show(Number(scrub.value) + 1));
  document.addEventListener("keydown", (e) => {
    if (e.key === "ArrowLeft") show(Number(scrub.value) - 1);
    else if (e.key === "ArrowRight") show(Number(scrub.value) + 1);
  });
  $("curve").addEventListener("click", (e) => {
    const dot = e.target.closest("circle.mark");
    if (dot) show(records.findIndex((r) => String(r.step) === dot.dataset.step));
  });
  window.addEventListener("hashchange", () => show(fromHash()));
  show(fromHash());
  document.documentElement.dataset.ready = "1";
})();
