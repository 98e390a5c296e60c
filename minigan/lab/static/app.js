// The lab's page: asks the server for the run (GET /api/state), draws it, asks again.
//
// Nothing is computed here that the learner should trust: the GAN, its heatmap, its gradients and the
// divergences are all computed by minigan in the server (minigan/lab/views.py), and each view links to
// the function that computes it. This file only draws what it is given and posts what the user does.
// The API is documented at the top of minigan/lab/server.py.
"use strict";

// ----- constants ------------------------------------------------------------------------------------
const ARROW_MAX_PIXELS = 24;    // the longest gradient arrow of a frame; the others in proportion
const DRAW_SPACING = 0.04;      // plane units between two drawn points along a stroke
const DRAWN_MAX = 5000;         // the server accepts 3 to 5000 drawn points (distributions.DRAWN_LIMITS)
const NUMERIC_FIELDS = new Set(["r1_gamma", "k", "batch_size", "noise_dim", "g_lr", "d_lr",
                                "g_layers", "g_width", "d_layers", "d_width"]);
const COLORS = {
  real: "#1b7837", fake: "#762a83", d: "#1f6fb4", g: "#d95f02",
  arrow: "rgba(20, 20, 20, 0.55)", manifold: "rgba(90, 90, 90, 0.55)", drawn: "#e08a00",
  js: "#444", kl: "#c0392b",
};
// The heatmap's colours: D's "fake" end purple, undecided pale grey, "real" end green (light, so that
// the points on top stay visible). Same three colours as the .swatch.heat legend in style.css.
const HEAT_STOPS = [[196, 165, 222], [244, 244, 244], [159, 212, 159]];

// ----- the page's state -----------------------------------------------------------------------------
const page = {
  state: null,            // the last frame drawn (the JSON of GET /api/state)
  shownVersion: 0,        // its version: the long poll asks for anything newer
  codeKey: "",            // the code map last turned into links (redone only when it changes)
  settingsKey: "",        // the settings last copied into the form
  frameTimes: [],         // when each recent frame was drawn, for the fps counter
  drawing: { on: false, stroke: false, points: [], last: null },
};

const $ = (id) => document.getElementById(id);
const distribution = $("distribution");
const heatmapImage = document.createElement("canvas");   // size × size, scaled up onto the plane
const heatPalette = buildPalette();

// ----- talking to the server ------------------------------------------------------------------------
async function request(method, path, body) {
  const options = { method, headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  let data = null;
  try { data = await response.json(); } catch (parseError) { data = { error: `${response.status}: not JSON` }; }
  return { ok: response.ok, status: response.status, data };
}

// A POST from a control: its refusal (HTTP 400 or 409, one line) is shown next to the form; its answer,
// the run after the request, is drawn at once rather than waiting for the long poll to bring it.
async function post(path, body) {
  let answer;
  try {
    answer = await request("POST", path, body);
  } catch (networkError) {
    showError(`${path}: the server did not answer`);
    return null;
  }
  if (!answer.ok) {
    const line = answer.data && answer.data.error ? answer.data.error : `${path}: HTTP ${answer.status}`;
    showError(line);
    if (answer.status === 409) showDiverged(line);   // 409: a step asked of a run that diverged
    return null;
  }
  showError("");
  $("connection").textContent = "";
  const state = answer.data.state || answer.data;   // /api/config wraps the state: {rebuilt, state}
  if (state && state.version > page.shownVersion) show(state);
  return answer.data;
}

function showError(text) {
  $("error").textContent = text;
}

// The redraw loop: a long poll. The server answers as soon as the run has a version newer than the one
// drawn (or after a second with the same one), so while playing each frame is fetched once, right after
// it is made, and while paused the page asks once a second.
async function pollLoop() {
  for (;;) {
    let answer;
    try {
      answer = await request("GET", `/api/state?after=${page.shownVersion}`);
    } catch (networkError) {
      $("connection").textContent = "the server is not answering; retrying";
      await new Promise((resolve) => setTimeout(resolve, 1000));
      continue;
    }
    if (!answer.ok) {   // the server answered but could not make a frame: say so, and do not hammer it
      $("connection").textContent = answer.data && answer.data.error ? answer.data.error : `HTTP ${answer.status}`;
      await new Promise((resolve) => setTimeout(resolve, 1000));
      continue;
    }
    $("connection").textContent = "";
    const state = answer.data;
    // An older version can only mean a restarted server (the version never goes back otherwise).
    if (state.version !== page.shownVersion) show(state);
  }
}

// ----- one frame ------------------------------------------------------------------------------------
function show(state) {
  page.state = state;
  page.shownVersion = state.version;
  drawDistribution(state);
  drawOverview(state);
  drawMetrics(state.history);
  showCounters(state);
  showCodeLinks(state.code);
  syncForm(state.settings);
  page.frameTimes.push(performance.now());
}

function showCounters(state) {
  const c = state.counters;
  $("iteration").textContent = c.iteration;
  $("d-steps").textContent = c.discriminator_steps;
  $("g-steps").textContent = c.generator_steps;
  $("phase").textContent = `${c.phase} / ${state.settings.k}`;
  $("phase").title = `D steps made of the iteration under way (k = ${state.settings.k})`;
  $("steps-per-frame").textContent = state.steps_per_frame;
  $("play").classList.toggle("on", state.playing && state.speed === "normal");
  $("slow").classList.toggle("on", state.playing && state.speed === "slow");
  for (const element of document.querySelectorAll(".box-size")) element.textContent = state.box;
  showDiverged(state.diverged);
}

// "diverged at step N": loud, with its own reset button, until a frame of a healthy run arrives.
function showDiverged(line) {
  $("diverged").hidden = !line;
  $("diverged-text").textContent = line || "";
}

// The fps shown is frames drawn in the last second, counted over a sliding window.
setInterval(() => {
  const now = performance.now();
  page.frameTimes = page.frameTimes.filter((time) => now - time <= 1000);
  $("fps").textContent = page.frameTimes.length;
}, 250);

// ----- the distribution view ------------------------------------------------------------------------
// Plane coordinates (x right, y up, in [−box, box]) to canvas pixels (y down), and back.
function toPixels(x, y, box) {
  return [(x + box) / (2 * box) * distribution.width, (box - y) / (2 * box) * distribution.height];
}
function toPlane(px, py, box) {
  return [px / distribution.width * 2 * box - box, box - py / distribution.height * 2 * box];
}

function drawDistribution(state) {
  const ctx = distribution.getContext("2d");
  const box = state.box;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, distribution.width, distribution.height);
  if ($("show-heatmap").checked) drawHeatmap(ctx, state.heatmap);
  drawAxes(ctx, box);
  if ($("show-manifold").checked && state.manifold) drawManifold(ctx, state.manifold, box);
  // Fake under real: the data's points sit in tight modes, and drawn last they stay visible where G's
  // points pile onto them; G's points elsewhere are not covered.
  if ($("show-fake").checked) drawPoints(ctx, state.fake, box, COLORS.fake);
  if ($("show-real").checked) drawPoints(ctx, state.real, box, COLORS.real, 1.8);
  if ($("show-gradients").checked) drawArrows(ctx, state.fake, state.gradients, box);
  if (page.drawing.on) drawPoints(ctx, page.drawing.points, box, COLORS.drawn, 1.5);
  describeLayers(state);
}

// 256 colours from D's "fake" end to its "real" end, through pale grey at the middle.
function buildPalette() {
  const palette = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = i / 255 * 2;                       // 0..1: first half of the stops, 1..2: second half
    const [a, b] = t <= 1 ? [HEAT_STOPS[0], HEAT_STOPS[1]] : [HEAT_STOPS[1], HEAT_STOPS[2]];
    const f = t <= 1 ? t : t - 1;
    for (let channel = 0; channel < 3; channel++) palette[i * 3 + channel] = a[channel] + (b[channel] - a[channel]) * f;
  }
  return palette;
}

// D's verdict over the plane. A probability keeps its own scale, [0, 1], so that 0.5 (D cannot tell) is
// always grey; a score (WGAN-GP's critic, LSGAN's D) has no natural scale and is stretched from its
// lowest to its highest value on the plane. One pixel per grid cell on a small canvas, then one scaled
// drawImage: a few microseconds, where size² fillRects would cost the frame.
function drawHeatmap(ctx, heatmap) {
  const size = heatmap.size;
  if (heatmapImage.width !== size) { heatmapImage.width = size; heatmapImage.height = size; }
  const [low, high] = heatmap.kind === "probability" ? [0, 1] : [heatmap.low, heatmap.high];
  const span = high > low ? high - low : 1;
  const image = new ImageData(size, size);
  const values = heatmap.values;
  for (let i = 0; i < values.length; i++) {      // values run row by row from the top (y = +box): image order
    const t = Math.min(1, Math.max(0, (values[i] - low) / span));
    const c = Math.round(t * 255) * 3;
    image.data[i * 4] = heatPalette[c];
    image.data[i * 4 + 1] = heatPalette[c + 1];
    image.data[i * 4 + 2] = heatPalette[c + 2];
    image.data[i * 4 + 3] = 255;
  }
  heatmapImage.getContext("2d").putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = true;              // cell centres blend smoothly, as D itself is smooth
  ctx.drawImage(heatmapImage, 0, 0, distribution.width, distribution.height);
}

function drawAxes(ctx, box) {
  ctx.strokeStyle = "rgba(0, 0, 0, 0.12)";
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (let v = Math.ceil(-box); v <= box; v++) {
    const [px, py] = toPixels(v, v, box);
    ctx.moveTo(Math.round(px) + 0.5, 0); ctx.lineTo(Math.round(px) + 0.5, distribution.height);
    ctx.moveTo(0, Math.round(py) + 0.5); ctx.lineTo(distribution.width, Math.round(py) + 0.5);
  }
  ctx.stroke();
  ctx.fillStyle = "rgba(0, 0, 0, 0.45)";
  ctx.font = "10px sans-serif";
  for (let v = Math.ceil(-box) + 1; v < box; v++) {
    const [px, py] = toPixels(v, v, box);
    ctx.fillText(String(v), px + 2, distribution.height - 3);
    if (v !== 0) ctx.fillText(String(v), 2, py - 2);
  }
}

function drawPoints(ctx, points, box, color, radius = 2.2) {
  ctx.fillStyle = color;
  ctx.beginPath();                               // one path, one fill: hundreds of points at the cost of one
  for (const [x, y] of points) {
    const [px, py] = toPixels(x, y, box);
    ctx.moveTo(px + radius, py);
    ctx.arc(px, py, radius, 0, 2 * Math.PI);
  }
  ctx.fill();
}

// The arrows are −∂L_G/∂x, the push of G's loss on each fake point. Their true lengths differ by orders
// of magnitude over a run (D saturates, a critic grows), so each frame is scaled by its own longest
// arrow: the directions and the relative sizes are true, the absolute length is in the legend.
function drawArrows(ctx, points, gradients, box) {
  let longest = 0;
  for (const [gx, gy] of gradients) longest = Math.max(longest, Math.hypot(gx, gy));
  page.longestArrow = longest;
  if (!(longest > 0)) return;
  const scale = ARROW_MAX_PIXELS / longest;      // pixels per unit of gradient
  ctx.strokeStyle = COLORS.arrow;
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (let i = 0; i < points.length; i++) {
    const [px, py] = toPixels(points[i][0], points[i][1], box);
    const dx = gradients[i][0] * scale, dy = -gradients[i][1] * scale;   // canvas y points down
    const length = Math.hypot(dx, dy);
    if (length < 1) continue;
    const ex = px + dx, ey = py + dy;
    ctx.moveTo(px, py); ctx.lineTo(ex, ey);
    const head = Math.min(4, length / 2), ux = dx / length, uy = dy / length;
    ctx.moveTo(ex - head * (ux - 0.5 * uy), ey - head * (uy + 0.5 * ux)); ctx.lineTo(ex, ey);
    ctx.lineTo(ex - head * (ux + 0.5 * uy), ey - head * (uy - 0.5 * ux));
  }
  ctx.stroke();
}

function drawManifold(ctx, lines, box) {
  ctx.strokeStyle = COLORS.manifold;
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (const line of lines) {
    line.forEach(([x, y], i) => {
      const [px, py] = toPixels(x, y, box);
      if (i === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
    });
  }
  ctx.stroke();
}

// The legend says which quantity the colours are, on which scale, and how long the arrows really are.
function describeLayers(state) {
  const heatmap = state.heatmap;
  if (heatmap.kind === "probability") {
    $("heatmap-title").textContent = 'D(x) = σ(logit): probability "real"';
    $("heatmap-low").textContent = "0";
    $("heatmap-high").textContent = "1";
  } else {
    $("heatmap-title").textContent = "D(x): a score, not a probability; colours span its range on the plane";
    $("heatmap-low").textContent = formatNumber(heatmap.low);
    $("heatmap-high").textContent = formatNumber(heatmap.high);
  }
  $("arrow-note").textContent = page.longestArrow > 0
    ? `arrows: −∂L_G/∂x per fake point, to scale: the longest, |∇| = ${formatNumber(page.longestArrow)}, is ${ARROW_MAX_PIXELS} px`
    : "arrows: −∂L_G/∂x on each fake point (all zero now)";
  $("manifold-note").textContent = state.manifold ? "" : "(drawn for noise dim 1 or 2 only)";
}

function drawColorbar() {
  const bar = $("colorbar");
  const ctx = bar.getContext("2d");
  const image = ctx.createImageData(bar.width, bar.height);
  for (let x = 0; x < bar.width; x++) {
    const c = Math.round(x / (bar.width - 1) * 255) * 3;
    for (let y = 0; y < bar.height; y++) {
      const i = (y * bar.width + x) * 4;
      image.data.set([heatPalette[c], heatPalette[c + 1], heatPalette[c + 2], 255], i);
    }
  }
  ctx.putImageData(image, 0, 0);
}

// ----- the model overview ---------------------------------------------------------------------------
function drawOverview(state) {
  const svg = $("overview");
  svg.classList.toggle("last-d", state.last_substep === "d");
  svg.classList.toggle("last-g", state.last_substep === "g");
  $("d-loss").textContent = formatNumber(state.losses.d_loss);
  $("g-loss").textContent = formatNumber(state.losses.g_loss);
  const caption = {
    d: "last sub-step: a D step — D's weights moved (real and fake in, L_D out)",
    g: "last sub-step: a G step — G's weights moved, through the frozen D",
  }[state.last_substep] || "no step yet";
  $("overview-caption").textContent = caption;
  $("substep-text").textContent = `objective ${state.settings.objective}, k = ${state.settings.k}`;
}

// ----- metrics over time ----------------------------------------------------------------------------
function drawMetrics(history) {
  const losses = $("losses");
  const lossCtx = losses.getContext("2d");
  lossCtx.clearRect(0, 0, losses.width, losses.height);
  plotSeries(lossCtx, [0, 0, losses.width, losses.height], history, [
    { key: "d_loss", label: "L_D", color: COLORS.d },
    { key: "g_loss", label: "L_G", color: COLORS.g },
  ]);
  // JS lives in [0, ln 2] and KL runs to 5 or more: on one axis JS would be a flat line, so two panels.
  const divergences = $("divergences");
  const ctx = divergences.getContext("2d");
  ctx.clearRect(0, 0, divergences.width, divergences.height);
  const half = divergences.width / 2;
  plotSeries(ctx, [0, 0, half - 4, divergences.height], history, [{ key: "js", label: "JS (nats)", color: COLORS.js }]);
  plotSeries(ctx, [half + 4, 0, half - 4, divergences.height], history, [{ key: "kl", label: "KL(data‖G)", color: COLORS.kl }]);
}

// Lines of history[*][key] against the sub-step, in the rectangle [left, top, width, height], on one
// y axis fitted to the values. A null (no step of that player since the last record) breaks the line.
function plotSeries(ctx, [left, top, width, height], history, series) {
  const margin = { left: 40, right: 6, top: 16, bottom: 14 };
  const x0 = left + margin.left, x1 = left + width - margin.right;
  const y0 = top + height - margin.bottom, y1 = top + margin.top;
  let low = Infinity, high = -Infinity;
  for (const record of history) {
    for (const { key } of series) {
      const v = record[key];
      if (v !== null && Number.isFinite(v)) { low = Math.min(low, v); high = Math.max(high, v); }
    }
  }
  ctx.font = "10px sans-serif";
  ctx.textBaseline = "alphabetic";
  series.forEach(({ label, color }, i) => {      // the legend, top right
    ctx.fillStyle = color;
    ctx.fillText(label, x1 - 60 * (series.length - i) + 10, top + 11);
  });
  ctx.strokeStyle = "#bbb";
  ctx.strokeRect(x0 + 0.5, y1 + 0.5, x1 - x0, y0 - y1);
  if (history.length === 0 || low === Infinity) return;
  if (high - low < 1e-9) { high += 0.5; low -= 0.5; }
  const first = history[0].step, last = Math.max(history[history.length - 1].step, first + 1);
  const px = (step) => x0 + (step - first) / (last - first) * (x1 - x0);
  const py = (v) => y0 - (v - low) / (high - low) * (y0 - y1);
  ctx.fillStyle = "#666";
  ctx.fillText(formatNumber(high), left + 2, y1 + 8);
  ctx.fillText(formatNumber(low), left + 2, y0);
  ctx.fillText(`sub-step ${last}`, x1 - 70, y0 + 11);
  for (const { key, color } of series) {
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    let drawing = false;
    for (const record of history) {
      const v = record[key];
      if (v === null || !Number.isFinite(v)) { drawing = false; continue; }
      if (drawing) ctx.lineTo(px(record.step), py(v)); else ctx.moveTo(px(record.step), py(v));
      drawing = true;
    }
    ctx.stroke();
  }
}

function formatNumber(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  const magnitude = Math.abs(v);
  if (magnitude !== 0 && (magnitude >= 1e4 || magnitude < 1e-3)) return v.toExponential(2);
  return v.toPrecision(4).replace(/\.?0+$/, "") || "0";
}

// ----- the code beside the picture ------------------------------------------------------------------
// Every element with data-code="PART" lists the functions of state.code[PART] as links; the map depends
// on the objective and the optimisers, so it is redone when it changes.
function showCodeLinks(code) {
  const key = JSON.stringify(code);
  if (key === page.codeKey) return;
  page.codeKey = key;
  for (const holder of document.querySelectorAll("[data-code]")) {
    holder.replaceChildren(...(code[holder.dataset.code] || []).map((name) => {
      const link = document.createElement("a");
      link.className = "code";
      link.href = "#";
      link.dataset.name = name;
      link.textContent = name;
      link.title = `show the source of ${name}`;
      return link;
    }));
  }
}

async function showSource(name) {
  let answer;
  try {
    answer = await request("GET", `/api/source?name=${encodeURIComponent(name)}`);
  } catch (networkError) {
    showError("/api/source: the server did not answer");
    return;
  }
  if (!answer.ok) { showError(answer.data.error); return; }
  const { file, line, source } = answer.data;
  $("source-title").textContent = `${file}:${line}  (${name})`;
  $("source-code").textContent = dedent(source);
  $("source-panel").hidden = false;
  for (const link of document.querySelectorAll("a.code")) link.classList.toggle("open", link.dataset.name === name);
}

// A method's source comes indented as in its class; shown alone, the indent only pushes it off the panel.
function dedent(text) {
  const lines = text.replace(/\s+$/, "").split("\n");
  const indents = lines.filter((line) => line.trim()).map((line) => line.match(/^ */)[0].length);
  const common = indents.length ? Math.min(...indents) : 0;
  return lines.map((line) => line.slice(common)).join("\n");
}

// ----- the settings form ----------------------------------------------------------------------------
// The form shows the server's settings (a preset or another tab may change them), except the field
// being edited, and the data choice while the user is drawing.
function syncForm(settings) {
  const key = JSON.stringify(settings);
  if (key === page.settingsKey) return;
  page.settingsKey = key;
  const form = $("settings");
  for (const [name, value] of Object.entries(settings)) {
    const field = form.elements.namedItem(name);
    if (!field || field === document.activeElement) continue;
    if (name === "data" && page.drawing.on) continue;
    field.value = String(value);
    field.classList.remove("invalid");
  }
}

function fieldValue(field) {
  if (!NUMERIC_FIELDS.has(field.name)) return field.value;
  const text = field.value.trim();
  // Not checked here: the server's one line says what is accepted, so the page sends what was typed.
  return text === "" ? null : (Number.isFinite(Number(text)) ? Number(text) : text);
}

async function onSettingChanged(event) {
  const field = event.target;
  if (!field.name) return;
  if (field.name === "data" && field.value === "drawn") { setDrawingMode(true); return; }
  if (field.name === "data") setDrawingMode(false);
  const answer = await post("/api/config", { [field.name]: fieldValue(field) });
  field.classList.toggle("invalid", answer === null);
}

// ----- drawing a distribution -----------------------------------------------------------------------
function setDrawingMode(on) {
  page.drawing.on = on;
  $("drawing-panel").hidden = !on;
  distribution.classList.toggle("drawing-mode", on);
  if (on) $("settings").elements.namedItem("data").value = "drawn";
  if (page.state) drawDistribution(page.state);
}

function canvasPoint(event) {
  const rect = distribution.getBoundingClientRect();   // includes the border; the drawing does not
  const px = (event.clientX - rect.left - distribution.clientLeft) / distribution.clientWidth * distribution.width;
  const py = (event.clientY - rect.top - distribution.clientTop) / distribution.clientHeight * distribution.height;
  const box = page.state ? page.state.box : 3;
  const [x, y] = toPlane(px, py, box);
  const clip = (v) => Math.min(box, Math.max(-box, v));   // the server refuses points outside the box
  return [clip(x), clip(y)];
}

// A point at every DRAW_SPACING along the stroke, however fast the mouse moved: a quick stroke and a
// slow one give the same density, so the drawing is a distribution, not a record of the hand's speed.
function addStrokePoint(point) {
  const points = page.drawing.points;
  const last = page.drawing.last;
  const steps = last ? Math.floor(Math.hypot(point[0] - last[0], point[1] - last[1]) / DRAW_SPACING) : 0;
  for (let i = 1; i <= steps && points.length < DRAWN_MAX; i++) {
    const f = i / steps;
    points.push([round4(last[0] + (point[0] - last[0]) * f), round4(last[1] + (point[1] - last[1]) * f)]);
  }
  if (!last && points.length < DRAWN_MAX) points.push([round4(point[0]), round4(point[1])]);
  if (!last || steps > 0) page.drawing.last = point;
  $("drawn-count").textContent = points.length;
  if (page.state) drawDistribution(page.state);
}

function round4(v) { return Math.round(v * 1e4) / 1e4; }

distribution.addEventListener("mousedown", (event) => {
  if (!page.drawing.on || event.button !== 0) return;
  event.preventDefault();                       // no text selection while drawing
  page.drawing.stroke = true;
  page.drawing.last = null;
  addStrokePoint(canvasPoint(event));
});
distribution.addEventListener("mousemove", (event) => {
  if (page.drawing.on && page.drawing.stroke) addStrokePoint(canvasPoint(event));
});
window.addEventListener("mouseup", () => { page.drawing.stroke = false; });

$("use-drawing").addEventListener("click", async () => {
  const answer = await post("/api/config", { data: "drawn", drawn: page.drawing.points });
  if (answer !== null) setDrawingMode(false);
});
$("clear-drawing").addEventListener("click", () => {
  page.drawing.points = [];
  $("drawn-count").textContent = 0;
  if (page.state) drawDistribution(page.state);
});

// ----- controls -------------------------------------------------------------------------------------
$("play").addEventListener("click", () => post("/api/play", { speed: "normal" }));
$("slow").addEventListener("click", () => post("/api/play", { speed: "slow" }));
$("pause").addEventListener("click", () => post("/api/pause", {}));
$("reset").addEventListener("click", () => post("/api/reset", {}));
$("diverged-reset").addEventListener("click", () => post("/api/reset", {}));
$("step-d").addEventListener("click", () => post("/api/step", { what: "d", count: 1 }));
$("step-g").addEventListener("click", () => post("/api/step", { what: "g", count: 1 }));
$("step-iteration").addEventListener("click", () => post("/api/step", { what: "iteration", count: 1 }));
$("settings").addEventListener("change", onSettingChanged);
$("settings").addEventListener("submit", (event) => event.preventDefault());   // Enter commits via "change"
$("source-close").addEventListener("click", () => {
  $("source-panel").hidden = true;
  for (const link of document.querySelectorAll("a.code.open")) link.classList.remove("open");
});
document.addEventListener("click", (event) => {
  const link = event.target.closest("a.code");
  if (!link) return;
  event.preventDefault();
  showSource(link.dataset.name);
});
for (const id of ["show-heatmap", "show-real", "show-fake", "show-gradients", "show-manifold"]) {
  $(id).addEventListener("change", () => { if (page.state) drawDistribution(page.state); });
}

async function loadPresets() {
  let answer;
  try { answer = await request("GET", "/api/presets"); } catch (networkError) { return; }
  if (!answer.ok) return;
  const holder = $("presets");
  for (const [name, text] of Object.entries(answer.data)) {
    const button = document.createElement("button");
    button.type = "button";
    button.id = `preset-${name}`;
    button.textContent = name;
    button.title = text;
    button.addEventListener("click", async () => {
      if (await post("/api/preset", { name }) !== null) {
        $("preset-text").textContent = text;
        setDrawingMode(false);
      }
    });
    holder.appendChild(button);
  }
}

drawColorbar();
loadPresets();
pollLoop();
