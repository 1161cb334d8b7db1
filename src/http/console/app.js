// The assetlib console: plain JavaScript over the v1 API, signed in with a session cookie.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { who: null, cursor: null, loading: false, done: false, queue: [], at: 0, reviewed: 0 };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

/// A v1 call with the session cookie; the console's header marks it as ours (CSRF).
async function api(method, path, body) {
  const options = { method, credentials: "same-origin", headers: { "x-assetlib-console": "1" } };
  if (body !== undefined) {
    options.headers["content-type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    if (response.status === 401 && path !== "/console/session") showSignIn();
    const message = data && data.error ? data.error.message : `HTTP ${response.status}`;
    throw new Error(message);
  }
  return data;
}

function bytes(n) {
  if (n === null || n === undefined) return "";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i += 1; }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

function when(t) {
  return t ? new Date(t).toLocaleString() : "";
}

// ---- sign-in and navigation -------------------------------------------------------------

function showSignIn() {
  state.who = null;
  $("nav").hidden = true;
  for (const id of ["library", "review", "keys"]) $(id).hidden = true;
  $("signin").hidden = false;
  $("signin-key").focus();
}

async function signedIn(who) {
  state.who = who;
  $("signin").hidden = true;
  $("nav").hidden = false;
  $("who").textContent = `${who.tenant} · ${who.role}`;
  $("nav-review").hidden = who.role === "tenant";
  $("nav-keys").hidden = who.role !== "admin";
  route();
}

function route() {
  if (!state.who) return;
  let page = (location.hash || "#library").slice(1);
  if (page === "review" && state.who.role === "tenant") page = "library";
  if (page === "keys" && state.who.role !== "admin") page = "library";
  if (!["library", "review", "keys"].includes(page)) page = "library";
  for (const id of ["library", "review", "keys"]) {
    $(id).hidden = id !== page;
    const link = $(`nav-${id}`);
    if (id === page) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (page === "library") resetLibrary();
  if (page === "review") loadQueue();
  if (page === "keys") loadKeys();
}

$("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("signin-error").textContent = "";
  try {
    const who = await api("POST", "/console/session", { key: $("signin-key").value });
    $("signin-key").value = "";
    signedIn(who);
  } catch (e) {
    $("signin-error").textContent = e.message;
  }
});

$("sign-out").addEventListener("click", async () => {
  await fetch("/console/session", { method: "DELETE", credentials: "same-origin" });
  showSignIn();
});

window.addEventListener("hashchange", route);

// ---- library ----------------------------------------------------------------------------

const ICONS = { Audio: "♪", Document: "▤", Video: "▶", Image: "▧" };

function thumbnail(asset) {
  const icon = el("span", { class: "icon", "aria-hidden": "true", text: ICONS[asset.assetType] || "?" });
  if (asset.assetType !== "Image" && asset.assetType !== "Video") return icon;
  if (asset.status === "Processing" || asset.status === "Failed") return icon;
  const img = el("img", {
    class: "thumb", alt: "", loading: "lazy", width: "320", height: "240",
    src: `/v1/assets/${encodeURIComponent(asset.assetId)}/preview`,
  });
  img.addEventListener("error", () => img.replaceWith(icon));
  return img;
}

function card(asset) {
  const item = el("li", { class: "card", "data-id": asset.assetId, "data-status": asset.status },
    el("button", { type: "button", onclick: () => showDetail(asset.assetId), "aria-label": `${asset.name || asset.assetId}, ${asset.assetType}, ${asset.status}` },
      thumbnail(asset),
      el("span", { class: "meta" },
        el("span", { class: "name", text: asset.name || asset.assetId }),
        el("span", {},
          el("span", { class: `badge ${asset.status}`, text: asset.status }),
          ` ${asset.assetType} · ${bytes(asset.bytes)}`),
        el("span", { class: "muted", text: when(asset.createTime) }))));
  return item;
}

function replaceCard(asset) {
  const old = document.querySelector(`#grid [data-id="${CSS.escape(asset.assetId)}"]`);
  if (old) old.replaceWith(card(asset));
  else $("grid").prepend(card(asset));
}

function resetLibrary() {
  state.cursor = null;
  state.done = false;
  $("grid").replaceChildren();
  $("grid-end").textContent = "";
  loadMore();
}

async function loadMore() {
  if (state.loading || state.done) return;
  state.loading = true;
  const params = new URLSearchParams({ limit: "30" });
  if ($("filter-type").value) params.set("assetType", $("filter-type").value);
  if ($("filter-status").value) params.set("status", $("filter-status").value);
  if ($("filter-name").value.trim()) params.set("name", $("filter-name").value.trim());
  if (state.cursor) params.set("cursor", state.cursor);
  try {
    const page = await api("GET", `/v1/assets?${params}`);
    for (const asset of page.items) $("grid").append(card(asset));
    state.cursor = page.nextCursor;
    state.done = !page.nextCursor;
    if (state.done) $("grid-end").textContent = $("grid").children.length ? "" : "No assets yet.";
  } catch (e) {
    $("grid-end").textContent = e.message;
  } finally {
    state.loading = false;
  }
}

new IntersectionObserver((entries) => {
  if (entries.some((e) => e.isIntersecting) && !$("library").hidden) loadMore();
}).observe($("sentinel"));

let filterTimer = null;
for (const id of ["filter-type", "filter-status", "filter-name"]) {
  $(id).addEventListener("input", () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(resetLibrary, 250);
  });
}
$("filters").addEventListener("submit", (e) => e.preventDefault());

function fact(list, name, value) {
  if (value === null || value === undefined || value === "") return;
  list.append(el("dt", { text: name }), el("dd", { text: String(value) }));
}

async function showDetail(id) {
  const panel = $("detail");
  let asset;
  try {
    asset = await api("GET", `/v1/assets/${encodeURIComponent(id)}`);
  } catch (e) {
    panel.replaceChildren(el("p", { class: "error", text: e.message }));
    panel.hidden = false;
    return;
  }
  const content = `/v1/assets/${encodeURIComponent(id)}/content`;
  const facts = el("dl", { class: "facts" });
  fact(facts, "Id", asset.assetId);
  fact(facts, "Type", asset.assetType);
  fact(facts, "Status", asset.status);
  fact(facts, "Format", asset.format);
  if (asset.width) fact(facts, "Dimensions", `${asset.width} × ${asset.height}`);
  if (asset.durationMs) fact(facts, "Duration", `${(asset.durationMs / 1000).toFixed(2)} s`);
  fact(facts, "Frame rate", asset.fps);
  fact(facts, "Video codec", asset.videoCodec);
  fact(facts, "Audio codec", asset.audioCodec);
  fact(facts, "Sample rate", asset.sampleRate ? `${asset.sampleRate} Hz` : null);
  fact(facts, "Channels", asset.channels);
  fact(facts, "Pages", asset.pages);
  fact(facts, "Size", bytes(asset.bytes));
  fact(facts, "SHA-256", asset.sha256);
  fact(facts, "Source", asset.url);
  fact(facts, "Group", asset.groupId);
  fact(facts, "Created", when(asset.createTime));
  fact(facts, "Updated", when(asset.updateTime));
  fact(facts, "Expires", when(asset.expiresAt));
  const parts = [el("h3", { text: asset.name || asset.assetId }), facts];
  if (asset.failure) {
    parts.push(el("p", { class: "error", role: "status", text: `${asset.failure.code}: ${asset.failure.message}` }));
  }
  if (asset.moderation) {
    const m = asset.moderation;
    const faces = m.faces ? m.faces.length : 0;
    let text = `Face check (${m.detector}): ${faces} face${faces === 1 ? "" : "s"} found.`;
    if (m.note) text += ` ${m.note}`;
    if (m.decision) text += ` Reviewer: ${m.decision.action}${m.decision.reason ? ` (${m.decision.reason})` : ""}.`;
    parts.push(el("p", { text }));
  }
  if (asset.status === "Active" || asset.status === "PendingReview") {
    if (asset.assetType === "Video") parts.push(el("video", { controls: true, preload: "metadata", src: content }));
    if (asset.assetType === "Audio") parts.push(el("audio", { controls: true, preload: "metadata", src: content }));
    if (asset.assetType === "Image") parts.push(el("img", { alt: asset.name || "The image", src: content }));
  }
  const copied = el("span", { class: "muted", role: "status" });
  const reference = `asset://${asset.assetId}`;
  const remove = el("button", { type: "button", class: "danger", id: "delete-asset" }, "Delete");
  remove.addEventListener("click", async () => {
    if (remove.dataset.armed !== "1") {
      remove.dataset.armed = "1";
      remove.textContent = "Really delete? It can be restored for a while.";
      return;
    }
    try {
      await api("DELETE", `/v1/assets/${encodeURIComponent(id)}`);
      document.querySelector(`#grid [data-id="${CSS.escape(id)}"]`)?.remove();
      panel.hidden = true;
    } catch (e) {
      copied.textContent = e.message;
    }
  });
  parts.push(el("div", { class: "row" },
    el("button", { type: "button", class: "secondary", onclick: async () => {
      try { await navigator.clipboard.writeText(reference); copied.textContent = `Copied ${reference}`; }
      catch { copied.textContent = reference; }
    } }, "Copy asset://"),
    el("a", { href: content, download: asset.name || asset.assetId }, "Download"),
    remove,
    el("button", { type: "button", class: "secondary", onclick: () => { panel.hidden = true; } }, "Close")),
    copied);
  panel.replaceChildren(...parts);
  panel.hidden = false;
}

function typeOf(file) {
  if (file.type.startsWith("image/")) return "Image";
  if (file.type.startsWith("video/")) return "Video";
  if (file.type.startsWith("audio/")) return "Audio";
  return "Document";
}

/// One upload's line: progress while bytes go, then the status until it settles.
function uploadLine(label) {
  const progress = el("progress", { max: "100", value: "0", "aria-label": `Upload of ${label}` });
  const status = el("span", { class: "muted", text: "sending…" });
  const line = el("li", {}, el("span", { text: label }), progress, status);
  $("uploads").prepend(line);
  return { line, progress, status };
}

async function follow(asset, ui) {
  ui.progress.value = 100;
  let current = asset;
  replaceCard(current);
  while (current.status === "Processing") {
    ui.status.textContent = "processing…";
    current = await api("GET", `/v1/assets/${encodeURIComponent(current.assetId)}?wait=30`);
  }
  ui.status.replaceChildren(el("span", { class: `badge ${current.status}`, text: current.status }),
    current.failure ? ` ${current.failure.message}` : "");
  replaceCard(current);
}

$("upload-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const url = $("upload-url").value.trim();
  const ui = uploadLine(url);
  try {
    const body = { assetType: $("upload-type").value, url };
    if ($("upload-name").value.trim()) body.name = $("upload-name").value.trim();
    const asset = await api("POST", "/v1/assets", body);
    $("upload-url").value = "";
    $("upload-name").value = "";
    await follow(asset, ui);
  } catch (e) {
    ui.status.textContent = e.message;
    ui.status.className = "error";
  }
});

function sendFile(file) {
  const ui = uploadLine(file.name);
  const form = new FormData();
  form.append("assetType", typeOf(file));
  form.append("name", file.name.slice(0, 64));
  form.append("file", file);
  const xhr = new XMLHttpRequest();
  xhr.open("POST", "/v1/assets");
  xhr.setRequestHeader("x-assetlib-console", "1");
  xhr.upload.addEventListener("progress", (e) => {
    if (e.lengthComputable) ui.progress.value = Math.round((e.loaded / e.total) * 100);
  });
  xhr.addEventListener("load", () => {
    let data = null;
    try { data = JSON.parse(xhr.responseText); } catch { data = null; }
    if (xhr.status >= 200 && xhr.status < 300 && data) {
      follow(data, ui).catch((e) => { ui.status.textContent = e.message; });
    } else {
      ui.status.textContent = data && data.error ? data.error.message : `HTTP ${xhr.status}`;
      ui.status.className = "error";
    }
  });
  xhr.addEventListener("error", () => { ui.status.textContent = "the upload was interrupted"; });
  xhr.send(form);
}

$("file-input").addEventListener("change", (e) => {
  for (const file of e.target.files) sendFile(file);
  e.target.value = "";
});
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  for (const file of e.dataTransfer.files) sendFile(file);
});

// ---- review queue -----------------------------------------------------------------------

async function loadQueue() {
  $("review-error").textContent = "";
  try {
    const page = await api("GET", "/v1/reviews?limit=100");
    state.queue = page.items;
    state.at = 0;
  } catch (e) {
    $("review-error").textContent = e.message;
    state.queue = [];
  }
  showItem();
}

function showItem() {
  const counts = `${state.queue.length} waiting · ${state.reviewed} reviewed by you this session`;
  $("review-counts").textContent = counts;
  const item = state.queue[state.at];
  $("review-empty").hidden = Boolean(item);
  $("review-item").hidden = !item;
  if (!item) return;
  const image = $("review-image");
  image.src = item.previewUrl;
  image.alt = `Preview of ${item.name || item.assetId}`;
  const w = item.imageWidth || 1;
  const h = item.imageHeight || 1;
  const drawBoxes = (container, faces) => {
    container.replaceChildren();
    faces.forEach((face, i) => {
      const box = el("div", {
        class: "face-box", title: `Face ${i + 1}: score ${face.score.toFixed(3)}`,
        "data-x": face.x, "data-y": face.y, "data-width": face.width, "data-height": face.height,
      });
      box.style.left = `${(face.x / w) * 100}%`;
      box.style.top = `${(face.y / h) * 100}%`;
      box.style.width = `${(face.width / w) * 100}%`;
      box.style.height = `${(face.height / h) * 100}%`;
      container.append(box);
    });
  };
  // An image's faces, or a video's on its first frame (the poster); its other checked frames
  // follow, each with its own boxes.
  const onFrame = (n) => item.faces.filter((f) => (f.frame ?? 0) === n);
  drawBoxes($("review-boxes"), onFrame(0));
  const strip = $("review-frames");
  strip.replaceChildren();
  (item.frameUrls || []).slice(1).forEach((url, i) => {
    const boxes = el("div", { class: "boxes" });
    drawBoxes(boxes, onFrame(i + 1));
    strip.append(el("figure", { class: "frame small", "data-frame": i + 1 },
      el("img", { src: url, alt: `Checked frame ${i + 2} of ${item.frameUrls.length}`, loading: "lazy" }),
      boxes,
      el("figcaption", { text: `Frame ${i + 2}: ${onFrame(i + 1).length} face(s)` })));
  });
  strip.hidden = strip.children.length === 0;
  $("review-caption").textContent = `${state.at + 1} of ${state.queue.length}: ${item.name || item.assetId} — tenant ${item.tenant}`;
  const facts = $("review-facts");
  facts.replaceChildren();
  fact(facts, "Asset", item.assetId);
  fact(facts, "Tenant", item.tenant);
  fact(facts, "Type", item.assetType);
  if (item.width) fact(facts, "Dimensions", `${item.width} × ${item.height}`);
  fact(facts, "Faces", item.faces.length);
  fact(facts, "Note", item.note);
  fact(facts, "Uploaded", when(item.createTime));
}

async function decide(action) {
  const item = state.queue[state.at];
  if (!item) return;
  $("review-error").textContent = "";
  const path = `/v1/reviews/${encodeURIComponent(item.assetId)}/${action}`;
  try {
    if (action === "reject") {
      const preset = $("reject-preset").value;
      const text = $("reject-text").value.trim();
      const reason = [preset, text].filter(Boolean).join(": ");
      if (!reason) throw new Error("give a reason to reject");
      await api("POST", path, { reason });
      $("reject-text").value = "";
    } else {
      await api("POST", path, {});
    }
    state.reviewed += 1;
    state.queue.splice(state.at, 1);
    if (state.at >= state.queue.length) state.at = Math.max(0, state.queue.length - 1);
    showItem();
  } catch (e) {
    $("review-error").textContent = e.message;
  }
}

function move(step) {
  if (!state.queue.length) return;
  state.at = (state.at + step + state.queue.length) % state.queue.length;
  showItem();
}

$("approve").addEventListener("click", () => decide("approve"));
$("reject").addEventListener("click", () => decide("reject"));
$("skip").addEventListener("click", () => move(1));
$("previous").addEventListener("click", () => move(-1));
document.addEventListener("keydown", (e) => {
  if ($("review").hidden || e.ctrlKey || e.metaKey || e.altKey) return;
  if (["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement.tagName)) return;
  const key = e.key.toLowerCase();
  if (key === "a") decide("approve");
  else if (key === "r") decide("reject");
  else if (key === "j") move(1);
  else if (key === "k") move(-1);
});

// ---- keys -------------------------------------------------------------------------------

async function loadKeys() {
  $("key-error").textContent = "";
  try {
    const keys = await api("GET", "/v1/keys");
    $("key-rows").replaceChildren(...keys.items.map((k) => el("tr", { "data-key": k.keyId },
      el("td", {}, el("code", { text: k.keyId })),
      el("td", { text: k.tenant }),
      el("td", { text: k.role }),
      el("td", { text: when(k.createTime) }),
      el("td", { text: k.revokeTime ? `revoked ${when(k.revokeTime)}` : "active" }),
      el("td", {}, k.revokeTime ? "" : el("button", {
        type: "button", class: "danger", "aria-label": `Revoke ${k.keyId}`,
        onclick: async (event) => {
          const button = event.currentTarget;
          if (button.dataset.armed !== "1") { button.dataset.armed = "1"; button.textContent = "Really revoke?"; return; }
          try { await api("DELETE", `/v1/keys/${encodeURIComponent(k.keyId)}`); loadKeys(); }
          catch (err) { $("key-error").textContent = err.message; }
        },
      }, "Revoke")))));
  } catch (e) {
    $("key-error").textContent = e.message;
  }
}

$("key-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("key-error").textContent = "";
  try {
    const created = await api("POST", "/v1/keys", { tenant: $("key-tenant").value.trim(), role: $("key-role").value });
    $("key-secret").textContent = created.secret;
    $("key-created").hidden = false;
    $("key-tenant").value = "";
    loadKeys();
  } catch (e) {
    $("key-error").textContent = e.message;
  }
});
$("key-copy").addEventListener("click", async () => {
  try { await navigator.clipboard.writeText($("key-secret").textContent); } catch { /* shown on screen */ }
});

// ---- start ------------------------------------------------------------------------------

api("GET", "/console/session").then(signedIn).catch(showSignIn);
