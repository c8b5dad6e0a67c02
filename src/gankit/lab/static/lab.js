// gankit lab: the page draws, the server's Trainer trains. Written for this package; no libraries.
"use strict";
const TOKEN = new URLSearchParams(location.search).get("token") || "";
const $ = (id) => document.getElementById(id);
const api = (path) => path + (path.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(TOKEN);
let frame = null, state = null, walking = false, drawing = false, drawn = [];
let beside = [], compareKey = null;  // runs side by side: {value, events, canvas, caption}; the setting they differ in

async function post(path, body) {
  const r = await fetch(api(path), {method: "POST", headers: {"Content-Type": "application/json"},
                                     body: JSON.stringify(body)});
  const answer = await r.json();
  if (!r.ok) throw new Error(answer.error || ("HTTP " + r.status));
  return answer;
}

function say(text, error) {
  const s = $("status");
  s.textContent = text;
  s.className = error ? "status error" : "status";
}

async function control(body) {
  try {
    const answer = await post("/api/control", body);
    for (let i = 0; i < beside.length; i++) {  // the runs beside step together and take the same settings
      const set = Object.assign({}, body.set || {});
      delete set[compareKey];
      await post(`/api/control?run=${i + 1}`, {action: body.action, set: set});
    }
    if (answer.reset) say(answer.reset);
    else if (answer.applied && answer.applied.length) say("applied " + answer.applied.join(", ") + " at step " + answer.step);
    await refresh();
    return answer;
  } catch (e) { say(e.message, true); await refresh(); return null; }
}

// ---- settings and the URL hash -------------------------------------------------------------
function configValue(key) {
  if (!state) return undefined;
  if (key === "seed") return state.config.seed;
  const [section, name] = key.split(".");
  return state.config[section] && state.config[section][name];
}

function showState() {
  if (!state) return;
  $("step").textContent = state.step;
  $("ud").textContent = state.updates.d;
  $("ug").textContent = state.updates.g;
  $("play").textContent = state.playing ? "pause" : "play";
  $("problem").value = state.problem;
  if (state.error) say(state.error, true);
  for (const el of document.querySelectorAll("#controls [data-key]")) {
    if (el === document.activeElement) continue;
    const v = configValue(el.dataset.key);
    if (el.type === "checkbox") el.checked = !!v; else if (v !== undefined) el.value = v;
  }
  const hash = new URLSearchParams({problem: state.problem});
  for (const [k, v] of Object.entries(state.overrides)) hash.set(k, v);
  const link = location.pathname + location.search + "#" + hash.toString();
  $("link").href = link;
  history.replaceState(null, "", link);
}

async function refresh() {
  const r = await fetch(api("/api/state"));
  if (r.ok) { state = await r.json(); showState(); }
}

function parseHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  const set = {};
  for (const [k, v] of params) set[k] = v;
  return set;
}

function render() {
  if (!frame) return;
  if (frame.dim === 2) { draw2d($("view"), frame, frame.d, false); draw2d($("dstar"), frame, frame.d_star, true); }
  else { draw1d($("view"), frame, frame.d, false); draw1d($("dstar"), frame, frame.d_star, true); }
  if (drawn.length) {
    const c = $("view"), xy = frame.dim === 2 ? to2d(frame, c.width, c.height) :
      (p) => [(p[0] - frame.lo[0]) / (frame.hi[0] - frame.lo[0]) * c.width, c.height - 30];
    dots(c.getContext("2d"), drawn, xy, "rgba(0,0,0,0.8)", 2.5);
  }
  drawCharts(frame.series);
  $("bandwidth").textContent = frame.h.toPrecision(2);
  const n = frame.now, fmt = (v) => v === null || v === undefined ? "–" : Number(v).toPrecision(3);
  $("now").textContent = "JSD (densities) " + fmt(n.jsd) + (n.total ? " · modes " + n.modes + "/" + n.total +
    " · HQ " + fmt(n.hq) : "");
}

// ---- Algorithm 1, slowly -------------------------------------------------------------------
const pause = (ms) => new Promise((done) => setTimeout(done, ms));

async function walk() {
  if (walking) return;
  walking = true;
  try {
    await control({action: "pause"});
    const k = configValue("train.k") || 1, m = configValue("data.batch_size");
    for (let i = 1; i <= k; i++) {
      $("caption").textContent = `D update ${i} of k = ${k}: sample m = ${m} noise vectors z ~ p_z and m examples x ~ p_data; ` +
        "ascend D's stochastic gradient of  mean log D(x) + mean log(1 − D(G(z))). Watch the heat map.";
      await pause(1500);
      await control({action: "step_d"});
      await pause(1200);
    }
    $("caption").textContent = `G update: sample m = ${m} fresh noise vectors z; descend G's cost ` +
      `(${configValue("train.g_cost")}) through the fixed D. Watch the samples follow the arrows.`;
    await pause(1500);
    await control({action: "step_g"});
    await pause(1500);
    $("caption").textContent = "One iteration of Algorithm 1 done: press play, or walk again.";
  } finally { walking = false; }
}

// ---- side by side ---------------------------------------------------------------------------
function closeBeside() {
  for (const b of beside) b.events.close();
  beside = [];
  $("runs").textContent = "";
}

async function compare(values) {
  try {
    const key = $("compare-key").value;
    const answer = await post("/api/compare", {key: key, values: values});
    closeBeside();
    compareKey = values.length ? key : null;
    values.forEach((value, i) => {
      const fig = document.createElement("figure"), canvas = document.createElement("canvas");
      const caption = document.createElement("figcaption");
      canvas.width = 300; canvas.height = 300;
      fig.append(canvas, caption);
      $("runs").append(fig);
      const events = new EventSource(api(`/api/frames?run=${i + 1}`));
      const run = {value: value, events: events, canvas: canvas, caption: caption};
      events.onmessage = (e) => drawBeside(run, JSON.parse(e.data), key);
      beside.push(run);
    });
    say(values.length ? `${answer.runs} runs: ${key} differs; press play` : "one run");
    await refresh();
  } catch (e) { say(e.message, true); }
}

function drawBeside(run, f, key) {
  if (f.dim === 2) draw2d(run.canvas, f, f.d, true); else draw1d(run.canvas, f, f.d, true);
  const n = f.now, fmt = (v) => v === null || v === undefined ? "–" : Number(v).toPrecision(3);
  run.caption.textContent = `${key} = ${run.value} · step ${f.state.step} · JSD ${fmt(n.jsd)}` +
    (n.total ? ` · modes ${n.modes}/${n.total}` : "");
}

// ---- wiring ------------------------------------------------------------------------------
function exportPng() {
  const c = $("view"), out = document.createElement("canvas");
  out.width = c.width + $("dstar").width + 10; out.height = c.height;
  const ctx = out.getContext("2d");
  ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, out.width, out.height);
  ctx.drawImage(c, 0, 0); ctx.drawImage($("dstar"), c.width + 10, 0);
  out.toBlob((blob) => {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `gankit-lab-${state ? state.problem : "view"}-step${state ? state.step : 0}.png`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  });
}

// ---- the user's own data: drawn on the main view, or a CSV / .npz file --------------------
function toData(event) {
  const c = $("view"), r = c.getBoundingClientRect();
  const u = (event.clientX - r.left) / r.width, v = (event.clientY - r.top) / r.height;
  const x = frame.lo[0] + u * (frame.hi[0] - frame.lo[0]);
  if (frame.dim === 1) return [x];
  return [x, frame.hi[1] - v * (frame.hi[1] - frame.lo[1])];
}

function spray(event) {
  if (!drawing || !frame || !(event.buttons & 1)) return;
  const p = toData(event), spread = 0.01 * (frame.hi[0] - frame.lo[0]);
  for (let i = 0; i < 4; i++) drawn.push(p.map((v) => v + spread * (Math.random() + Math.random() - 1)));
  $("use-drawn").disabled = drawn.length < 8;
  $("use-drawn").textContent = `train on ${drawn.length} drawn points`;
  render();
}

async function sendData(body) {
  try {
    const answer = await post("/api/data", body);
    say((answer.reset || "data replaced") + ": press play");
  } catch (e) { say(e.message, true); }
  await refresh();
}

function parseCsv(text) {
  const points = [];
  for (const line of text.split(/\r?\n/)) {
    const cells = line.split(/[,;\s]+/).filter((c) => c.length);
    if (!cells.length) continue;
    const values = cells.map(Number);
    if (values.some((v) => !isFinite(v))) continue;  // a header line
    points.push(values.slice(0, 2));
  }
  return points;
}

async function upload(file) {
  if (file.name.toLowerCase().endsWith(".npz")) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    let text = "";
    for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    await sendData({npz_base64: btoa(text)});
  } else {
    await sendData({points: parseCsv(await file.text())});
  }
}

function wire() {
  $("draw").addEventListener("click", () => {
    drawing = !drawing;
    $("draw").textContent = drawing ? "stop drawing" : "draw data";
    if (drawing) { drawn = []; say("drag on the main view to spray points"); }
  });
  $("view").addEventListener("pointerdown", spray);
  $("view").addEventListener("pointermove", spray);
  $("use-drawn").addEventListener("click", async () => {
    drawing = false;
    $("draw").textContent = "draw data";
    await sendData({points: drawn});
    drawn = [];
    $("use-drawn").disabled = true;
    $("use-drawn").textContent = "train on drawn points";
  });
  $("upload").addEventListener("change", (e) => { if (e.target.files.length) upload(e.target.files[0]); });
  $("play").addEventListener("click", () => control({action: state && state.playing ? "pause" : "play"}));
  for (const id of ["step_d", "step_g", "reset"]) $(id).addEventListener("click", () => control({action: id}));
  $("walk").addEventListener("click", walk);
  $("png").addEventListener("click", exportPng);
  $("export").addEventListener("click", async () => {
    try { const a = await post("/api/export", {out: $("out").value}); say("wrote " + a.out + " at step " + a.step); }
    catch (e) { say(e.message, true); }
  });
  $("problem").addEventListener("change", async (e) => {
    if (beside.length) await compare([]);  // another problem: one run again
    control({set: {problem: e.target.value}});
  });
  $("compare").addEventListener("click", () => compare($("compare-values").value.split(",").map((v) => v.trim())
    .filter((v) => v.length).slice(0, 2)));
  $("uncompare").addEventListener("click", () => compare([]));
  for (const el of document.querySelectorAll("#controls [data-key]")) {
    el.addEventListener("change", () => {
      const value = el.type === "checkbox" ? el.checked : el.value;
      control({set: {[el.dataset.key]: value}});
    });
  }
  for (const el of document.querySelectorAll(".layers input")) el.addEventListener("change", render);
}

async function replay() {  // the same link replays the same run: its settings, from step 0
  const fromHash = parseHash();
  if (!Object.keys(fromHash).length) return false;
  const answer = await control({set: fromHash});
  if (answer && !answer.reset) await control({action: "reset"});
  return true;
}

async function start() {
  wire();
  if (!(await replay())) await refresh();
  // A link pasted into this tab changes only the hash: no reload, so listen for it (replaceState fires nothing).
  window.addEventListener("hashchange", replay);
  const events = new EventSource(api("/api/frames"));
  events.onmessage = (e) => {
    frame = JSON.parse(e.data);
    state = frame.state;
    showState();
    render();
  };
}

document.addEventListener("DOMContentLoaded", start);
