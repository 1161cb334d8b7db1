// An asset's details beside the grid (a sheet over it on a narrow screen): its facts, its
// review decision, its content, and what may be done with it (rename, move to a group, copy its
// reference, download, delete, restore).
"use strict";

async function showDetail(id, listed) {
  const panel = $("detail");
  let asset = listed;
  if (!lib.deleted) {
    try {
      asset = await api("GET", scoped(`/v1/assets/${encodeURIComponent(id)}`));
    } catch (e) {
      panel.replaceChildren(el("h3", { text: listed ? listed.name || id : id }),
        el("p", { class: "error", text: e.message }),
        el("button", { type: "button", class: "secondary", onclick: closeDetail }, "Close"));
      openPanel(panel);
      return;
    }
  }
  const content = scoped(`/v1/assets/${encodeURIComponent(id)}/content`);
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
  const group = lib.groups.find((g) => g.groupId === asset.groupId);
  fact(facts, "Group", group ? group.name : asset.groupId);
  fact(facts, "Created", when(asset.createTime));
  fact(facts, "Updated", when(asset.updateTime));
  fact(facts, "Expires", when(asset.expiresAt));
  if (asset.review) {
    const r = asset.review;
    const who = r.decidedByName || r.decidedBy || "a reviewer";
    fact(facts, "Review", `${r.decision === "approve" ? "approved" : "rejected"} by ${who}, ${when(r.decidedAt)}${r.reason ? ` (${r.reason})` : ""}`);
  }
  const parts = [el("div", { class: "detail-head" }, el("h3", { text: asset.name || asset.assetId }),
    el("button", { type: "button", class: "secondary", id: "detail-close", onclick: closeDetail }, "Close")), facts];
  if (asset.failure) {
    parts.push(el("p", { class: "error", role: "status", text: `${asset.failure.code}: ${asset.failure.message}` }));
  }
  if (asset.moderation) {
    const m = asset.moderation;
    const faces = m.faces ? m.faces.length : 0;
    let text = `Face check (${m.detector}): ${faces} face${faces === 1 ? "" : "s"} found.`;
    if (m.note) text += ` ${m.note}`;
    parts.push(el("p", { text }));
  }
  if (!lib.deleted && (asset.status === "Active" || asset.status === "PendingReview")) {
    const label = `The ${asset.assetType.toLowerCase()} ${asset.name || asset.assetId}`;
    if (asset.assetType === "Video") parts.push(el("video", { controls: true, preload: "metadata", src: content, "aria-label": label }));
    if (asset.assetType === "Audio") parts.push(el("audio", { controls: true, preload: "metadata", src: content, "aria-label": label }));
    if (asset.assetType === "Image") parts.push(el("img", { alt: label, src: content }));
  }
  const said = el("p", { class: "muted", role: "status" });
  if (lib.deleted) {
    if (!readOnly()) parts.push(el("div", { class: "row" }, restoreButton(id, said)));
  } else if (!readOnly()) {
    parts.push(editForm(asset, said));
  }
  const reference = `asset://${asset.assetId}`;
  const actions = el("div", { class: "row" });
  if (!lib.deleted) {
    actions.append(
      el("button", { type: "button", class: "secondary", onclick: async () => {
        try { await navigator.clipboard.writeText(reference); said.textContent = `Copied ${reference}`; }
        catch { said.textContent = reference; }
      } }, "Copy asset://"),
      el("a", { href: content, download: asset.name || asset.assetId }, "Download"));
    if (!readOnly()) actions.append(deleteButton(id, said));
  }
  actions.append(el("button", { type: "button", class: "secondary", onclick: closeDetail }, "Close"));
  parts.push(actions, said);
  panel.replaceChildren(...parts);
  openPanel(panel);
}

/// Rename and move to a group, in one small form.
function editForm(asset, said) {
  const name = el("input", { id: "detail-name", type: "text", maxlength: "64", value: asset.name || "" });
  const group = el("select", { id: "detail-group" },
    el("option", { value: "", text: "No group" }),
    ...lib.groups.map((g) => el("option", { value: g.groupId, text: g.name })));
  group.value = asset.groupId || "";
  const form = el("form", { class: "edit", id: "detail-edit" },
    el("label", { for: "detail-name", text: "Name" }), name,
    elsewhere() ? null : el("label", { for: "detail-group", text: "Group" }),
    elsewhere() ? null : group,
    el("button", { type: "submit" }, "Save"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { name: name.value.trim() };
    if (!elsewhere()) body.groupId = group.value || null;
    try {
      const saved = await api("PATCH", scoped(`/v1/assets/${encodeURIComponent(asset.assetId)}`), body);
      replaceCard(saved);
      said.textContent = "Saved.";
      if (!elsewhere()) loadGroups();
      $("detail").querySelector("h3").textContent = saved.name || saved.assetId;
    } catch (e) {
      said.textContent = e.message;
    }
  });
  return form;
}

function deleteButton(id, said) {
  const remove = el("button", { type: "button", class: "danger", id: "delete-asset" }, "Delete");
  remove.addEventListener("click", async () => {
    if (remove.dataset.armed !== "1") {
      remove.dataset.armed = "1";
      remove.textContent = "Really delete? It can be restored for a while (Status: Deleted).";
      return;
    }
    try {
      await api("DELETE", scoped(`/v1/assets/${encodeURIComponent(id)}`));
      document.querySelector(`#grid [data-id="${CSS.escape(id)}"]`)?.remove();
      closeDetail();
      loadTotal();
    } catch (e) {
      said.textContent = e.message;
    }
  });
  return remove;
}

function restoreButton(id, said) {
  return el("button", { type: "button", id: "restore-asset", onclick: async () => {
    try {
      await api("POST", scoped(`/v1/assets/${encodeURIComponent(id)}/restore`));
      document.querySelector(`#grid [data-id="${CSS.escape(id)}"]`)?.remove();
      closeDetail();
      if (!$("grid").children.length) emptyState();
      loadTotal();
    } catch (e) {
      said.textContent = e.message;
    }
  } }, "Restore");
}

/// Shows the details where the eye is: a sheet over the page on a narrow screen (CSS), the
/// panel beside the grid scrolled into view on a wide one; the focus moves to its heading.
function openPanel(panel) {
  if (panel.hidden) state.openedFrom = document.activeElement;
  panel.hidden = false;
  panel.scrollTop = 0;
  const heading = panel.querySelector("h3") || panel.firstElementChild;
  if (heading) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }
  if (!window.matchMedia("(max-width: 700px)").matches) panel.scrollIntoView({ block: "nearest" });
}

function closeDetail() {
  $("detail").hidden = true;
  const back = state.openedFrom;
  state.openedFrom = null;
  if (back && back.isConnected) back.focus();
}

document.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && !$("detail").hidden && !$("library").hidden) closeDetail();
});
