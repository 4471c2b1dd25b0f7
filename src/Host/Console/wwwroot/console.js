// The operator console's page: a server-sent event feed of anomalies, review items and model events, and the node's
// own endpoints for everything else. Every text from the server goes in with textContent, never as HTML.
"use strict";

const state = { me: { role: "viewer", subject: "" }, anomalies: new Map(), review: new Map(), events: [], nodes: [], versionsSeen: [], products: ["default"], product: "default" };
const $ = (selector, root = document) => root.querySelector(selector);

function isOperator() { return state.me.role === "operator"; }

async function call(method, path, body) {
  const response = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await response.json(); } catch { /* no JSON body */ }
  if (!response.ok) {
    const reason = (data && (data.reason || data.error || data.summary)) || response.statusText;
    const error = new Error(`${response.status}: ${reason}`);
    error.status = response.status;
    error.data = data;
    throw error;
  }
  return data;
}

function cell(row, text, className) {
  const td = document.createElement("td");
  if (text instanceof Node) td.appendChild(text); else td.textContent = text ?? "";
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function tag(text, kind) {
  const span = document.createElement("span");
  span.className = `tag ${kind || text}`;
  span.textContent = text;
  return span;
}

function time(iso) { return iso ? new Date(iso).toLocaleTimeString() : ""; }

// ---- tabs ----
for (const tab of document.querySelectorAll(".tab")) {
  tab.addEventListener("click", () => show(tab.dataset.page));
}

function show(page) {
  for (const tab of document.querySelectorAll(".tab")) tab.setAttribute("aria-selected", String(tab.dataset.page === page));
  for (const section of document.querySelectorAll(".page")) section.hidden = section.id !== `page-${page}`;
  if (page === "models") refreshModels();
  if (page === "health") refreshHealth();
  history.replaceState(null, "", `#${page}`);
}

// ---- cards (live anomalies and review queue) ----
function card(item, kind) {
  const node = $("#card").content.firstElementChild.cloneNode(true);
  node.dataset.frameId = item.frame_id;
  node.classList.toggle("good", kind === "review");
  $(".camera", node).textContent = item.camera_id;
  $(".frame", node).textContent = item.frame_id;
  $(".value", node).textContent = `score ${item.score.toFixed(2)}`;
  $(".against", node).textContent = `${item.score > item.threshold ? ">" : "≤"} threshold ${item.threshold.toFixed(2)}`;
  const scale = Math.max(item.score, item.threshold) * 1.25 || 1;
  $(".fill", node).style.width = `${Math.min(100, (item.score / scale) * 100)}%`;
  $(".mark", node).style.left = `${(item.threshold / scale) * 100}%`;
  $(".product", node).textContent = item.product ?? "default";
  $(".version", node).textContent = `model ${item.model_version}`;
  $(".time", node).textContent = time(item.captured_at);
  const image = $("img", node);
  image.src = `/console/frames/${item.source_partition}/${item.source_offset}?frame_id=${encodeURIComponent(item.frame_id)}`;
  image.alt = `frame ${item.frame_id}`;
  image.addEventListener("error", () => { $(".image-note", node).textContent = "image no longer on the frames topic"; });
  $("figure", node).addEventListener("click", () => { const over = $(".map", node); if (node.dataset.map === "drawn") over.hidden = !over.hidden; });
  for (const button of node.querySelectorAll(".actions button")) {
    button.disabled = !isOperator();
    button.title = isOperator() ? "" : "labels need an operator's login";
    button.addEventListener("click", () => label(item, button.dataset.label, node));
  }
  return node;
}

// The map is a grayscale PNG in the frame's aspect (255 = the map's peak): drawn red over the frame, more opaque where
// the frame looks more anomalous, with the result's regions (in the frame's own pixels) boxed on top.
async function drawMap(node, item) {
  if (node.dataset.map === "drawing" || node.dataset.map === "drawn") return;
  node.dataset.map = "drawing";
  const frame = $("img", node);
  const heat = new Image();
  heat.src = `/console/maps/${encodeURIComponent(item.frame_id)}`;
  try {
    await Promise.all([loaded(frame), loaded(heat)]);
  } catch {
    node.dataset.map = "";
    $(".image-note", node).textContent = "anomaly map not available";
    return;
  }
  const side = frame.clientWidth || 128;
  const scale = Math.min(side / frame.naturalWidth, side / frame.naturalHeight);
  const [width, height] = [frame.naturalWidth * scale, frame.naturalHeight * scale];
  const [left, top] = [(side - width) / 2, (side - height) / 2];
  const tint = document.createElement("canvas");
  [tint.width, tint.height] = [heat.naturalWidth, heat.naturalHeight];
  const paint = tint.getContext("2d");
  paint.drawImage(heat, 0, 0);
  const pixels = paint.getImageData(0, 0, tint.width, tint.height);
  for (let i = 0; i < pixels.data.length; i += 4) {
    const value = pixels.data[i];
    pixels.data.set([255, Math.max(0, 160 - value), 0, Math.round(value * 0.6)], i);
  }
  paint.putImageData(pixels, 0, 0);
  const canvas = document.createElement("canvas");
  [canvas.width, canvas.height] = [side, side];
  canvas.getContext("2d").drawImage(tint, left, top, width, height);
  const over = $(".map", node);
  over.replaceChildren(canvas);
  for (const region of item.regions ?? []) {
    const box = document.createElement("div");
    box.className = "region";
    box.title = `region ${region.width}×${region.height} px at ${region.x},${region.y}, peak ${region.peak.toFixed(3)}`;
    Object.assign(box.style, { left: `${left + region.x * scale}px`, top: `${top + region.y * scale}px`, width: `${Math.max(2, region.width * scale)}px`, height: `${Math.max(2, region.height * scale)}px` });
    over.appendChild(box);
  }
  over.hidden = false;
  node.dataset.map = "drawn";
  $(".image-note", node).textContent = `anomaly map, ${(item.regions ?? []).length} region(s)`;
}

function loaded(image) {
  if (image.complete && image.naturalWidth > 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    image.addEventListener("load", resolve, { once: true });
    image.addEventListener("error", reject, { once: true });
  });
}

function mapArrived(frameId) {
  const item = state.anomalies.get(frameId) ?? state.review.get(frameId);
  if (!item) return; // its result has not come yet: the snapshot or the card will say has_map
  item.has_map = true;
  const node = [...document.querySelectorAll(".card")].find(card => card.dataset.frameId === frameId);
  if (node) drawMap(node, item);
}

function addItem(item, kind, atTop) {
  const map = kind === "review" ? state.review : state.anomalies;
  if (map.has(item.frame_id)) return;
  map.set(item.frame_id, item);
  const list = $(kind === "review" ? "#review" : "#anomalies");
  $(".empty", list)?.remove();
  const node = card(item, kind);
  if (atTop) list.prepend(node); else list.appendChild(node);
  if (item.has_map) drawMap(node, item); // once in the page: a lazy image loads only there
  $(kind === "review" ? "#review-count" : "#anomaly-count").textContent = String(map.size);
}

async function label(item, verdict, node) {
  const sent = $(".sent", node);
  for (const button of node.querySelectorAll(".actions button")) button.disabled = true;
  sent.classList.remove("failed");
  sent.textContent = "sending…";
  try {
    const done = await call("POST", "/console/labels", { frame_id: item.frame_id, camera_id: item.camera_id, label: verdict });
    sent.textContent = `sent: ${done.label === "good" ? "good (false alarm)" : "defect confirmed"} → labels topic ${done.partition}/${done.offset}`;
    node.classList.add("labelled");
    node.dataset.labelled = done.label;
    refreshTraining();
  } catch (error) {
    sent.classList.add("failed");
    sent.textContent = `not sent: ${error.message}`;
    for (const button of node.querySelectorAll(".actions button")) button.disabled = !isOperator();
  }
}

// ---- training status ----
async function refreshTraining() {
  const box = $("#training");
  try {
    const s = await call("GET", `/training/status${productQuery()}`);
    const last = s.last_refit ? ` Last refit: ${s.last_refit.published ? "published " + s.last_refit.version : "rejected"} (${s.last_refit.summary}).` : "";
    box.textContent = `Training holds ${s.good_samples} good and ${s.defect_samples} defect samples; ${s.new_good_samples} new good since the last refit toward the next. Serving ${s.current_version ?? "nothing"}${s.refitting ? "; a refit is running" : ""}.${last}`;
  } catch (error) {
    box.textContent = `Training status unavailable: ${error.message}`;
  }
}

// ---- models ----
async function refreshModels() {
  const body = $("#versions tbody");
  try {
    await refreshProducts();
    const registry = await call("GET", `/models${productQuery()}`);
    body.replaceChildren();
    for (const model of [...registry.versions].reverse()) {
      const row = document.createElement("tr");
      row.dataset.version = model.version;
      cell(row, model.version);
      const marks = document.createElement("span");
      if (model.version === registry.current) marks.appendChild(tag("current"));
      if (model.version === registry.previous) marks.appendChild(tag("previous"));
      cell(row, marks);
      cell(row, new Date(model.created_at).toLocaleString());
      cell(row, model.threshold.toFixed(3));
      cell(row, `${model.image_size} px, ${model.test_views} views`);
      cell(row, model.origin, "detail");
      const promote = document.createElement("button");
      promote.className = "operator promote";
      promote.textContent = "Promote";
      promote.disabled = !isOperator() || model.version === registry.current;
      promote.addEventListener("click", () => modelAction(`Promote ${model.version} of ${state.product} to current? The scoring nodes will swap to it.`, "POST", `/models/${encodeURIComponent(model.version)}/promote${productQuery()}`));
      cell(row, promote);
      body.appendChild(row);
    }
    $("#rollback").disabled = !isOperator() || !registry.previous;
  } catch (error) {
    body.replaceChildren();
    const row = document.createElement("tr");
    cell(row, `registry unavailable: ${error.message}`).colSpan = 7;
    body.appendChild(row);
  }
  renderNodes();
  renderEvents();
}

// Products: the registry's list when the node has one (GET /products); the page acts on the product chosen.
function productQuery() { return state.product === "default" ? "" : `?product=${encodeURIComponent(state.product)}`; }

async function refreshProducts() {
  try {
    const listed = await call("GET", "/products");
    state.products = listed.products.map(p => p.product);
  } catch { state.products = ["default"]; }
  if (!state.products.includes(state.product)) state.product = state.products[0] ?? "default";
  const select = $("#product");
  select.replaceChildren(...state.products.map(name => { const o = document.createElement("option"); o.value = o.textContent = name; return o; }));
  select.value = state.product;
  $("#product-choice").hidden = state.products.length < 2;
}

$("#product").addEventListener("change", event => { state.product = event.target.value; refreshModels(); refreshTraining(); });

async function modelAction(question, method, path) {
  if (!confirm(question)) return;
  const note = $("#model-action");
  note.textContent = "working…";
  try {
    const result = await call(method, path);
    note.textContent = result.current ? `current version is now ${result.current} (was ${result.was ?? "none"})` : `refit ${result.published ? "published " + result.version : "rejected"}: ${result.summary}`;
  } catch (error) {
    note.textContent = `refused: ${error.message}`;
  }
  refreshModels();
  refreshTraining();
}

$("#refit").addEventListener("click", () => modelAction(`Refit the flow now on the labelled good samples of ${state.product}? The validation gate decides whether it is published.`, "POST", `/training/refit${productQuery()}`));
$("#rollback").addEventListener("click", () => modelAction(`Roll back to the previous version of ${state.product}? The scoring nodes will swap to it.`, "POST", `/models/rollback${productQuery()}`));

function renderNodes() {
  const body = $("#nodes tbody");
  body.replaceChildren();
  for (const node of state.nodes) {
    const row = document.createElement("tr");
    cell(row, node.node);
    cell(row, node.product ?? "default");
    cell(row, node.version);
    cell(row, time(node.at));
    cell(row, tag(node.adopted ? "adopted" : "refused"));
    body.appendChild(row);
  }
  if (state.nodes.length === 0) { const row = document.createElement("tr"); cell(row, "no adoption reported yet").colSpan = 5; body.appendChild(row); }
  $("#versions-seen").textContent = state.versionsSeen.length
    ? "In the results of the last minute: " + state.versionsSeen.map(v => `${v.version} (${v.results} results, last ${time(v.last_at)})`).join(", ")
    : "No results in the last minute.";
}

function renderEvents() {
  const body = $("#events tbody");
  body.replaceChildren();
  for (const e of state.events) {
    const row = document.createElement("tr");
    cell(row, time(e.at));
    cell(row, tag(e.kind.replace("_", " "), e.kind));
    cell(row, e.product ?? "default");
    cell(row, e.version);
    cell(row, e.node ?? "");
    cell(row, e.detail, "detail");
    body.appendChild(row);
  }
}

// ---- health ----
async function refreshHealth() {
  try {
    const h = await call("GET", "/console/health");
    const members = $("#members tbody");
    members.replaceChildren();
    for (const m of h.members) {
      const row = document.createElement("tr");
      cell(row, m.address + (m.is_this_node ? " (this node)" : ""));
      cell(row, m.status);
      cell(row, m.roles.join(", "));
      cell(row, m.reachable ? "yes" : "no");
      members.appendChild(row);
    }
    const cameras = $("#cameras tbody");
    cameras.replaceChildren();
    for (const c of h.cameras) {
      const row = document.createElement("tr");
      cell(row, c.camera_id);
      cell(row, String(c.frames));
      cell(row, c.frames_per_second.toFixed(2));
      cell(row, String(c.anomalies));
      cell(row, `${(c.anomaly_rate * 100).toFixed(1)} %`);
      cameras.appendChild(row);
    }
    const lag = $("#lag tbody");
    lag.replaceChildren();
    for (const p of h.frames_lag) {
      const row = document.createElement("tr");
      cell(row, String(p.partition));
      cell(row, p.committed ?? "none");
      cell(row, p.high_watermark ?? "?");
      cell(row, p.lag ?? "?");
      lag.appendChild(row);
    }
    $("#health-note").textContent = `Total lag ${h.frames_lag_total ?? "unknown"}; ${h.results_read} results read by the console; ${h.unreadable_messages} unreadable messages; ${h.listening_pages} page(s) listening.`;
  } catch (error) {
    $("#health-note").textContent = `health unavailable: ${error.message}`;
  }
}

setInterval(() => { if (!$("#page-health").hidden) refreshHealth(); }, 3000);
setInterval(refreshTraining, 10000);

// ---- the feed ----
function connect() {
  const feed = new EventSource("/console/events");
  const status = $("#feed-state");
  feed.addEventListener("open", () => { status.textContent = "live"; status.className = "feed live"; });
  feed.addEventListener("error", () => { status.textContent = "reconnecting…"; status.className = "feed down"; });
  feed.addEventListener("snapshot", message => {
    const s = JSON.parse(message.data);
    for (const item of s.anomalies) addItem(item, "anomaly", false);
    for (const item of s.review) addItem(item, "review", false);
    state.events = s.model_events;
    state.nodes = s.nodes;
    state.versionsSeen = s.versions_seen;
    renderNodes();
    renderEvents();
    document.body.dataset.feed = "ready";
  });
  feed.addEventListener("anomaly", message => addItem(JSON.parse(message.data), "anomaly", true));
  feed.addEventListener("review", message => addItem(JSON.parse(message.data), "review", true));
  feed.addEventListener("map", message => mapArrived(JSON.parse(message.data).frame_id));
  feed.addEventListener("model_event", message => {
    state.events.unshift(JSON.parse(message.data));
    refreshState();
  });
}

async function refreshState() {
  try {
    const s = await call("GET", "/console/state");
    state.events = s.model_events;
    state.nodes = s.nodes;
    state.versionsSeen = s.versions_seen;
    if (!$("#page-models").hidden) refreshModels(); else { renderNodes(); renderEvents(); }
  } catch { /* the feed shows the connection's state */ }
}

async function start() {
  try { state.me = await call("GET", "/console/me"); } catch { /* stays a viewer */ }
  $("#who").textContent = `${state.me.subject} (${state.me.role})`;
  for (const button of document.querySelectorAll("button.operator")) button.disabled = !isOperator();
  document.body.dataset.role = state.me.role;
  connect();
  refreshTraining();
  show((location.hash || "#live").slice(1));
}

start();
