// The setup page's script (wartezone setup serves it with setup.html and setup.css, from this
// origin only). It draws zones and masks on the camera's picture (pointer events: mouse, pen and
// touch alike), sends each change to the setup process, which counts the picture with it, and shows
// those counts. The token comes from the address's fragment (#token=...), which browsers never send.
"use strict";
const TEXT = {
  de: {
    title: "Einrichtung", select: "Auswählen / Verschieben", drawZone: "+ Zone zeichnen",
    drawMask: "+ Maske zeichnen", finish: "Fertig", cancel: "Abbrechen", del: "Löschen",
    hold: "Bild anhalten", live: "Live-Bild", save: "Speichern", lang: "English",
    zones: "Zonen", masks: "Privatsphäre-Masken", id: "Kennung (id)", name: "Anzeigename",
    loiter: "Verweildauer-Grenze (s)", namePlaceholder: "z. B. Wartebereich Süd",
    people: n => n === 1 ? "Person jetzt" : "Personen jetzt", counting: "wird gezählt …",
    noMasks: "Keine. Was eine Maske bedeckt, wird schwarz, bevor gezählt wird (z. B. Fenster zur Straße).",
    noZones: "Keine Zone: eine zeichnen, oder die Kamera zählt nur für ihre Räume (Grundriss).",
    mask: i => "Maske " + i, corners: n => n + " Ecken",
    deleteZone: "Zone löschen", deleteMask: "Maske löschen",
    hintSelect: "Zone oder Maske antippen zum Auswählen, Ecken oder Fläche ziehen zum Verschieben. " +
      "Doppelklick auf eine Kante fügt eine Ecke ein, auf eine Ecke entfernt sie. Gelbe Punkte: " +
      "wo jede erkannte Person gezählt wird (verpixelt).",
    hintDraw: "Ecken nacheinander antippen; die erste Ecke antippen oder „Fertig“ schließt die Form. " +
      "Esc bricht ab.",
    stUp: "Live", stHeld: "Angehalten", stConnecting: "Verbinde mit der Kamera …",
    stDown: "Kamera nicht erreichbar", stStalled: "Kamera liefert keine Bilder mehr",
    stEnded: "Video zu Ende - letztes Bild", stFailed: "Auswertung fehlgeschlagen - Ursache im Log",
    pictureOf: t => "Bild von " + t, lastPicture: t => "letztes Bild von " + t,
    detected: n => n + (n === 1 ? " Person erkannt, verpixelt" : " Personen erkannt, verpixelt"),
    calibrated: "gezählt mit der Korrektur dieser Kamera",
    noPicture: "Noch kein Bild.", offline: "Keine Verbindung zu „wartezone setup“ - läuft es noch?",
    noToken: "Bitte die Adresse öffnen, die „wartezone setup“ ausgegeben hat (mit #token=…).",
    unsaved: "Nicht gespeichert", check: "Bitte prüfen",
    saved: (f, b) => "Gespeichert in " + f + " (vorher: " + b + "). " +
      "Den Dienst neu starten, damit er es nutzt.",
    notSaved: "Nicht gespeichert:", minutes: m => "= " + m + " min",
    leave: "Änderungen sind nicht gespeichert.",
    // The setup process's answers by their code; its own English words (the config model's) follow,
    // introduced once.
    errors: {
      invalid_layout: "Die Zonen und Masken passen nicht zur Konfiguration.",
      cannot_write: "Die Konfigurationsdatei lässt sich nicht schreiben.",
      failed: "Fehler im Einrichtungsprogramm - Ursache im Log.",
      token: "Bitte die Adresse öffnen, die „wartezone setup“ ausgegeben hat.",
    },
    modelSays: "Die Prüfung meldet (auf Englisch):", serverSays: "Meldung (auf Englisch):",
    modeZones: "Zonen", modeFloor: "Grundriss", points: "Punkte setzen", drawRoom: "+ Raum zeichnen",
    hintPoints: "Eine Bodenmarke (Fliesenecke, Türpfosten, Klebepunkt) im Bild antippen, dann dieselbe " +
      "Stelle im Grundriss - oder ihre Meter rechts eintragen. Mindestens 4 Paare, über die Fläche " +
      "verteilt; Punkte lassen sich ziehen.",
    hintRoom: "Ecken des Raums im Grundriss nacheinander antippen; die erste Ecke oder „Fertig“ schließt ihn.",
    calibTitle: c => "Kamera " + c + " → Grundriss",
    needPairs: n => n + " von mindestens 4 Punktpaaren gesetzt.",
    residual: (cm, limit, n) => "Abweichung " + cm.toLocaleString("de-DE") + " cm (RMS von " + n +
      " Paaren, Grenze " + limit + " cm)",
    warnFit: w => "Bitte prüfen: " + w + ". Punkte genauer setzen oder nachmessen.",
    disagree: (cm, limit) => "die Punkte weichen um " + cm + " cm ab (RMS, Grenze " + limit + " cm)",
    outliers: (n, pair, m) => n + (n === 1 ? " Paar" : " Paare") + " als Ausreißer weggelassen (Paar " + pair +
      " liegt " + m.toLocaleString("de-DE", { maximumFractionDigits: 2 }) + " m daneben)",
    fromFile: f => "Aus OpenCV-Kalibrierung " + f + " (Punkte setzen ersetzt sie).",
    pairNo: "Nr.", pairImage: "Bild", pairX: "x (m)", pairY: "y (m)", pairOff: "Abw.",
    atPicture: p => Math.round(p[0] * 100) + " / " + Math.round(p[1] * 100) + " %",
    clickPicture: "im Bild antippen", clickPlan: "Plan", cm: v => v < 0 ? "-" : Math.round(v) + " cm",
    deletePair: "Punktpaar löschen",
    noPairs: "Noch keine Punktpaare: eine Bodenmarke im Bild antippen, dann dieselbe Stelle im Grundriss.",
    planTitle: "Grundriss", rooms: "Räume", deleteRoom: "Raum löschen", roomPlaceholder: "z. B. Wartebereich EG",
    noRooms: "Kein Raum: mit „+ Raum zeichnen“ die Ecken im Grundriss antippen.",
    area: a => a.toLocaleString("de-DE") + " m²",
    seenBy: (share, list) => share + " % gesehen" + (list.length ? " von " + list.join(", ") : " - von keiner Kamera"),
    overlaps: text => "Überlappung (schraffiert): " + text + ". Wer dort steht, zählt im Raum einmal.",
    noOverlaps: "Keine Überlappung der Kamera-Sichtfelder.",
    boxesNote: "Räume, deren Kameras an verschiedenen Boxen hängen, zählt keine Box allein: jede Box " +
      "zählt ihre Zonen (Zone → Raum), und die API addiert sie - nur dort, wo sich die Flächen der Zonen " +
      "nicht überlappen, sonst zählte sie Personen doppelt.",
    room: "Raum", noRoom: "- kein Raum -",
  },
  en: {
    title: "Setup", select: "Select / move", drawZone: "+ Draw zone", drawMask: "+ Draw mask",
    finish: "Done", cancel: "Cancel", del: "Delete", hold: "Hold picture", live: "Live picture",
    save: "Save", lang: "Deutsch", zones: "Zones", masks: "Privacy masks", id: "Id", name: "Display name",
    loiter: "Loitering limit (s)", namePlaceholder: "e.g. Waiting area south",
    people: n => n === 1 ? "person now" : "people now", counting: "counting …",
    noMasks: "None. What a mask covers is blacked out before counting (e.g. windows to the street).",
    noZones: "No zone: draw one, or the camera counts only for its rooms (floor plan).",
    mask: i => "Mask " + i, corners: n => n + " corners",
    deleteZone: "Delete zone", deleteMask: "Delete mask",
    hintSelect: "Tap a zone or mask to select it, drag a corner or the area to move it. Double-click an " +
      "edge to add a corner, a corner to remove it. Yellow dots: where each detected person is " +
      "counted (pixelated).",
    hintDraw: "Tap the corners one after the other; tap the first corner or Done to close the shape. " +
      "Esc cancels.",
    stUp: "Live", stHeld: "Held", stConnecting: "Connecting to the camera …", stDown: "Camera unreachable",
    stStalled: "Camera stopped sending pictures", stEnded: "Video ended - last picture",
    stFailed: "Analysis failed - the cause is in the log",
    pictureOf: t => "picture of " + t, lastPicture: t => "last picture of " + t,
    detected: n => n + (n === 1 ? " person detected, pixelated" : " people detected, pixelated"),
    calibrated: "counted with this camera's correction",
    noPicture: "No picture yet.", offline: "No connection to 'wartezone setup' - is it still running?",
    noToken: "Please open the address that 'wartezone setup' printed (with #token=…).",
    unsaved: "Not saved", check: "Please check",
    saved: (f, b) => "Saved in " + f + " (before: " + b + "). Restart the service to use it.",
    notSaved: "Not saved:", minutes: m => "= " + m + " min", leave: "Changes are not saved.",
    errors: {
      invalid_layout: "The zones and masks do not pass the configuration's checks.",
      cannot_write: "The configuration file cannot be written.",
      failed: "The setup failed - the cause is in the log.",
      token: "Please open the address that 'wartezone setup' printed.",
    },
    modelSays: "The checks say:", serverSays: "Message:",
    modeZones: "Zones", modeFloor: "Floor plan", points: "Place points", drawRoom: "+ Draw room",
    hintPoints: "Tap a floor mark (a tile corner, a door post, a sticker) in the picture, then the same " +
      "place on the plan - or type its metres on the right. At least 4 pairs, spread over the floor; " +
      "points can be dragged.",
    hintRoom: "Tap the room's corners on the plan one after the other; the first corner or Done closes it.",
    calibTitle: c => "Camera " + c + " → floor plan",
    needPairs: n => n + " of at least 4 point pairs placed.",
    residual: (cm, limit, n) => "Residual " + cm.toLocaleString("en-GB") + " cm (RMS of " + n +
      " pairs, limit " + limit + " cm)",
    warnFit: w => "Please check: " + w + ". Place the points more carefully or measure again.",
    disagree: (cm, limit) => "the points disagree by " + cm + " cm (RMS, limit " + limit + " cm)",
    outliers: (n, pair, m) => n + (n === 1 ? " pair" : " pairs") + " left out as outliers (pair " + pair +
      " is " + m.toLocaleString("en-GB", { maximumFractionDigits: 2 }) + " m off)",
    fromFile: f => "From OpenCV calibration " + f + " (placing points replaces it).",
    pairNo: "No.", pairImage: "Picture", pairX: "x (m)", pairY: "y (m)", pairOff: "Off",
    atPicture: p => Math.round(p[0] * 100) + " / " + Math.round(p[1] * 100) + " %",
    clickPicture: "tap in picture", clickPlan: "plan", cm: v => v < 0 ? "-" : Math.round(v) + " cm",
    deletePair: "Delete point pair",
    noPairs: "No point pairs yet: tap a floor mark in the picture, then the same place on the plan.",
    planTitle: "Floor plan", rooms: "Rooms", deleteRoom: "Delete room", roomPlaceholder: "e.g. Waiting room",
    noRooms: "No room: use + Draw room and tap its corners on the plan.",
    area: a => a.toLocaleString("en-GB") + " m²",
    seenBy: (share, list) => share + " % seen" + (list.length ? " by " + list.join(", ") : " - by no camera"),
    overlaps: text => "Overlap (hatched): " + text + ". Whoever stands there counts once in the room.",
    noOverlaps: "The cameras' views do not overlap.",
    boxesNote: "Rooms whose cameras are on different boxes are counted by no box alone: each box counts " +
      "its zones (zone → room) and the API adds them up - only where the zones' areas do not overlap, " +
      "else it would count people twice.",
    room: "Room", noRoom: "- no room -",
  },
};
const COLOURS = ["#2e86de", "#e67e22", "#16a085", "#8e44ad", "#d35400", "#c0392b", "#27ae60", "#b7950b"];
const DEFAULT_LOITER_S = 600;
const TOKEN_KEY = "wartezone-setup-token";
const POLL_MS = 700;
const $ = id => document.getElementById(id);
const canvas = $("canvas"), ctx = canvas.getContext("2d");
let lang = (navigator.language || "en").toLowerCase().startsWith("de") ? "de" : "en";
let t = TEXT[lang];
const cams = new Map();
let current = null, tool = "select", drawing = [], pointer = null, selected = null, drag = null;
let nextKey = 1, offline = false, stopped = false, notice = null;

function takeToken() {
  const found = location.hash.match(/token=([^&]+)/);
  if (found) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(found[1]));
    history.replaceState(null, "", location.pathname);  // out of the address bar and the history
  }
  return sessionStorage.getItem(TOKEN_KEY);
}
const token = takeToken();

async function api(path, options = {}) {
  const headers = { Authorization: "Bearer " + token };
  if (options.body) headers["Content-Type"] = "application/json";
  let answer;
  try {
    answer = await fetch(path, { ...options, headers, cache: "no-store" });
  } catch (error) {
    setOffline(true);
    throw error;
  }
  setOffline(false);
  if (answer.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    stop(t.noToken);
    throw new Error("401");
  }
  return answer;
}

function stop(message) {
  stopped = true;
  showNotice("bad", message);
  $("placeholder").textContent = message;
}

function setOffline(value) {
  if (offline === value) return;
  offline = value;
  updateStatus();
}

// The setup process's error in the page's language: its code said in words, the English details
// (the config model's messages) introduced once.
function problemText(error) {
  const said = t.errors[error.code];
  if (!said) return t.serverSays + " " + error.message;
  return (error.problems || []).length ? said + " " + t.modelSays : said;
}

function showNotice(kind, text, items = []) {
  notice = { kind, text, items };
  const el = $("notice");
  el.hidden = false;
  el.className = kind;
  el.textContent = text;
  if (items.length) {
    const list = document.createElement("ul");
    for (const item of items) {
      const li = document.createElement("li");
      li.textContent = item;
      list.append(li);
    }
    el.append(list);
  }
}

// --- the drafts ---------------------------------------------------------------------------------

function fromServer(layout) {
  return {
    zones: layout.zones.map(z => ({ key: nextKey++, origin: z.origin, id: z.id, name: z.name || "",
                                    polygon: z.polygon.map(p => [p[0], p[1]]), loiter: z.loiter_limit_s,
                                    room: z.room || null })),
    masks: layout.privacy_masks.map(m => ({ key: nextKey++, polygon: m.map(p => [p[0], p[1]]) })),
  };
}

function toServer(cam) {
  return {
    zones: cam.zones.map(z => ({ origin: z.origin, id: z.id, name: z.name.trim() || null, polygon: z.polygon,
                                 loiter_limit_s: z.loiter, room: z.room })),
    privacy_masks: cam.masks.map(m => m.polygon),
  };
}

function changed(cam, structure = false) {
  cam.revision += 1;
  cam.dirty = true;
  clearTimeout(cam.timer);
  cam.timer = setTimeout(() => sendDraft(cam).catch(() => {}), 250);  // offline: poll sends it later
  if (structure) renderCards();
  render();
  updateCards();
}

async function sendDraft(cam) {
  clearTimeout(cam.timer);
  cam.timer = null;
  const revision = cam.revision;
  const answer = await api("/api/draft", {
    method: "POST", body: JSON.stringify({ camera: cam.id, revision, layout: toServer(cam) }) });
  const body = await answer.json();
  if (!answer.ok || body.stale || revision !== cam.revision) return;
  cam.sent = revision;
  cam.problems = body.problems;
  cam.warnings = body.warnings;
  updateCards();
  showSelectedCard();  // the warnings above the cards may have pushed it out of sight
}

async function save() {
  for (const cam of cams.values()) if (cam.sent !== cam.revision) await sendDraft(cam);
  if (floor.sent !== floor.revision) await sendFloor();
  const answer = await api("/api/save", { method: "POST", body: "{}" });
  const body = await answer.json();
  if (answer.ok) {
    for (const cam of cams.values()) {
      cam.dirty = false;
      for (const zone of cam.zones) zone.origin = zone.id;
    }
    floorSaved();
    showNotice("ok", t.saved(body.file, body.backup));
  } else {
    showNotice("bad", t.notSaved + " " + problemText(body.error), (body.error.problems || []).map(
      p => p.path + ": " + p.message));
  }
  updateCards();
}

// --- the server's state, polled ------------------------------------------------------------------

async function poll() {
  if (stopped) return;
  try {
    const state = await (await api("/api/state")).json();
    apply(state);
    for (const cam of cams.values()) {  // a change made while the connection was lost
      if (cam.sent !== cam.revision && cam.timer === null) await sendDraft(cam);
    }
    if (floor.sent !== floor.revision && floor.timer === null) await sendFloor();
  } catch (error) {
    // offline or refused: said on the page; asked again below
  }
  if (!stopped) setTimeout(poll, POLL_MS);
}

function apply(state) {
  $("site").textContent = state.site;
  floorApply(state);
  for (const server of state.cameras) {
    let cam = cams.get(server.id);
    if (!cam) {
      cam = { id: server.id, ...fromServer(server.layout), revision: server.revision,
              sent: server.revision, problems: server.problems, warnings: server.warnings,
              dirty: false, shown: null, fetching: null, timer: null };
      cams.set(server.id, cam);
    }
    cam.server = server;
    if (server.revision === cam.revision) {
      cam.problems = server.problems;
      cam.warnings = server.warnings;
    }
    const snapshot = server.snapshot;
    const shownVersion = cam.shown ? cam.shown.meta.version : -1;
    if (snapshot && snapshot.version > shownVersion && cam.id === current) {
      fetchPicture(cam, snapshot).catch(() => {});  // offline: said on the page; the next poll asks again
    }
  }
  if (current === null && state.cameras.length) select(state.cameras[0].id);
  renderTabs();
  updateStatus();
  updateCards();
  renderPlan();
  updateFloorSide();
}

async function fetchPicture(cam, meta) {
  if (cam.fetching !== null && cam.fetching >= meta.version) return;
  cam.fetching = meta.version;
  try {
    const answer = await api("/api/picture/" + encodeURIComponent(cam.id) + "?version=" + meta.version);
    if (!answer.ok) return;  // replaced by a newer picture meanwhile: the next poll brings it
    const bitmap = await createImageBitmap(await answer.blob());
    if (cam.shown && cam.shown.meta.version >= meta.version) return;
    cam.shown = { meta, bitmap };
    if (cam.id === current) { render(); updateCards(); updateStatus(); }
  } finally {
    if (cam.fetching === meta.version) cam.fetching = null;
  }
}

// --- tabs, status and cards ---------------------------------------------------------------------

function select(cameraId) {
  current = cameraId;
  selected = null;
  selectedPair = null;
  drawing = [];
  setTool("select");
  renderFloorSide();
  renderTabs();
  renderCards();
  const cam = cams.get(cameraId);
  if (cam.server && cam.server.snapshot) fetchPicture(cam, cam.server.snapshot).catch(() => {});
  render();
  renderPlan();
  updateStatus();
}

function statusOf(cam) {
  const s = cam.server;
  if (!s) return { kind: "", text: t.stConnecting };
  if (s.analysis_failed) return { kind: "bad", text: t.stFailed };
  if (s.status === "down") return { kind: "bad", text: t.stDown };
  if (s.status === "stalled") return { kind: "bad", text: t.stStalled };
  if (s.status === "ended") return { kind: "ended", text: t.stEnded };
  if (s.status === "connecting") return { kind: "", text: t.stConnecting };
  if (s.hold) return { kind: "held", text: t.stHeld };
  return { kind: "up", text: t.stUp };
}

function renderTabs() {
  const nav = $("cameras");
  const buttons = [...nav.children];
  if (buttons.length !== cams.size) {
    nav.replaceChildren(...[...cams.keys()].map(id => {
      const b = document.createElement("button");
      b.type = "button";
      b.dataset.camera = id;
      b.translate = false;  // a camera id from the configuration, not a word of the page's language
      b.append(document.createElement("span"), document.createTextNode(id));
      b.firstChild.className = "dot";
      b.addEventListener("click", () => select(id));
      return b;
    }));
  }
  for (const b of nav.children) {
    const cam = cams.get(b.dataset.camera);
    b.setAttribute("aria-pressed", String(b.dataset.camera === current));
    b.firstChild.className = "dot " + statusOf(cam).kind;
  }
}

function clock(seconds) {
  return new Date(seconds * 1000).toLocaleTimeString(lang === "de" ? "de-DE" : "en-GB");
}

function updateStatus() {
  const chip = $("camstate").querySelector(".chip"), details = $("camstate").querySelector(".details");
  const placeholder = $("placeholder");
  const cam = cams.get(current);
  if (offline) {
    chip.className = "chip bad";
    chip.textContent = t.offline;
    details.textContent = "";
    return;
  }
  if (!cam) return;
  const status = statusOf(cam);
  chip.className = "chip " + status.kind;
  chip.textContent = status.text;
  const meta = cam.shown && cam.shown.meta;
  const parts = [];
  if (cam.server && cam.server.cause) parts.push(cam.server.cause);
  if (meta) {
    const when = clock(meta.wall_time);
    parts.push(status.kind === "bad" ? t.lastPicture(when) : t.pictureOf(when));
    parts.push(t.detected(meta.people.length));
  }
  if (cam.server && cam.server.calibrated) parts.push(t.calibrated);
  details.textContent = parts.join(" · ");
  details.title = details.textContent;
  placeholder.hidden = Boolean(meta);
  placeholder.className = status.kind === "bad" ? "bad" : "";
  placeholder.textContent = status.kind === "bad" ? status.text + ": " + (cam.server.cause || "") :
    (status.kind === "" ? status.text : t.noPicture);
  $("hold").textContent = cam.server && cam.server.hold ? t.live : t.hold;
  renderTabs();
}

function colour(i) { return COLOURS[i % COLOURS.length]; }

function zoneCard(cam, zone) {
  const card = document.createElement("article");
  card.className = "card zone";
  card.dataset.key = zone.key;
  card.innerHTML = '<div class="top"><span class="title"></span>' +
    '<span class="count"><b></b><span></span></span></div>' +
    '<label><span class="l-id"></span><input class="zid" autocomplete="off" spellcheck="false"></label>' +
    '<label><span class="l-name"></span><input class="zname" autocomplete="off"></label>' +
    '<label><span class="l-loiter"></span><input class="zloiter" type="number" min="1" step="1"></label>' +
    '<label class="room-field"><span class="l-room"></span><select class="zroom"></select></label>' +
    '<small class="minutes"></small><p class="problem"></p>' +
    '<div class="actions"><button type="button" class="zdelete"></button></div>';
  const [id, name, loiter] = [".zid", ".zname", ".zloiter"].map(s => card.querySelector(s));
  id.value = zone.id;
  name.value = zone.name;
  loiter.value = zone.loiter === null ? "" : String(zone.loiter);
  id.addEventListener("input", () => { zone.id = id.value.trim(); changed(cam); });
  name.addEventListener("input", () => { zone.name = name.value; changed(cam); });
  loiter.addEventListener("input", () => {
    zone.loiter = loiter.value === "" || !Number.isFinite(Number(loiter.value)) ? null : Number(loiter.value);
    changed(cam);
  });
  const room = card.querySelector(".zroom");
  room.addEventListener("change", () => { zone.room = room.value || null; changed(cam); });
  card.querySelector(".zdelete").addEventListener("click", () => {
    cam.zones = cam.zones.filter(z => z !== zone);
    selected = null;
    changed(cam, true);
  });
  card.addEventListener("pointerdown", () => choose("zone", zone.key));
  return card;
}

function maskCard(cam, mask) {
  const card = document.createElement("article");
  card.className = "card mask";
  card.dataset.key = mask.key;
  card.innerHTML = '<div class="top"><span class="title"></span><span class="count"></span></div>' +
    '<p class="problem"></p><div class="actions"><button type="button" class="mdelete"></button></div>';
  card.querySelector(".mdelete").addEventListener("click", () => {
    cam.masks = cam.masks.filter(m => m !== mask);
    selected = null;
    changed(cam, true);
  });
  card.addEventListener("pointerdown", () => choose("mask", mask.key));
  return card;
}

function roomChoices(card, zone) {
  // A zone may belong to a room of the plan; one named but gone stays listed, so its fault shows.
  const ids = floor.rooms.map(r => r.id).filter(Boolean);
  if (zone.room && !ids.includes(zone.room)) ids.push(zone.room);
  card.querySelector(".room-field").hidden = !ids.length;
  card.querySelector(".l-room").textContent = t.room;
  const select = card.querySelector(".zroom");
  const wanted = ["", ...ids];
  const values = [...select.options].map(o => o.value);
  if (values.length !== wanted.length || values.some((v, i) => v !== wanted[i])) {
    select.replaceChildren(...wanted.map(id => {
      const room = floor.rooms.find(r => r.id === id);
      return new Option(id ? (room && room.name.trim() ? room.name.trim() + " (" + id + ")" : id) : t.noRoom, id);
    }));
  }
  select.options[0].text = t.noRoom;
  select.value = zone.room || "";
}

function choose(kind, key) {
  selected = { kind, key };
  render();
  updateCards();
}

function isSelected(kind, key) {
  return String(Boolean(selected && selected.kind === kind && selected.key === key));
}

function renderCards() {
  const cam = cams.get(current);
  if (!cam) return;
  $("zones").replaceChildren(...cam.zones.map(z => zoneCard(cam, z)));
  $("masks").replaceChildren(...cam.masks.map(m => maskCard(cam, m)));
  updateCards();
}

function countsFor(cam) {
  const meta = cam.shown && cam.shown.meta;
  if (!meta || meta.revision !== cam.revision || cam.problems.length) return null;
  return meta.counts;
}

function updateCards() {
  const cam = cams.get(current);
  if (!cam) return;
  const counts = countsFor(cam);
  cam.zones.forEach((zone, i) => {
    const card = $("zones").querySelector('[data-key="' + zone.key + '"]');
    if (!card) return;
    card.style.setProperty("--c", colour(i));
    card.dataset.zoneCard = zone.id;
    card.setAttribute("aria-current", isSelected("zone", zone.key));
    card.querySelector(".title").textContent = zone.name.trim() || zone.id || "?";
    const n = counts && zone.id in counts ? counts[zone.id] : null;
    card.dataset.count = n === null ? "" : String(n);
    card.querySelector(".count b").textContent = n === null ? "" : String(n);
    const waiting = cam.problems.length ? "-" : t.counting;
    card.querySelector(".count span").textContent = n === null ? waiting : t.people(n);
    card.querySelector(".l-id").textContent = t.id;
    card.querySelector(".l-name").textContent = t.name;
    card.querySelector(".l-loiter").textContent = t.loiter;
    card.querySelector(".zname").placeholder = t.namePlaceholder;
    const minutes = Math.round(zone.loiter / 6) / 10;
    card.querySelector(".minutes").textContent = zone.loiter >= 60 ? t.minutes(minutes) : "";
    card.querySelector(".zdelete").textContent = t.deleteZone;
    roomChoices(card, zone);
    const problems = cam.problems.filter(p => p.zone === i);
    card.querySelector(".problem").textContent = problems.map(p => p.path.replace(/^.*?zones\[\d+\]\.?/, "") +
      (p.path.match(/zones\[\d+\]\./) ? ": " : "") + p.message).join("; ");
    for (const [field, input] of [["id", ".zid"], ["name", ".zname"], ["loiter_limit_s", ".zloiter"], ["room", ".zroom"]]) {
      const bad = problems.some(p => p.path.endsWith("." + field) || p.path.includes("." + field + "["));
      card.querySelector(input).setAttribute("aria-invalid", String(bad));
    }
  });
  cam.masks.forEach((mask, i) => {
    const card = $("masks").querySelector('[data-key="' + mask.key + '"]');
    if (!card) return;
    card.setAttribute("aria-current", isSelected("mask", mask.key));
    card.querySelector(".title").textContent = t.mask(i + 1);
    card.querySelector(".count").textContent = t.corners(mask.polygon.length);
    card.querySelector(".mdelete").textContent = t.deleteMask;
    const problems = cam.problems.filter(p => p.mask === i);
    card.querySelector(".problem").textContent = problems.map(p => p.message).join("; ");
  });
  const empty = text => Object.assign(document.createElement("p"), { className: "empty", textContent: text });
  if (!cam.zones.length) $("zones").replaceChildren(empty(t.noZones));
  if (!cam.masks.length) $("masks").replaceChildren(empty(t.noMasks));
  const loose = cam.problems.filter(p => p.zone === null && p.mask === null);
  const checks = $("checks");
  const items = [...loose.map(p => ["bad", p.path + ": " + p.message]), ...cam.warnings.map(w => ["", w])];
  checks.hidden = !items.length;
  checks.querySelector("h2").textContent = t.check;
  checks.querySelector("ul").replaceChildren(...items.map(([kind, text]) => {
    const li = document.createElement("li");
    li.className = kind;
    li.textContent = text;
    return li;
  }));
  const dirty = [...cams.values()].some(c => c.dirty) || floor.dirty;
  $("unsaved").hidden = !dirty;
  $("unsaved").textContent = t.unsaved;
  $("save").dataset.dirty = String(dirty);
  $("finish").disabled = tool === "select" || drawing.length < 3;
  $("cancel").disabled = tool === "select";
  $("delete").disabled = !selected;
  $("hint").textContent = tool === "select" ? t.hintSelect : t.hintDraw;
  floorButtons();
}

function applyLanguage() {
  t = TEXT[lang];
  document.documentElement.lang = lang;
  $("title").textContent = t.title;
  $("tool-select").textContent = t.select;
  $("tool-zone").textContent = t.drawZone;
  $("tool-mask").textContent = t.drawMask;
  $("finish").textContent = t.finish;
  $("cancel").textContent = t.cancel;
  $("delete").textContent = t.del;
  $("save").textContent = t.save;
  $("lang").textContent = t.lang;
  $("zones-title").textContent = t.zones;
  $("masks-title").textContent = t.masks;
  $("mode-zones").textContent = t.modeZones;
  $("mode-floor").textContent = t.modeFloor;
  $("tool-points").textContent = t.points;
  $("tool-room").textContent = t.drawRoom;
  if (notice && notice.kind === "bad" && stopped) showNotice("bad", t.noToken);
  else if (notice) $("notice").hidden = true;
  renderCards();
  updateStatus();
  renderFloorSide();
}

// --- the picture and what is drawn on it -----------------------------------------------------------

// A narrow screen (the CSS's phone layout): the floor plan goes under the picture, not beside it.
function stacked() { return matchMedia("(max-width: 760px)").matches; }

function size() {
  const cam = cams.get(current);
  const meta = cam && cam.shown && cam.shown.meta;
  if (!meta) return null;
  const stage = $("stage").getBoundingClientRect();
  const width = mode === "floor" && !stacked() ? (stage.width - 12) / 2 : stage.width;  // the plan beside it
  // Stacked on a phone, the picture takes the width and the page scrolls to the plan below it.
  const scale = mode === "floor" && stacked() ? width / meta.width : Math.min(width / meta.width, stage.height / meta.height);
  return { w: Math.max(1, Math.floor(meta.width * scale)), h: Math.max(1, Math.floor(meta.height * scale)) };
}

function polygonPath(points, w, h) {
  ctx.beginPath();
  points.forEach((p, i) => (i ? ctx.lineTo(p[0] * w, p[1] * h) : ctx.moveTo(p[0] * w, p[1] * h)));
  ctx.closePath();
}

function label(text, count, x, y, fill) {
  ctx.font = "600 14px system-ui, sans-serif";
  const content = count === null ? text : text + "  " + count;
  const width = ctx.measureText(content).width + 14;
  ctx.fillStyle = fill;
  ctx.beginPath();
  ctx.roundRect(x - width / 2, y - 12, width, 24, 5);
  ctx.fill();
  ctx.fillStyle = "#fff";
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.fillText(content, x, y + 1);
}

function render() {
  const cam = cams.get(current);
  const fit = size();
  canvas.hidden = !fit;
  if (!fit) return;
  const { meta, bitmap } = cam.shown;
  const ratio = window.devicePixelRatio || 1;
  canvas.style.width = fit.w + "px";
  canvas.style.height = fit.h + "px";
  if (canvas.width !== Math.round(fit.w * ratio) || canvas.height !== Math.round(fit.h * ratio)) {
    canvas.width = Math.round(fit.w * ratio);
    canvas.height = Math.round(fit.h * ratio);
  }
  canvas.dataset.frameTime = String(meta.time_s);
  canvas.dataset.version = String(meta.version);
  const { w, h } = fit;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.drawImage(bitmap, 0, 0, w, h);
  if (statusOf(cam).kind === "bad") { ctx.fillStyle = "rgba(255,255,255,.45)"; ctx.fillRect(0, 0, w, h); }
  cam.masks.forEach((mask, i) => {
    polygonPath(mask.polygon, w, h);
    ctx.fillStyle = "rgba(0,0,0,.55)";
    ctx.fill();
    ctx.setLineDash([6, 4]);
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = 1.5;
    ctx.stroke();
    ctx.setLineDash([]);
    const [x, y] = centre(mask.polygon);
    label(t.mask(i + 1), null, x * w, y * h, "rgba(0,0,0,.8)");
  });
  if (mode === "floor") { drawPairsOnPicture(w, h); return; }
  const counts = countsFor(cam);
  cam.zones.forEach((zone, i) => {
    polygonPath(zone.polygon, w, h);
    ctx.fillStyle = colour(i) + "33";
    ctx.fill();
    ctx.strokeStyle = colour(i);
    ctx.lineWidth = 2.5;
    ctx.stroke();
  });
  for (const person of meta.people) {
    const [x1, y1, x2, y2] = person.box;
    ctx.strokeStyle = "rgba(255,255,255,.75)";
    ctx.lineWidth = 1;
    ctx.strokeRect(x1 * w, y1 * h, (x2 - x1) * w, (y2 - y1) * h);
    for (const [x, y] of person.points) {
      ctx.beginPath();
      ctx.arc(x * w, y * h, 5, 0, 2 * Math.PI);
      ctx.fillStyle = "#ffe14d";
      ctx.fill();
      ctx.lineWidth = 2;
      ctx.strokeStyle = "#111";
      ctx.stroke();
    }
  }
  cam.zones.forEach((zone, i) => {
    const [x, y] = centre(zone.polygon);
    const n = counts && zone.id in counts ? counts[zone.id] : null;
    label(zone.name.trim() || zone.id || "?", n, x * w, y * h, colour(i));
  });
  const chosen = selectedShape(cam);
  if (chosen) handles(chosen.polygon, w, h);
  if (drawing.length) {
    ctx.beginPath();
    drawing.forEach((p, i) => (i ? ctx.lineTo(p[0] * w, p[1] * h) : ctx.moveTo(p[0] * w, p[1] * h)));
    if (pointer) ctx.lineTo(pointer[0] * w, pointer[1] * h);
    ctx.strokeStyle = tool === "mask" ? "#fff" : "#ffe14d";
    ctx.lineWidth = 2;
    ctx.setLineDash([5, 4]);
    ctx.stroke();
    ctx.setLineDash([]);
    handles(drawing, w, h, true);
  }
}

function handles(points, w, h, first = false) {
  points.forEach((p, i) => {
    ctx.beginPath();
    ctx.rect(p[0] * w - 5, p[1] * h - 5, 10, 10);
    ctx.fillStyle = first && i === 0 ? "#ffe14d" : "#fff";
    ctx.fill();
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = "#111";
    ctx.stroke();
  });
}

function centre(points) {
  const sum = points.reduce((a, p) => [a[0] + p[0], a[1] + p[1]], [0, 0]);
  return [sum[0] / points.length, sum[1] / points.length];
}

function selectedShape(cam) {
  if (!selected) return null;
  const list = selected.kind === "zone" ? cam.zones : cam.masks;
  return list.find(s => s.key === selected.key) || null;
}

// --- drawing and editing with mouse, pen or touch ------------------------------------------------

function setTool(name) {
  tool = name;
  drawing = [];
  pointer = null;
  for (const [id, value] of [["tool-select", "select"], ["tool-zone", "zone"], ["tool-mask", "mask"]])
    $(id).setAttribute("aria-pressed", String(tool === value));
  canvas.dataset.tool = tool;
  render();
  updateCards();
}

function fraction(event) {
  const box = canvas.getBoundingClientRect();
  const clamp = v => Math.min(1, Math.max(0, v));
  return [clamp((event.clientX - box.left) / box.width), clamp((event.clientY - box.top) / box.height)];
}

function near(a, b, tolerance) {
  const box = canvas.getBoundingClientRect();
  return Math.hypot((a[0] - b[0]) * box.width, (a[1] - b[1]) * box.height) <= tolerance;
}

function inside(points, p) {
  let within = false;
  for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
    const [xi, yi] = points[i], [xj, yj] = points[j];
    if ((yi > p[1]) !== (yj > p[1]) && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) within = !within;
  }
  return within;
}

function hit(cam, p, tolerance) {
  const shapes = [...cam.zones.map(s => ["zone", s]), ...cam.masks.map(s => ["mask", s])];
  const chosen = selectedShape(cam);
  if (chosen) {
    const vertex = chosen.polygon.findIndex(q => near(q, p, tolerance));
    if (vertex >= 0) return { kind: selected.kind, shape: chosen, vertex };
  }
  for (const [kind, shape] of [...shapes].reverse()) {
    const vertex = shape.polygon.findIndex(q => near(q, p, tolerance));
    if (vertex >= 0) return { kind, shape, vertex };
  }
  for (const [kind, shape] of [...shapes].reverse()) {
    if (inside(shape.polygon, p)) return { kind, shape, vertex: -1 };
  }
  return null;
}

function finishDrawing() {
  const cam = cams.get(current);
  if (drawing.length < 3) return;
  const key = nextKey++;
  if (tool === "zone") {
    const ids = new Set(cam.zones.map(z => z.id));
    let n = cam.zones.length + 1;
    while (ids.has("zone-" + n)) n += 1;
    const zone = { key, origin: null, id: "zone-" + n, name: "", polygon: drawing, loiter: DEFAULT_LOITER_S };
    cam.zones.push(zone);
    selected = { kind: "zone", key };
  } else {
    cam.masks.push({ key, polygon: drawing });
    selected = { kind: "mask", key };
  }
  drawing = [];
  setTool("select");
  changed(cam, true);
  showSelectedCard();
}

function showSelectedCard() {
  if (!selected) return;
  const list = selected.kind === "zone" ? $("zones") : $("masks");
  const card = list.querySelector('[data-key="' + selected.key + '"]');
  if (card) card.scrollIntoView({ block: "nearest" });
}

function deleteSelected() {
  const cam = cams.get(current);
  if (!selected) return;
  if (selected.kind === "zone") cam.zones = cam.zones.filter(z => z.key !== selected.key);
  else cam.masks = cam.masks.filter(m => m.key !== selected.key);
  selected = null;
  changed(cam, true);
}

canvas.addEventListener("pointerdown", event => {
  const cam = cams.get(current);
  if (!cam || !cam.shown) return;
  event.preventDefault();
  if (mode === "floor") { pictureDown(event); return; }
  const p = fraction(event);
  const tolerance = event.pointerType === "touch" ? 22 : 12;
  if (tool !== "select") {
    if (drawing.length >= 3 && near(drawing[0], p, tolerance)) finishDrawing();
    else { drawing.push(p); render(); updateCards(); }
    return;
  }
  const found = hit(cam, p, tolerance);
  selected = found ? { kind: found.kind, key: found.shape.key } : null;
  showSelectedCard();
  if (found) {
    drag = { found, start: p, original: found.shape.polygon.map(q => [q[0], q[1]]), moved: false };
    canvas.setPointerCapture(event.pointerId);
  }
  render();
  updateCards();
});

canvas.addEventListener("pointermove", event => {
  if (mode === "floor") { pictureMove(event); return; }
  const p = fraction(event);
  if (drag) {
    const { found, start, original } = drag;
    let dx = p[0] - start[0], dy = p[1] - start[1];
    if (found.vertex >= 0) {
      found.shape.polygon[found.vertex] = p;
    } else {  // the whole shape, kept inside the picture
      const xs = original.map(q => q[0]), ys = original.map(q => q[1]);
      dx = Math.min(1 - Math.max(...xs), Math.max(-Math.min(...xs), dx));
      dy = Math.min(1 - Math.max(...ys), Math.max(-Math.min(...ys), dy));
      found.shape.polygon = original.map(q => [q[0] + dx, q[1] + dy]);
    }
    drag.moved = true;
    render();
  } else if (tool !== "select" && drawing.length) {
    pointer = p;
    render();
  }
});

function endDrag() {
  if (mode === "floor") { endPointDrag(); return; }
  if (drag && drag.moved) changed(cams.get(current));
  drag = null;
}
canvas.addEventListener("pointerup", endDrag);
canvas.addEventListener("pointercancel", endDrag);

canvas.addEventListener("dblclick", event => {
  const cam = cams.get(current);
  const shape = cam && selectedShape(cam);
  if (tool !== "select" || !shape) return;
  const p = fraction(event);
  const vertex = shape.polygon.findIndex(q => near(q, p, 12));
  if (vertex >= 0) {
    if (shape.polygon.length > 3) { shape.polygon.splice(vertex, 1); changed(cam); }
    return;
  }
  const box = canvas.getBoundingClientRect();
  let best = -1, bestDistance = 12;
  shape.polygon.forEach((a, i) => {
    const b = shape.polygon[(i + 1) % shape.polygon.length];
    const ax = a[0] * box.width, ay = a[1] * box.height, bx = b[0] * box.width, by = b[1] * box.height;
    const px = p[0] * box.width, py = p[1] * box.height;
    const length = (bx - ax) ** 2 + (by - ay) ** 2 || 1;
    const k = Math.max(0, Math.min(1, ((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / length));
    const distance = Math.hypot(px - (ax + k * (bx - ax)), py - (ay + k * (by - ay)));
    if (distance < bestDistance) { best = i; bestDistance = distance; }
  });
  if (best >= 0) { shape.polygon.splice(best + 1, 0, p); changed(cam); }
});

document.addEventListener("keydown", event => {
  if (event.target instanceof HTMLInputElement) return;
  if (mode === "floor") {
    if (event.key === "Escape") setFloorTool("points");
    else if (event.key === "Enter") finishRoom();
    return;
  }
  if (event.key === "Escape") setTool("select");
  else if (event.key === "Enter" && drawing.length >= 3) finishDrawing();
  else if ((event.key === "Delete" || event.key === "Backspace") && selected) deleteSelected();
});

$("tool-select").addEventListener("click", () => setTool("select"));
$("tool-zone").addEventListener("click", () => { selected = null; setTool("zone"); });
$("tool-mask").addEventListener("click", () => { selected = null; setTool("mask"); });
$("finish").addEventListener("click", () => (mode === "floor" ? finishRoom() : finishDrawing()));
$("cancel").addEventListener("click", () => (mode === "floor" ? setFloorTool("points") : setTool("select")));
$("delete").addEventListener("click", deleteSelected);
$("hold").addEventListener("click", async () => {
  const cam = cams.get(current);
  if (!cam || !cam.server) return;
  const hold = !cam.server.hold;
  await api("/api/hold", { method: "POST", body: JSON.stringify({ camera: cam.id, hold }) });
  cam.server.hold = hold;
  updateStatus();
});
$("save").addEventListener("click", () => save().catch(() => showNotice("bad", t.offline)));
$("lang").addEventListener("click", () => { lang = lang === "de" ? "en" : "de"; applyLanguage(); });
window.addEventListener("beforeunload", event => {
  if ([...cams.values()].some(c => c.dirty) || floor.dirty) { event.preventDefault(); event.returnValue = t.leave; }
});

// setup-floor.js loads after this script and before the page is ready: start once both are in.
document.addEventListener("DOMContentLoaded", () => {
  new ResizeObserver(() => { render(); renderPlan(); }).observe($("stage"));  // a notice above: fit again
  applyLanguage();
  setMode("zones");
  if (!token) stop(t.noToken);
  else poll();
});
