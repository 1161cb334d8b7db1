// The review queue (reviewer, admin): the true count and the oldest wait, paged and refreshed
// every 10 seconds; one held asset at a time in the zoomable stage (review_stage in stage.js);
// decisions one by one or on a selection (click, shift-click, X), each undoable for 10 seconds.
"use strict";

const rq = {
  items: [], cursor: null, total: null, oldest: null, at: 0, shownId: null,
  selected: new Set(), anchor: null, reviewed: 0, poll: null, undo: null, loading: false,
};
const POLL_MS = 10000;
const UNDO_MS = 10000;

function queueQuery(limit, cursor) {
  const params = new URLSearchParams({ limit: String(limit) });
  if ($("review-tenant").value.trim()) params.set("tenant", $("review-tenant").value.trim());
  if ($("review-type").value) params.set("type", $("review-type").value);
  if (cursor) params.set("cursor", cursor);
  return `/v1/reviews?${params}`;
}

/// The first page again (as many as are loaded, up to 100), keeping the current item and the
/// selection where they still wait.
async function loadQueue(polled) {
  if (rq.loading) return;
  rq.loading = true;
  // A refresh by the timer leaves what the page said to the reviewer alone.
  if (!polled) $("review-error").textContent = "";
  const current = rq.items[rq.at] ? rq.items[rq.at].assetId : null;
  try {
    const limit = Math.min(100, Math.max(50, rq.items.length));
    if (rq.items.length > 100) {
      const page = await api("GET", queueQuery(1));
      counts(page);
    } else {
      const page = await api("GET", queueQuery(limit));
      rq.items = page.items;
      rq.cursor = page.nextCursor;
      counts(page);
      const still = new Set(rq.items.map((i) => i.assetId));
      for (const id of [...rq.selected]) if (!still.has(id)) rq.selected.delete(id);
      const at = rq.items.findIndex((i) => i.assetId === current);
      rq.at = at >= 0 ? at : Math.min(rq.at, Math.max(0, rq.items.length - 1));
    }
  } catch (e) {
    $("review-error").textContent = e.message;
  } finally {
    rq.loading = false;
  }
  render();
}

async function loadMoreQueue() {
  if (!rq.cursor) return;
  try {
    const page = await api("GET", queueQuery(50, rq.cursor));
    const have = new Set(rq.items.map((i) => i.assetId));
    rq.items.push(...page.items.filter((i) => !have.has(i.assetId)));
    rq.cursor = page.nextCursor;
    counts(page);
  } catch (e) {
    $("review-error").textContent = e.message;
  }
  render();
}

function counts(page) {
  rq.total = typeof page.total === "number" ? page.total : null;
  rq.oldest = page.oldestWaitingSeconds ?? null;
}

function showCounts() {
  const waiting = rq.total ?? rq.items.length;
  const oldest = rq.oldest !== null && waiting > 0 ? ` · oldest waiting ${waited(rq.oldest)}` : "";
  const loaded = rq.items.length < waiting ? ` · ${rq.items.length} loaded` : "";
  $("review-counts").textContent = `${waiting} waiting${oldest}${loaded} · ${rq.reviewed} decided by you this session`;
}

function render() {
  showCounts();
  const item = rq.items[rq.at];
  $("review-empty").hidden = Boolean(item);
  $("review-body").hidden = !item;
  $("review-more").hidden = !rq.cursor;
  renderList();
  renderBulk();
  if (!item) {
    rq.shownId = null;
    clearStage();
    return;
  }
  if (item.assetId !== rq.shownId) {
    rq.shownId = item.assetId;
    showStage(item, rq.at, rq.total ?? rq.items.length);
  }
}

function renderList() {
  // The list is drawn anew: the focus goes back to the same control of the same item.
  const focused = document.activeElement && document.activeElement.closest("#review-list li");
  const focusId = focused ? focused.dataset.id : null;
  const focusBox = focused && document.activeElement.type === "checkbox";
  $("review-list").replaceChildren(...rq.items.map((item, i) => {
    const name = item.name || item.assetId;
    const box = el("input", { type: "checkbox", "aria-label": `Select ${name}`, checked: rq.selected.has(item.assetId) });
    box.addEventListener("click", (e) => select(i, e.shiftKey, box.checked));
    const wait = item.waitingSeconds !== undefined ? ` · ${waited(item.waitingSeconds)}` : "";
    return el("li", { "data-id": item.assetId, class: `${i === rq.at ? "current" : ""} ${rq.selected.has(item.assetId) ? "selected" : ""}` },
      box,
      el("button", { type: "button", class: "pick", "aria-current": i === rq.at ? "true" : null, onclick: () => { rq.at = i; render(); } },
        el("span", { class: "name", text: name }),
        el("span", { class: "muted", text: `${item.tenant} · ${item.assetType} · ${item.faces.length} face(s)${wait}${item.reopened ? " · reopened" : ""}` })));
  }));
  if (focusId) {
    const li = document.querySelector(`#review-list li[data-id="${CSS.escape(focusId)}"]`);
    const target = li && li.querySelector(focusBox ? "input" : "button");
    if (target) target.focus({ preventScroll: true });
  }
  // The current item in view inside the list (the page itself does not move).
  const list = $("review-list");
  const current = list.querySelector("li.current");
  if (current) {
    if (current.offsetTop < list.scrollTop) list.scrollTop = current.offsetTop;
    const bottom = current.offsetTop + current.offsetHeight - list.clientHeight;
    if (bottom > list.scrollTop) list.scrollTop = bottom;
  }
}

/// Selects (or clears) one item, or with shift every item from the last one clicked.
function select(i, range, on) {
  const ids = range && rq.anchor !== null
    ? rq.items.slice(Math.min(rq.anchor, i), Math.max(rq.anchor, i) + 1).map((x) => x.assetId)
    : [rq.items[i].assetId];
  for (const id of ids) if (on) rq.selected.add(id); else rq.selected.delete(id);
  rq.anchor = i;
  renderList();
  renderBulk();
}

function renderBulk() {
  const n = rq.selected.size;
  $("review-selected").textContent = `${n} selected`;
  for (const id of ["bulk-approve", "bulk-reject", "bulk-clear"]) $(id).disabled = n === 0;
  $("bulk-approve").textContent = n ? `Approve ${n}` : "Approve selected";
  $("bulk-reject").textContent = n ? `Reject ${n}` : "Reject selected";
}

/// The reason chosen for a rejection; none chosen is an error, never a default.
function rejectReason() {
  const preset = $("reject-preset").value;
  const text = $("reject-text").value.trim();
  if (!preset) {
    $("reject-preset").focus();
    throw new Error("Choose a reason to reject (none is assumed).");
  }
  if (preset === "other") {
    if (!text) {
      $("reject-text").focus();
      throw new Error("Write the reason to reject.");
    }
    return text;
  }
  return text ? `${preset}: ${text}` : preset;
}

/// Decides the selection when there is one, else the item shown.
async function decide(decision) {
  const ids = rq.selected.size ? rq.items.filter((i) => rq.selected.has(i.assetId)).map((i) => i.assetId)
    : rq.items[rq.at] ? [rq.items[rq.at].assetId] : [];
  if (!ids.length) return;
  $("review-error").textContent = "";
  try {
    const reason = decision === "reject" ? rejectReason() : undefined;
    const answer = ids.length === 1 ? await decideOne(ids[0], decision, reason)
      : await api("POST", "/v1/reviews/decisions", {
        decisions: ids.map((assetId) => ({ assetId, decision, reason })),
      });
    const removed = [];
    const others = [];
    for (const r of answer.results) {
      const at = rq.items.findIndex((i) => i.assetId === r.assetId);
      if (at < 0) continue;
      if (r.result === "decided") removed.push({ item: rq.items[at], at });
      else others.push(`${rq.items[at].name || r.assetId}: ${r.result}`);
      rq.items.splice(at, 1);
      rq.selected.delete(r.assetId);
      if (rq.at > at) rq.at -= 1;
    }
    rq.reviewed += removed.length;
    if (rq.total !== null) rq.total = Math.max(0, rq.total - answer.results.length);
    if (rq.at >= rq.items.length) rq.at = Math.max(0, rq.items.length - 1);
    // Each rejection's reason is chosen anew: the last one is never carried over unseen.
    if (decision === "reject") {
      $("reject-text").value = "";
      $("reject-preset").value = "";
    }
    if (others.length) $("review-error").textContent = `Not decided here: ${others.join("; ")}`;
    offerUndo(decision, removed);
    render();
  } catch (e) {
    $("review-error").textContent = e.message;
  }
}

/// One decision through its own route, answered as the bulk route answers an item.
async function decideOne(assetId, decision, reason) {
  const path = `/v1/reviews/${encodeURIComponent(assetId)}/${decision}`;
  try {
    const asset = await api("POST", path, decision === "reject" ? { reason } : {});
    return { results: [{ assetId, decision, result: "decided", status: asset.status }] };
  } catch (e) {
    if (e.status === 409) {
      return { results: [{ assetId, decision, result: "already-decided" }] };
    }
    throw e;
  }
}

function offerUndo(decision, removed) {
  clearUndo();
  if (!removed.length) return;
  const verb = decision === "approve" ? "Approved" : "Rejected";
  const what = removed.length === 1 ? removed[0].item.name || removed[0].item.assetId : `${removed.length} assets`;
  const ends = Date.now() + UNDO_MS;
  const tick = () => {
    const left = Math.ceil((ends - Date.now()) / 1000);
    if (left <= 0) { clearUndo(); return; }
    $("review-undo-text").textContent = `${verb} ${what}. Undo within ${left} s.`;
  };
  rq.undo = { removed, timer: setInterval(tick, 500) };
  tick();
  $("review-undo").hidden = false;
}

function clearUndo() {
  if (rq.undo) clearInterval(rq.undo.timer);
  rq.undo = null;
  $("review-undo").hidden = true;
}

/// Reopens what the last decision decided and puts it back where it was.
async function undo() {
  if (!rq.undo) return;
  const { removed } = rq.undo;
  clearUndo();
  const back = [];
  for (const { item, at } of removed) {
    try {
      await api("POST", `/v1/reviews/${encodeURIComponent(item.assetId)}/reopen`, {});
      back.push({ item, at });
    } catch (e) {
      $("review-error").textContent = `${item.name || item.assetId}: ${e.message}`;
    }
  }
  for (const { item, at } of back.sort((a, b) => a.at - b.at)) rq.items.splice(Math.min(at, rq.items.length), 0, item);
  if (back.length) {
    rq.at = Math.min(back[0].at, rq.items.length - 1);
    rq.reviewed -= back.length;
    if (rq.total !== null) rq.total += back.length;
    rq.shownId = null;
  }
  render();
}

function move(step) {
  if (!rq.items.length) return;
  rq.at = (rq.at + step + rq.items.length) % rq.items.length;
  render();
}

$("approve").addEventListener("click", () => decide("approve"));
$("reject").addEventListener("click", () => decide("reject"));
$("bulk-approve").addEventListener("click", () => decide("approve"));
$("bulk-reject").addEventListener("click", () => decide("reject"));
$("bulk-clear").addEventListener("click", () => { rq.selected.clear(); renderList(); renderBulk(); });
$("review-undo-button").addEventListener("click", undo);
$("review-more").addEventListener("click", loadMoreQueue);
$("skip").addEventListener("click", () => move(1));
$("previous").addEventListener("click", () => move(-1));
let queueFilterTimer = null;
for (const id of ["review-tenant", "review-type"]) {
  $(id).addEventListener("input", () => {
    clearTimeout(queueFilterTimer);
    queueFilterTimer = setTimeout(() => { rq.items = []; rq.selected.clear(); loadQueue(); }, 300);
  });
}
$("review-filters").addEventListener("submit", (e) => e.preventDefault());

document.addEventListener("keydown", (e) => {
  if ($("review").hidden || e.ctrlKey || e.metaKey || e.altKey || typing()) return;
  const key = e.key.toLowerCase();
  const actions = {
    a: () => decide("approve"), r: () => decide("reject"), j: () => move(1), k: () => move(-1),
    u: undo, x: () => { if (rq.items[rq.at]) select(rq.at, false, !rq.selected.has(rq.items[rq.at].assetId)); },
    "+": () => viewer.zoomCentre(1.5), "=": () => viewer.zoomCentre(1.5), "-": () => viewer.zoomCentre(1 / 1.5),
    0: () => viewer.fit(),
  };
  if (actions[key]) {
    e.preventDefault();
    actions[key]();
  }
});

PAGES.review = {
  show() {
    rq.shownId = null;
    loadQueue();
    clearInterval(rq.poll);
    rq.poll = setInterval(() => { if (!document.hidden) loadQueue(true); }, POLL_MS);
  },
  hide() {
    clearInterval(rq.poll);
    rq.poll = null;
    clearUndo();
  },
};
