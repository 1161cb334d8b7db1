// Uploads from the library page: files (chosen or dropped) and URLs, each with a line that
// follows it until it settles; finished lines can be cleared.
"use strict";

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
  const line = el("li", {}, el("span", { class: "upload-name", text: label }), progress, status);
  $("uploads").prepend(line);
  $("uploads-clear").hidden = false;
  return { line, progress, status };
}

/// A line is done: it may be cleared (an Active one goes by itself after a while).
function finished(ui, ok) {
  ui.line.dataset.done = ok ? "ok" : "failed";
  if (ok) setTimeout(() => { ui.line.remove(); uploadsLeft(); }, 8000);
}

function uploadsLeft() {
  $("uploads-clear").hidden = $("uploads").children.length === 0;
}

$("uploads-clear").addEventListener("click", () => {
  for (const line of [...$("uploads").children]) if (line.dataset.done) line.remove();
  uploadsLeft();
});

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
  loadTotal();
  finished(ui, current.status !== "Failed");
}

$("upload-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const url = $("upload-url").value.trim();
  const ui = uploadLine(url);
  try {
    // No type picked: the server takes it from the fetched bytes and says which.
    const body = { url };
    if ($("upload-type").value) body.assetType = $("upload-type").value;
    if ($("upload-name").value.trim()) body.name = $("upload-name").value.trim();
    const asset = await api("POST", "/v1/assets", body);
    $("upload-url").value = "";
    $("upload-name").value = "";
    ui.line.dataset.type = asset.assetType;
    ui.line.querySelector(".upload-name").after(el("span", { class: "upload-type", text: asset.assetType }));
    await follow(asset, ui);
  } catch (e) {
    ui.status.textContent = e.message;
    ui.status.className = "error";
    finished(ui, false);
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
      follow(data, ui).catch((e) => { ui.status.textContent = e.message; finished(ui, false); });
    } else {
      ui.status.textContent = data && data.error ? data.error.message : `HTTP ${xhr.status}`;
      ui.status.className = "error";
      finished(ui, false);
    }
  });
  xhr.addEventListener("error", () => { ui.status.textContent = "the upload was interrupted"; finished(ui, false); });
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

