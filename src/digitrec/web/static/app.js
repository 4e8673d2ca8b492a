"use strict";
// digitrec page: draw, upload, drop or paste an image; show the answer from /api/predict or /api/read.
(function () {
  const $ = (id) => document.getElementById(id);
  const pad = $("pad"), ctx = pad.getContext("2d");
  const strokes = [];          // each stroke: {width, points: [[x, y], ...]}; redrawn for undo
  let current = null, timer = null, lastSource = null;

  function mode() { return document.querySelector("input[name=mode]:checked").value; }
  function endpoint() { return mode() === "number" ? "/api/read" : "/api/predict"; }

  // ---------------------------------------------------------------- drawing
  function redraw() {
    ctx.fillStyle = "#000"; ctx.fillRect(0, 0, pad.width, pad.height);
    ctx.strokeStyle = "#fff"; ctx.lineCap = "round"; ctx.lineJoin = "round";
    for (const s of strokes) {
      ctx.lineWidth = s.width; ctx.beginPath();
      s.points.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
      if (s.points.length === 1) ctx.lineTo(s.points[0][0] + 0.1, s.points[0][1]);
      ctx.stroke();
    }
  }
  function point(e) {
    const r = pad.getBoundingClientRect();
    return [(e.clientX - r.left) * pad.width / r.width, (e.clientY - r.top) * pad.height / r.height];
  }
  pad.addEventListener("pointerdown", (e) => {
    e.preventDefault(); pad.setPointerCapture(e.pointerId);
    current = { width: Number($("brush").value), points: [point(e)] };
    strokes.push(current); redraw();
  });
  pad.addEventListener("pointermove", (e) => {
    if (!current) return;
    current.points.push(point(e)); redraw(); schedule();
  });
  const finish = () => { if (current) { current = null; schedule(); } };
  pad.addEventListener("pointerup", finish);
  pad.addEventListener("pointercancel", finish);
  $("undo").addEventListener("click", () => { strokes.pop(); redraw(); schedule(); });
  $("clear").addEventListener("click", () => { strokes.length = 0; redraw(); clearBoxes($("pad-boxes")); showHint(); });
  document.addEventListener("keydown", (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key === "z") { e.preventDefault(); $("undo").click(); }
  });

  function schedule() {             // predict as you draw, at most every 250 ms of quiet
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (!strokes.length) { showHint(); return; }
      lastSource = "pad";
      send(JSON.stringify({ image: pad.toDataURL("image/png") }), "application/json");
    }, 250);
  }

  // ---------------------------------------------------------------- files
  function useFile(file) {
    if (!file) return;
    const url = URL.createObjectURL(file);
    $("photo").src = url; $("photo-stage").hidden = false; clearBoxes($("photo-boxes"));
    lastSource = "photo"; lastFile = file;
    const form = new FormData(); form.append("image", file);
    send(form, null);
  }
  let lastFile = null;
  $("file").addEventListener("change", (e) => useFile(e.target.files[0]));
  const drop = $("drop");
  ["dragenter", "dragover"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add("over"); }));
  ["dragleave", "drop"].forEach((t) => drop.addEventListener(t, () => drop.classList.remove("over")));
  drop.addEventListener("drop", (e) => { e.preventDefault(); useFile(e.dataTransfer.files[0]); });
  document.addEventListener("paste", (e) => {
    const item = [...(e.clipboardData || {}).items || []].find((i) => i.type.startsWith("image/"));
    if (item) useFile(item.getAsFile());
  });
  document.querySelectorAll("input[name=mode]").forEach((r) => r.addEventListener("change", () => {
    if (lastSource === "pad" && strokes.length) schedule();
    else if (lastSource === "photo" && lastFile) useFile(lastFile);
  }));

  // ---------------------------------------------------------------- answer
  let seq = 0;
  async function send(body, type) {
    const mine = ++seq;
    const opts = { method: "POST", body };
    if (type) opts.headers = { "Content-Type": type };
    try {
      const resp = await fetch(endpoint(), opts);
      const data = await resp.json();
      if (mine !== seq) return;       // a newer request is on its way
      if (!resp.ok) { showError(data.error || resp.statusText); return; }
      if (mode() === "number") showReading(data); else showPrediction(data);
    } catch (err) {
      if (mine === seq) showError("the server did not answer: " + err);
    }
  }
  const STATUS = { ok: "", uncertain: "uncertain", no_digit: "no digit found" };
  function showHint() { $("hint").hidden = false; $("answer").hidden = true; $("error").hidden = true; }
  function showError(msg) { $("error").textContent = msg; $("error").hidden = false; $("answer").hidden = true; $("hint").hidden = true; }
  function showCommon(status, conf, ms) {
    $("hint").hidden = true; $("error").hidden = true; $("answer").hidden = false;
    $("status").textContent = STATUS[status] || "recognised";
    $("status").className = "fs-5 status-" + status;
    $("confidence").textContent = conf == null ? "" : "confidence " + (100 * conf).toFixed(1) + "%";
    $("timing").textContent = ms != null ? "answered in " + ms + " ms" : "";
  }
  function showPrediction(d) {
    $("digit").textContent = d.status === "ok" ? d.digit : (d.guess == null ? "–" : d.guess + "?");
    showCommon(d.status, d.guess == null ? null : d.confidence, d.ms);
    $("seen").src = d.input; $("seen-fig").hidden = false;
    const bars = $("bars"); bars.replaceChildren(); bars.hidden = false; $("digits").replaceChildren();
    d.probabilities.forEach((p, k) => {
      const li = document.createElement("li");
      if (k === d.guess) li.className = "top";
      li.innerHTML = '<span></span><span class="bar"><span class="fill"></span></span><span class="pct"></span>';
      li.children[0].textContent = k;
      li.querySelector(".fill").style.width = (100 * p).toFixed(1) + "%";
      li.children[2].textContent = (100 * p).toFixed(1) + "%";
      li.setAttribute("aria-label", k + ": " + (100 * p).toFixed(1) + " percent");
      bars.appendChild(li);
    });
    drawBoxes(d.status === "no_digit" ? [] : [d.box]);
  }
  function showReading(r) {
    $("digit").textContent = r.text == null ? "–" : r.text;
    const conf = r.digits.length ? Math.min(...r.digits.map((x) => x.confidence)) : null;
    showCommon(r.status, conf, r.ms);
    $("seen-fig").hidden = true; $("bars").hidden = true;
    const row = $("digits"); row.replaceChildren();
    r.digits.forEach((x) => {
      const div = document.createElement("div"); div.className = "chip";
      const img = document.createElement("img"); img.src = x.input; img.alt = "digit " + x.digit + " as the network saw it";
      const cap = document.createElement("div"); cap.className = "small status-" + x.status;
      cap.textContent = x.digit + " · " + (100 * x.confidence).toFixed(0) + "%";
      div.append(img, cap); row.appendChild(div);
    });
    drawBoxes(r.digits.map((x) => x.box));
  }
  function clearBoxes(c) { c.getContext("2d").clearRect(0, 0, c.width, c.height); }
  function drawBoxes(boxes) {
    let c, w, h;
    if (lastSource === "pad") { c = $("pad-boxes"); w = pad.width; h = pad.height; }
    else { c = $("photo-boxes"); const img = $("photo"); w = img.naturalWidth; h = img.naturalHeight; }
    c.width = w; c.height = h; clearBoxes(c);
    const g = c.getContext("2d");
    g.strokeStyle = "#ff3b30"; g.lineWidth = Math.max(2, w / 140);
    boxes.filter((b) => b && b[2] > 0).forEach(([x, y, bw, bh]) => g.strokeRect(x, y, bw, bh));
  }
  redraw();
})();
