// The library page: upload (files or a URL), browse with filters, open an asset's details,
// rename it, file it in a group, delete and restore it. An admin (and a reviewer, read-only)
// may switch to any tenant's library (`?tenant=`).
"use strict";

const ICONS = { Audio: "♪", Document: "▤", Video: "▶", Image: "▧" };
const lib = { groups: [], deleted: false };

/// Whether the library shown is another tenant's (then every call names it).
function elsewhere() {
  return state.who && state.tenant && state.tenant !== state.who.tenant;
}

/// `path` with `?tenant=` when the library shown is another tenant's.
function scoped(path) {
  if (!elsewhere()) return path;
  return `${path}${path.includes("?") ? "&" : "?"}tenant=${encodeURIComponent(state.tenant)}`;
}

/// A reviewer reads other tenants' libraries but changes nothing there.
function readOnly() {
  return elsewhere() && state.who.role === "reviewer";
}

function thumbnail(asset) {
  const icon = el("span", { class: "icon", "aria-hidden": "true", text: ICONS[asset.assetType] || "?" });
  if (asset.assetType !== "Image" && asset.assetType !== "Video") return icon;
  if (asset.status === "Processing" || asset.status === "Failed" || lib.deleted) return icon;
  const img = el("img", {
    class: "thumb", alt: "", loading: "lazy", width: "320", height: "240",
    src: scoped(`/v1/assets/${encodeURIComponent(asset.assetId)}/preview`),
  });
  img.addEventListener("error", () => img.replaceWith(icon));
  return img;
}

function card(asset) {
  return el("li", { class: "card", "data-id": asset.assetId, "data-status": asset.status },
    el("button", { type: "button", onclick: () => showDetail(asset.assetId, asset) },
      thumbnail(asset),
      el("span", { class: "meta" },
        el("span", { class: "name", text: asset.name || asset.assetId }),
        el("span", {},
          el("span", { class: `badge ${asset.status}`, text: asset.status }),
          ` ${asset.assetType} · ${bytes(asset.bytes)}`),
        el("span", { class: "muted", text: when(asset.createTime) }))));
}

function replaceCard(asset) {
  const old = document.querySelector(`#grid [data-id="${CSS.escape(asset.assetId)}"]`);
  if (old) old.replaceWith(card(asset));
  else if (!lib.deleted) $("grid").prepend(card(asset));
}

/// The filters in force, in words ("" when none).
function filtersInWords() {
  const parts = [];
  if ($("filter-type").value) parts.push(`type ${$("filter-type").value}`);
  if ($("filter-status").value && !lib.deleted) parts.push(`status ${$("filter-status").value}`);
  if ($("filter-group").value) {
    const g = lib.groups.find((x) => x.groupId === $("filter-group").value);
    parts.push(`group “${g ? g.name : $("filter-group").value}”`);
  }
  if ($("filter-name").value.trim()) parts.push(`name “${$("filter-name").value.trim()}”`);
  return parts.join(", ");
}

function resetLibrary() {
  state.cursor = null;
  state.done = false;
  lib.deleted = $("filter-status").value === "deleted";
  $("grid").replaceChildren();
  $("grid-end").replaceChildren();
  $("detail").hidden = true;
  const mine = !elsewhere();
  $("library-title").textContent = mine ? "Library" : `Library of ${state.tenant}`;
  $("upload-tools").hidden = !mine || lib.deleted;
  $("filter-group-row").hidden = !mine;
  loadTotal();
  loadMore();
}

/// The tenant's count of live assets (its usage), beside the number shown.
async function loadTotal() {
  const path = elsewhere() ? `/v1/tenants/${encodeURIComponent(state.tenant)}/quota` : "/v1/usage";
  if (elsewhere() && state.who.role !== "admin") {
    state.total = null;
  } else {
    try {
      const usage = await api("GET", path);
      const n = usage && usage.assets ? usage.assets.used : null;
      state.total = n ?? null;
    } catch { state.total = null; /* the count is a convenience */ }
  }
  showCount();
}

function showCount() {
  const shown = $("grid").children.length;
  const more = state.done ? "" : "+";
  const total = state.total !== undefined && state.total !== null ? ` · ${state.total} in ${state.tenant}` : "";
  $("library-total").textContent = lib.deleted
    ? `${shown}${more} deleted, restorable`
    : `${shown}${more} shown${filtersInWords() ? " (filtered)" : ""}${total}`;
}

async function loadMore() {
  if (state.loading || state.done) return;
  state.loading = true;
  const params = new URLSearchParams({ limit: "30" });
  if ($("filter-type").value) params.set("assetType", $("filter-type").value);
  if (lib.deleted) params.set("deleted", "true");
  else if ($("filter-status").value) params.set("status", $("filter-status").value);
  if ($("filter-name").value.trim()) params.set("name", $("filter-name").value.trim());
  if ($("filter-group").value && !elsewhere()) params.set("groupId", $("filter-group").value);
  if ($("sort").value !== "newest") params.set("sort", $("sort").value);
  if (state.cursor) params.set("cursor", state.cursor);
  try {
    const page = await api("GET", scoped(`/v1/assets?${params}`));
    for (const asset of page.items) $("grid").append(card(asset));
    state.cursor = page.nextCursor;
    state.done = !page.nextCursor;
    if (state.done && !$("grid").children.length) emptyState();
  } catch (e) {
    $("grid-end").textContent = e.message;
  } finally {
    state.loading = false;
    showCount();
  }
}

/// What an empty grid means: nothing matches the filters, nothing deleted, or nothing yet.
function emptyState() {
  const filters = filtersInWords();
  if (filters) {
    $("grid-end").replaceChildren(`No assets match ${filters}. `,
      el("button", { type: "button", class: "secondary", id: "clear-filters", onclick: clearFilters }, "Clear filters"));
  } else if (lib.deleted) {
    $("grid-end").textContent = "Nothing deleted to restore.";
  } else {
    $("grid-end").textContent = readOnly() || elsewhere() ? `No assets in ${state.tenant} yet.` : "No assets yet. Upload one above.";
  }
}

function clearFilters() {
  for (const id of ["filter-type", "filter-group", "filter-name"]) $(id).value = "";
  if (!lib.deleted) $("filter-status").value = "";
  resetLibrary();
}

new IntersectionObserver((entries) => {
  if (entries.some((e) => e.isIntersecting) && !$("library").hidden) loadMore();
}).observe($("sentinel"));

let filterTimer = null;
for (const id of ["filter-type", "filter-status", "filter-name", "filter-group", "sort"]) {
  $(id).addEventListener("input", () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(resetLibrary, 250);
  });
}
$("filters").addEventListener("submit", (e) => e.preventDefault());

async function loadGroups() {
  if (elsewhere()) return;
  try {
    const page = await api("GET", "/v1/groups?limit=100");
    lib.groups = page.items;
  } catch { lib.groups = []; }
  const keep = $("filter-group").value;
  $("filter-group").replaceChildren(el("option", { value: "", text: "Any" }),
    ...lib.groups.map((g) => el("option", { value: g.groupId, text: `${g.name} (${g.assetCount})` })));
  $("filter-group").value = keep;
}

// ---- switching tenant (admin, reviewer) -----------------------------------------------------

$("tenant-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const wanted = $("tenant-input").value.trim() || state.who.tenant;
  state.tenant = wanted;
  state.total = null;
  $("tenant-input").value = wanted;
  resetLibrary();
});

async function tenantChoices() {
  const seen = new Set([state.who.tenant]);
  if (state.who.role === "admin") {
    try { for (const k of (await api("GET", "/v1/keys")).items) seen.add(k.tenant); } catch { /* typing works too */ }
  }
  $("tenant-list").replaceChildren(...[...seen].sort().map((t) => el("option", { value: t })));
}

PAGES.library = {
  show() {
    const switcher = state.who.role !== "tenant";
    $("tenant-form").hidden = !switcher;
    if (switcher) {
      $("tenant-input").value = state.tenant;
      tenantChoices();
    }
    loadGroups();
    resetLibrary();
  },
};
