// The setup page's floor plan (loaded after setup.js, whose helpers and text tables it uses): each
// camera's picture tied to the plan by point pairs (a floor mark clicked in the picture and on the
// plan, or its metres typed), the fit's residual in centimetres from the setup process, every
// camera's footprint on the plan with overlaps shaded, and the site's rooms drawn in metres.
"use strict";
const plan = $("plan"), pctx = plan.getContext("2d");
// Metres the plan shows at least (a large waiting area), so that a room or a mark can be placed
// before anything else is on it; it grows with what is drawn, and corners can be typed besides.
const PLAN_LEAST = [[0, 0], [25, 15]];
const SNAP_M = 0.05;  // a click on the plan lands on 5 cm: what a tape measure gives
const PAIR_COLOUR = "#e67e22", OUTLIER_COLOUR = "#c0392b";
let mode = "zones", floorTool = "points", roomDrawing = [], planPointer = null, planBox = null;
let selectedPair = null, dragPoint = null;
const floor = { revision: 0, sent: 0, rooms: [], calibs: new Map(), view: null, dirty: false, timer: null,
                loaded: false };

// --- the draft and the server --------------------------------------------------------------------

function floorApply(state) {
  const server = state.floor;
  if (!floor.loaded) {
    floor.rooms = server.draft.rooms.map(r => ({ key: nextKey++, origin: r.origin, id: r.id, name: r.name || "",
                                                  polygon: r.polygon.map(p => [p[0], p[1]]), loiter: r.loiter_limit_s }));
    for (const [id, c] of Object.entries(server.draft.calibrations)) {
      floor.calibs.set(id, { points: c.points.map(p => ({ key: nextKey++, image: p.image, floor: p.floor })),
                             opencv: c.opencv });
    }
    floor.revision = floor.sent = server.revision;
    floor.loaded = true;
    renderFloorSide();
  }
  if (server.revision === floor.revision) floor.view = server;
}

function calibOf(id) {
  if (!floor.calibs.has(id)) floor.calibs.set(id, { points: [], opencv: null });
  return floor.calibs.get(id);
}

function floorToServer() {
  const calibrations = {};
  for (const [id, c] of floor.calibs) {
    const points = c.points.filter(p => p.image && p.floor).map(p => ({ image: p.image, floor: p.floor }));
    calibrations[id] = { points, opencv: points.length ? null : c.opencv };
  }
  return {
    rooms: floor.rooms.map(r => ({ origin: r.origin, id: r.id, name: r.name.trim() || null, polygon: r.polygon,
                                   loiter_limit_s: r.loiter })),
    calibrations,
  };
}

function floorChanged(structure = false) {
  floor.revision += 1;
  floor.dirty = true;
  clearTimeout(floor.timer);
  floor.timer = setTimeout(() => sendFloor().catch(() => {}), 250);  // offline: sent again on save
  if (structure) renderFloorSide();
  renderFloor();
}

async function sendFloor() {
  clearTimeout(floor.timer);
  floor.timer = null;
  const revision = floor.revision;
  const answer = await api("/api/floor", { method: "POST", body: JSON.stringify({ revision, floor: floorToServer() }) });
  // The server busy or failing (408, 429, 5xx): not sent, so the next poll sends it again.
  if (answer.status === 408 || answer.status === 429 || answer.status >= 500) throw new Error(String(answer.status));
  const body = await answer.json();
  if (!answer.ok) {  // a value the page let through (a number out of range): said once, the last view kept
    floor.sent = revision;
    showNotice("bad", body.error.message, (body.error.problems || []).map(p => p.path + ": " + p.message));
    return;
  }
  if (revision !== floor.revision || body.stale) return;
  floor.sent = revision;
  floor.view = body;
  renderFloor();
}

function floorSaved() {
  floor.dirty = false;
  for (const room of floor.rooms) room.origin = room.id;
}

// --- mode and tools ------------------------------------------------------------------------------

function setMode(name) {
  mode = name;
  $("stage").dataset.mode = mode;
  for (const [id, value] of [["mode-zones", "zones"], ["mode-floor", "floor"]])
    $(id).setAttribute("aria-pressed", String(mode === value));
  for (const id of ["tool-select", "tool-zone", "tool-mask", "delete"]) $(id).hidden = mode === "floor";
  for (const id of ["tool-points", "tool-room"]) $(id).hidden = mode !== "floor";
  for (const id of ["zones-title", "zones", "masks-title", "masks"]) $(id).hidden = mode === "floor";
  $("floorside").hidden = mode !== "floor";
  plan.hidden = mode !== "floor";
  setTool("select");
  setFloorTool("points");
  renderFloorSide();
  render();
}

function setFloorTool(name) {
  floorTool = name;
  roomDrawing = [];
  planPointer = null;
  for (const [id, value] of [["tool-points", "points"], ["tool-room", "room"]])
    $(id).setAttribute("aria-pressed", String(floorTool === value));
  plan.dataset.tool = floorTool;
  floorButtons();
  renderPlan();
}

function floorButtons() {
  if (mode !== "floor") return;
  $("finish").disabled = floorTool !== "room" || roomDrawing.length < 3;
  $("cancel").disabled = floorTool !== "room";
  $("hint").textContent = floorTool === "room" ? t.hintRoom : t.hintPoints;
}

// --- the picture: pairs' picture points -----------------------------------------------------------

function pairsOf(cameraId) { return calibOf(cameraId).points; }

function pairColour(cameraId, index) {
  const fit = floor.view && floor.view.fits[cameraId];
  return fit && fit.inliers.length && fit.inliers[completeIndex(cameraId, index)] === false ? OUTLIER_COLOUR : PAIR_COLOUR;
}

function completeIndex(cameraId, index) {  // the pair's place among those sent (complete ones)
  return pairsOf(cameraId).slice(0, index).filter(p => p.image && p.floor).length;
}

function marker(context, x, y, number, colour, chosen) {
  context.beginPath();
  context.arc(x, y, chosen ? 12 : 10, 0, 2 * Math.PI);
  context.fillStyle = colour;
  context.fill();
  context.lineWidth = chosen ? 3 : 2;
  context.strokeStyle = chosen ? "#ffe14d" : "#fff";
  context.stroke();
  context.fillStyle = "#fff";
  context.font = "700 12px system-ui, sans-serif";
  context.textAlign = "center";
  context.textBaseline = "middle";
  context.fillText(String(number), x, y + 0.5);
}

function drawPairsOnPicture(w, h) {
  pairsOf(current).forEach((pair, i) => {
    if (pair.image) marker(ctx, pair.image[0] * w, pair.image[1] * h, i + 1, pairColour(current, i), pair.key === selectedPair);
  });
}

function pairPointer(view, p, tolerance) {
  const pairs = pairsOf(current);
  const close = view === "image" ? (q => near(q, p, tolerance)) : (q => nearOnPlan(q, p, tolerance));
  const found = pairs.find(pair => pair[view] && close(pair[view]));
  if (found) return { pair: found, view };
  // A pair with this side missing takes the point; else a new pair begins here.
  let pair = pairs.find(q => !q[view]);
  if (!pair) {
    pair = { key: nextKey++, image: null, floor: null };
    pairs.push(pair);
  }
  pair[view] = p;
  selectedPair = pair.key;
  floorChanged(true);
  return null;
}

function pictureDown(event) {
  const p = fraction(event);
  dragPoint = pairPointer("image", p, event.pointerType === "touch" ? 22 : 12);
  if (dragPoint) {
    selectedPair = dragPoint.pair.key;
    canvas.setPointerCapture(event.pointerId);
    renderFloor();
  }
}

function pictureMove(event) {
  if (!dragPoint || dragPoint.view !== "image") return;
  dragPoint.pair.image = fraction(event);
  dragPoint.moved = true;
  renderFloor();
}

function endPointDrag() {
  if (dragPoint && dragPoint.moved) floorChanged(true);
  dragPoint = null;
}

// --- the plan: metres on a canvas -----------------------------------------------------------------

function planBounds() {
  const points = [];
  for (const room of floor.rooms) points.push(...room.polygon);
  const view = floor.view;
  if (view) for (const fit of Object.values(view.fits)) points.push(...fit.footprint);
  for (const c of floor.calibs.values()) for (const pair of c.points) if (pair.floor) points.push(pair.floor);
  points.push(...roomDrawing, ...PLAN_LEAST);
  const xs = points.map(p => p[0]), ys = points.map(p => p[1]);
  const margin = 4;  // metres of paper around: a camera's name beside its footprint
  return [Math.floor(Math.min(...xs)) - margin, Math.floor(Math.min(...ys)) - margin,
          Math.ceil(Math.max(...xs)) + margin, Math.ceil(Math.max(...ys)) + margin];
}

function planSize() {
  const stage = $("stage").getBoundingClientRect();
  if (stacked()) return { w: Math.max(1, Math.floor(stage.width)), h: Math.max(1, Math.floor(stage.width)) };
  return { w: Math.max(1, Math.floor((stage.width - 12) / 2)), h: Math.max(1, Math.floor(stage.height)) };
}

function toPlan(p) { return [planBox.ox + p[0] * planBox.scale, planBox.oy + p[1] * planBox.scale]; }

function metres(event) {
  const box = plan.getBoundingClientRect();
  const snap = v => Math.round(v / SNAP_M) * SNAP_M;
  const x = (event.clientX - box.left - planBox.ox) / planBox.scale;
  const y = (event.clientY - box.top - planBox.oy) / planBox.scale;
  return [Number(snap(x).toFixed(2)), Number(snap(y).toFixed(2))];
}

function nearOnPlan(a, b, tolerance) {
  return Math.hypot(a[0] - b[0], a[1] - b[1]) * planBox.scale <= tolerance;
}

function planPath(points) {
  pctx.beginPath();
  points.forEach((p, i) => { const [x, y] = toPlan(p); if (i) pctx.lineTo(x, y); else pctx.moveTo(x, y); });
  pctx.closePath();
}

function cameraColour(id) { return colour([...cams.keys()].indexOf(id)); }

function hatch() {
  const tile = document.createElement("canvas");
  tile.width = tile.height = 8;
  const c = tile.getContext("2d");
  c.strokeStyle = "rgba(20,30,45,.4)";
  c.lineWidth = 1.5;
  c.beginPath();
  c.moveTo(0, 8); c.lineTo(8, 0); c.moveTo(-2, 2); c.lineTo(2, -2); c.moveTo(6, 10); c.lineTo(10, 6);
  c.stroke();
  return pctx.createPattern(tile, "repeat");
}

function renderPlan() {
  if (mode !== "floor") return;
  const { w, h } = planSize();
  if (!dragPoint || !planBox) {  // the plan holds still while a point is dragged
    const [x0, y0, x1, y1] = planBounds();
    const margin = 28;
    const scale = Math.min((w - 2 * margin) / (x1 - x0), (h - 2 * margin - 24) / (y1 - y0));
    planBox = { scale, ox: margin - x0 * scale, oy: margin - y0 * scale, bounds: [x0, y0, x1, y1],
                height: Math.min(h, Math.ceil((y1 - y0) * scale + 2 * margin + 24)) };
  }
  const ratio = window.devicePixelRatio || 1;
  plan.style.width = w + "px";
  plan.style.height = planBox.height + "px";  // no empty paper below the plan
  if (plan.width !== Math.round(w * ratio) || plan.height !== Math.round(planBox.height * ratio)) {
    plan.width = Math.round(w * ratio);
    plan.height = Math.round(planBox.height * ratio);
  }
  pctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  const [x0, y0, x1, y1] = planBox.bounds;
  pctx.fillStyle = "#fff";
  pctx.fillRect(0, 0, w, planBox.height);
  // The grid: a line each metre, darker each 5 m with its figure.
  for (let x = Math.ceil(x0); x <= x1; x++) gridLine([x, y0], [x, y1], x % 5 === 0, String(x), "x");
  for (let y = Math.ceil(y0); y <= y1; y++) gridLine([x0, y], [x1, y], y % 5 === 0, String(y), "y");
  const view = floor.view || { fits: {}, overlaps: [], coverage: {} };
  // Rooms under the footprints: their outline and name stay readable above the shading.
  for (const room of floor.rooms) {
    if (room.polygon.length < 3) continue;
    planPath(room.polygon);
    pctx.fillStyle = "rgba(31,111,178,.06)";
    pctx.fill();
  }
  const fits = Object.values(view.fits).filter(f => f.footprint.length >= 3);
  for (const fit of fits) {
    planPath(fit.footprint);
    pctx.fillStyle = cameraColour(fit.camera) + "2e";
    pctx.fill();
  }
  const pattern = hatch();
  for (const overlap of view.overlaps) {  // shared floor: darker and hatched
    const [a, b] = overlap.cameras.map(id => view.fits[id]);
    if (!a || !b) continue;
    pctx.save();
    planPath(a.footprint);
    pctx.clip();
    planPath(b.footprint);
    pctx.fillStyle = "rgba(20,30,45,.1)";
    pctx.fill();
    pctx.fillStyle = pattern;
    pctx.fill();
    pctx.restore();
  }
  for (const fit of fits) {
    planPath(fit.footprint);
    pctx.strokeStyle = cameraColour(fit.camera);
    pctx.lineWidth = fit.camera === current ? 3 : 1.5;
    pctx.setLineDash(fit.camera === current ? [] : [6, 4]);
    pctx.stroke();
    pctx.setLineDash([]);
  }
  for (const room of floor.rooms) {
    if (room.polygon.length < 3) continue;
    planPath(room.polygon);
    pctx.strokeStyle = "#1d2733";
    pctx.lineWidth = 2.5;
    pctx.stroke();
  }
  for (const fit of fits) {  // the camera's name just inside the floor nearest to it (its picture's bottom)
    const near = fit.footprint[Math.floor(fit.footprint.length * 5 / 8)];
    const [cx, cy] = toPlan(centre(fit.footprint)), [nx, ny] = toPlan(near);
    const away = Math.hypot(nx - cx, ny - cy) || 1;
    const [lx, ly] = [nx + (nx - cx) / away * 34, ny + (ny - cy) / away * 34];  // beyond it, on the paper
    planLabel(fit.camera, Math.min(w - 40, Math.max(40, lx)), Math.min(planBox.height - 34, Math.max(14, ly)),
              cameraColour(fit.camera));
  }
  floor.rooms.forEach((room, i) => {
    if (room.polygon.length < 3) return;
    const [x, y] = toPlan(centre(room.polygon));
    const covered = view.coverage[String(i)];
    planLabel((room.name.trim() || room.id) + (covered ? "  " + t.area(covered.area_m2) : ""), x, y, "#1d2733");
  });
  pairsOf(current).forEach((pair, i) => {
    if (!pair.floor) return;
    const [x, y] = toPlan(pair.floor);
    marker(pctx, x, y, i + 1, pairColour(current, i), pair.key === selectedPair);
  });
  if (roomDrawing.length) {
    pctx.beginPath();
    roomDrawing.forEach((p, i) => { const [x, y] = toPlan(p); if (i) pctx.lineTo(x, y); else pctx.moveTo(x, y); });
    if (planPointer) pctx.lineTo(...toPlan(planPointer));
    pctx.strokeStyle = "#1d2733";
    pctx.lineWidth = 2;
    pctx.setLineDash([5, 4]);
    pctx.stroke();
    pctx.setLineDash([]);
    for (const p of roomDrawing) { const [x, y] = toPlan(p); pctx.fillStyle = "#1d2733"; pctx.fillRect(x - 4, y - 4, 8, 8); }
  }
  scaleBar(w, planBox.height);
  plan.dataset.overlaps = String(view.overlaps.length);
  plan.dataset.footprints = fits.map(f => f.camera).join(" ");
}

function gridLine(a, b, major, figure, axis) {
  const [ax, ay] = toPlan(a), [bx, by] = toPlan(b);
  pctx.beginPath();
  pctx.moveTo(ax, ay);
  pctx.lineTo(bx, by);
  pctx.strokeStyle = major ? "#b9c3cf" : "#e8ecf1";
  pctx.lineWidth = 1;
  pctx.stroke();
  if (!major) return;
  pctx.fillStyle = "#5b6675";
  pctx.font = "12px system-ui, sans-serif";
  pctx.textAlign = axis === "x" ? "center" : "right";
  pctx.textBaseline = axis === "x" ? "bottom" : "middle";
  if (axis === "x") pctx.fillText(figure, ax, ay - 4);
  else pctx.fillText(figure, ax - 4, ay);
}

function planLabel(text, x, y, fill) {
  pctx.font = "600 13px system-ui, sans-serif";
  const width = pctx.measureText(text).width + 12;
  pctx.fillStyle = fill;
  pctx.beginPath();
  pctx.roundRect(x - width / 2, y - 11, width, 22, 5);
  pctx.fill();
  pctx.fillStyle = "#fff";
  pctx.textAlign = "center";
  pctx.textBaseline = "middle";
  pctx.fillText(text, x, y + 1);
}

function scaleBar(w, h) {
  const metresShown = planBox.scale * 5 <= w / 3 ? 5 : 1;
  const length = metresShown * planBox.scale, x = 14, y = h - 14;
  pctx.fillStyle = "#1d2733";
  pctx.fillRect(x, y - 4, length, 4);
  pctx.fillRect(x, y - 9, 2, 9);
  pctx.fillRect(x + length - 2, y - 9, 2, 9);
  pctx.font = "600 12px system-ui, sans-serif";
  pctx.textAlign = "left";
  pctx.textBaseline = "bottom";
  pctx.fillText(metresShown + " m", x + length + 6, y + 1);
}

plan.addEventListener("pointerdown", event => {
  if (!planBox) return;
  event.preventDefault();
  const m = metres(event);
  const tolerance = event.pointerType === "touch" ? 22 : 12;
  if (floorTool === "room") {
    if (roomDrawing.length >= 3 && nearOnPlan(roomDrawing[0], m, tolerance)) finishRoom();
    else { roomDrawing.push(m); renderPlan(); floorButtons(); }
    return;
  }
  dragPoint = pairPointer("floor", m, tolerance);
  if (dragPoint) {
    selectedPair = dragPoint.pair.key;
    plan.setPointerCapture(event.pointerId);
    renderFloor();
  }
});

plan.addEventListener("pointermove", event => {
  if (!planBox) return;
  if (dragPoint && dragPoint.view === "floor") {
    dragPoint.pair.floor = metres(event);
    dragPoint.moved = true;
    renderFloor();
  } else if (floorTool === "room" && roomDrawing.length) {
    planPointer = metres(event);
    renderPlan();
  }
});
plan.addEventListener("pointerup", endPointDrag);
plan.addEventListener("pointercancel", endPointDrag);

function finishRoom() {
  if (roomDrawing.length < 3) return;
  const ids = new Set(floor.rooms.map(r => r.id));
  let n = floor.rooms.length + 1;
  while (ids.has("raum-" + n)) n += 1;
  floor.rooms.push({ key: nextKey++, origin: null, id: "raum-" + n, name: "", polygon: roomDrawing, loiter: DEFAULT_LOITER_S });
  roomDrawing = [];
  setFloorTool("points");
  floorChanged(true);
}

// --- the side: the camera's pairs, the plan's rooms -------------------------------------------------

// A text with camera ids in it: the ids are names, not words (translate="no", as on the zone cards).
function showWithNames(node, text, names) {
  const key = JSON.stringify([text, names]);
  if (node.dataset.shown === key) return;
  node.dataset.shown = key;
  const ids = [...new Set(names)].sort((a, b) => b.length - a.length);
  const escaped = ids.map(id => id.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const parts = ids.length ? text.split(new RegExp("(?<![\\w-])(" + escaped.join("|") + ")(?![\\w-])")) : [text];
  node.replaceChildren(...parts.map(part => {
    if (!ids.includes(part)) return part;
    const name = document.createElement("span");
    name.setAttribute("translate", "no");
    name.textContent = part;
    return name;
  }));
}

function renderFloorSide() {
  if (mode !== "floor" || current === null) return;
  const body = $("pairs").querySelector("tbody");
  body.replaceChildren(...pairsOf(current).map((pair, i) => pairRow(pair, i)));
  $("rooms").replaceChildren(...floor.rooms.map(room => roomCard(room)));
  updateFloorSide();
}

function pairRow(pair, i) {
  const row = document.createElement("tr");
  row.dataset.key = pair.key;
  row.innerHTML = '<td class="n"></td><td class="img"></td><td><input class="fx" type="number" step="0.01"></td>' +
    '<td><input class="fy" type="number" step="0.01"></td><td class="res"></td>' +
    '<td><button type="button" class="pdelete">×</button></td>';
  const [x, y] = [".fx", ".fy"].map(s => row.querySelector(s));
  if (pair.floor) { x.value = String(pair.floor[0]); y.value = String(pair.floor[1]); }
  const typed = () => {
    const values = [x.value, y.value].map(v => (v.trim() === "" ? NaN : Number(v)));
    pair.floor = values.every(Number.isFinite) ? values : null;
    selectedPair = pair.key;
    floorChanged();
  };
  x.addEventListener("input", typed);
  y.addEventListener("input", typed);
  row.querySelector(".pdelete").addEventListener("click", () => {
    calibOf(current).points = pairsOf(current).filter(p => p !== pair);
    floorChanged(true);
  });
  row.addEventListener("pointerdown", () => { selectedPair = pair.key; renderFloor(); });
  return row;
}

function roomCard(room) {
  const card = document.createElement("article");
  card.className = "card room";
  card.dataset.key = room.key;
  card.innerHTML = '<div class="top"><span class="title"></span><span class="count"></span></div>' +
    '<label><span class="l-id"></span><input class="rid" autocomplete="off" spellcheck="false"></label>' +
    '<label><span class="l-name"></span><input class="rname" autocomplete="off"></label>' +
    '<label><span class="l-corners"></span><input class="rcorners" autocomplete="off" spellcheck="false"></label>' +
    '<p class="seen"></p><p class="problem"></p>' +
    '<div class="actions"><button type="button" class="rdelete"></button></div>';
  const [id, name, corners] = [".rid", ".rname", ".rcorners"].map(s => card.querySelector(s));
  id.value = room.id;
  name.value = room.name;
  corners.value = cornersText(room.polygon);
  corners.addEventListener("input", () => {  // "x y; x y; ..." in metres
    const parsed = corners.value.split(";").map(c => c.trim().split(/[\s,]+/).map(Number));
    const ok = parsed.length >= 3 && parsed.every(p => p.length === 2 && p.every(Number.isFinite));
    corners.setAttribute("aria-invalid", String(!ok));
    if (ok) { room.polygon = parsed; floorChanged(); }
  });
  id.addEventListener("input", () => { room.id = id.value.trim(); floorChanged(); });
  name.addEventListener("input", () => { room.name = name.value; floorChanged(); });
  card.querySelector(".rdelete").addEventListener("click", () => {
    floor.rooms = floor.rooms.filter(r => r !== room);
    floorChanged(true);
  });
  return card;
}

function updateFloorSide() {
  if (mode !== "floor" || current === null) return;
  const fit = floor.view && floor.view.fits[current];
  const pairs = pairsOf(current);
  showWithNames($("calib-title"), t.calibTitle(current), [current]);
  const line = $("fitline");
  const complete = pairs.filter(p => p.image && p.floor).length;
  let kind = "", text = t.needPairs(complete);
  if (complete > 0 && complete < 4) { /* counting up to four: no fault yet */ }
  else if (fit && fit.source === "opencv") { kind = fit.problem ? "bad" : "ok"; text = fit.problem || t.fromFile(calibOf(current).opencv); }
  else if (fit && fit.problem) { kind = "bad"; text = fit.problem; }
  else if (fit && fit.rms_cm !== null) {
    kind = fit.warning ? "warn" : "ok";
    text = t.residual(fit.rms_cm, fit.limit_cm, fit.pairs);
  }
  line.className = "fitline " + kind;
  line.textContent = text;
  line.dataset.rms = fit && fit.rms_cm !== null ? String(fit.rms_cm) : "";
  $("fitwarn").textContent = fit && fit.warning ? t.warnFit(fitWarnings(fit).join("; ")) : "";
  const head = $("pairs").querySelector("thead tr").children;
  [t.pairNo, t.pairImage, t.pairX, t.pairY, t.pairOff, ""].forEach((text, i) => { head[i].textContent = text; });
  $("pairs").hidden = !pairs.length;
  $("pairs-empty").hidden = pairs.length > 0;
  $("pairs-empty").textContent = t.noPairs;
  let sent = 0;
  pairs.forEach((pair, i) => {
    const row = $("pairs").querySelector('tr[data-key="' + pair.key + '"]');
    if (!row) return;
    const complete = pair.image && pair.floor;
    row.setAttribute("aria-selected", String(pair.key === selectedPair));
    row.querySelector(".n").textContent = String(i + 1);
    row.querySelector(".img").textContent = pair.image ? t.atPicture(pair.image) : t.clickPicture;
    for (const input of [row.querySelector(".fx"), row.querySelector(".fy")]) {
      input.placeholder = t.clickPlan;
      const shown = pair.floor ? String(pair.floor[input.classList.contains("fx") ? 0 : 1]) : "";
      if (document.activeElement !== input && input.value !== shown) input.value = shown;
    }
    const residual = complete && fit && fit.residual_cm.length ? fit.residual_cm[sent] : null;
    const outlier = complete && fit && fit.inliers.length ? fit.inliers[sent] === false : false;
    row.querySelector(".res").textContent = residual === null ? "" : t.cm(residual) + (outlier ? " ✕" : "");
    row.classList.toggle("outlier", outlier);
    row.querySelector(".pdelete").title = t.deletePair;
    if (complete) sent += 1;
  });
  $("plan-title").textContent = t.planTitle;
  const overlaps = floor.view ? floor.view.overlaps : [];
  showWithNames($("overlaps"), overlaps.length ? t.overlaps(overlaps.map(o => o.cameras.join(" + ") + " " + t.area(o.area_m2)).join(", ")) : t.noOverlaps,
                overlaps.flatMap(o => o.cameras));
  $("rooms-title").textContent = t.rooms;
  const problems = floor.view ? floor.view.problems : [];
  floor.rooms.forEach((room, i) => {
    const card = $("rooms").querySelector('[data-key="' + room.key + '"]');
    if (!card) return;
    card.querySelector(".title").textContent = room.name.trim() || room.id || "?";
    const covered = floor.view && floor.view.coverage[String(i)];
    card.querySelector(".count").textContent = covered ? t.area(covered.area_m2) : "";
    showWithNames(card.querySelector(".seen"), covered ? t.seenBy(Math.round(covered.seen_share * 100), covered.cameras) : "",
                  covered ? covered.cameras : []);
    card.querySelector(".l-id").textContent = t.id;
    card.querySelector(".l-name").textContent = t.name;
    card.querySelector(".l-corners").textContent = t.corners(room.polygon.length) + " (m)";
    const typed = card.querySelector(".rcorners");
    if (document.activeElement !== typed) typed.value = cornersText(room.polygon);
    card.querySelector(".rname").placeholder = t.roomPlaceholder;
    card.querySelector(".rdelete").textContent = t.deleteRoom;
    const mine = problems.filter(p => p.path.startsWith("floor.rooms[" + i + "]"));
    card.querySelector(".problem").textContent = mine.map(p => p.message).join("; ");
  });
  if (!floor.rooms.length) $("rooms").replaceChildren(Object.assign(document.createElement("p"), { className: "empty", textContent: t.noRooms }));
  $("boxes-note").textContent = t.boxesNote;
  floorButtons();
}

function fitWarnings(fit) {
  // The setup process's warning in the page's language, from its figures.
  const said = [];
  if (fit.rms_cm > fit.limit_cm) said.push(t.disagree(Math.round(fit.rms_cm), fit.limit_cm));
  const left = fit.inliers.map((kept, i) => (kept ? -1 : i)).filter(i => i >= 0);
  if (left.length) {
    const worst = left.reduce((a, b) => (fit.residual_cm[b] > fit.residual_cm[a] ? b : a));
    said.push(t.outliers(left.length, worst + 1, fit.residual_cm[worst] / 100));
  }
  return said.length ? said : [fit.warning];
}

function cornersText(polygon) { return polygon.map(p => p[0] + " " + p[1]).join("; "); }

function renderFloor() {
  render();
  renderPlan();
  updateFloorSide();
  updateCards();
}

$("mode-zones").addEventListener("click", () => setMode("zones"));
$("mode-floor").addEventListener("click", () => setMode("floor"));
$("tool-points").addEventListener("click", () => setFloorTool("points"));
$("tool-room").addEventListener("click", () => setFloorTool("room"));
