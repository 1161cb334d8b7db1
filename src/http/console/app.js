// The assetlib console: plain JavaScript over the v1 API, signed in with a session cookie.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { who: null, cursor: null, loading: false, done: false, tenant: null };

/// The console's pages, each registered by its script: `{ show(), hide() }`, and who may see it.
const PAGES = {};
const ROLES = {
  library: ["tenant", "reviewer", "admin"],
  review: ["reviewer", "admin"],
  history: ["reviewer", "admin"],
  keys: ["admin"],
};

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
async function api(method, path, body, accept) {
  const options = { method, credentials: "same-origin", headers: { "x-assetlib-console": "1" } };
  if (accept) options.headers.accept = accept;
  if (body !== undefined) {
    options.headers["content-type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  const text = await response.text();
  if (accept && response.ok) return text;
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) {
    if (response.status === 401 && path !== "/console/session") showSignIn();
    const error = new Error(data && data.error ? data.error.message : `HTTP ${response.status}`);
    error.status = response.status;
    error.code = data && data.error ? data.error.code : null;
    throw error;
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

/// A wait in words: "45 s", "12 min", "3 h 5 min", "2 d 4 h".
function waited(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

// ---- sign-in and navigation -------------------------------------------------------------

function hideAll() {
  for (const [id, page] of Object.entries(PAGES)) {
    if (!$(id).hidden && page.hide) page.hide();
    $(id).hidden = true;
  }
}

function showSignIn() {
  state.who = null;
  state.tenant = null;
  hideAll();
  $("nav").hidden = true;
  $("who").textContent = "";
  for (const id of ["review", "history", "keys"]) $(`nav-${id}`).hidden = true;
  $("signin").hidden = false;
  $("signin-key").focus();
}

async function signedIn(who) {
  state.who = who;
  state.tenant = who.tenant;
  $("signin").hidden = true;
  $("nav").hidden = false;
  $("who").textContent = `${who.tenant} · ${who.role}`;
  for (const id of ["review", "history", "keys"]) $(`nav-${id}`).hidden = !ROLES[id].includes(who.role);
  // A reviewer's work is the queue: that is where they land.
  if (!location.hash && who.role === "reviewer") location.hash = "#review";
  else route();
}

function route() {
  if (!state.who) return;
  let page = (location.hash || "#library").slice(1);
  if (!ROLES[page] || !ROLES[page].includes(state.who.role)) page = "library";
  for (const id of Object.keys(ROLES)) {
    const link = $(`nav-${id}`);
    if (id === page) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  for (const [id, p] of Object.entries(PAGES)) {
    if (id !== page && !$(id).hidden) {
      if (p.hide) p.hide();
      $(id).hidden = true;
    }
  }
  $(page).hidden = false;
  PAGES[page].show();
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

/// Whether the focus is in a field that takes typing (keyboard shortcuts then stay quiet).
function typing() {
  const a = document.activeElement;
  if (!a) return false;
  if (a.tagName === "INPUT") return !["checkbox", "radio", "button", "submit"].includes(a.type);
  return ["SELECT", "TEXTAREA"].includes(a.tagName) || a.isContentEditable;
}

function fact(list, name, value) {
  if (value === null || value === undefined || value === "") return;
  list.append(el("dt", { text: name }), el("dd", { text: String(value) }));
}

// Every page's script has loaded (they are deferred, in order) when the document is ready.
document.addEventListener("DOMContentLoaded", () => {
  api("GET", "/console/session").then(signedIn).catch(showSignIn);
});
