// The decision history (reviewer, admin): every approve, reject and reopen, newest first, with
// filters, paged on, and the same list as CSV.
"use strict";

const hist = { cursor: null };

function historyQuery(extra) {
  const params = new URLSearchParams(extra);
  const set = (name, id) => { const v = $(id).value.trim(); if (v) params.set(name, v); };
  set("reviewer", "history-reviewer");
  set("tenant", "history-tenant");
  set("decision", "history-decision");
  set("since", "history-since");
  return `/v1/reviews/history?${params}`;
}

const DECIDED = { approve: "Approved", reject: "Rejected", reopen: "Reopened" };

function historyRow(entry) {
  const faces = Array.isArray(entry.faces) ? entry.faces.length : entry.faces;
  return el("tr", { "data-entry": entry.entryId },
    el("td", { "data-label": "When", text: when(entry.decidedAt) }),
    el("td", { "data-label": "Decision" }, el("span", { class: `badge ${entry.decision}`, text: DECIDED[entry.decision] || entry.decision })),
    el("td", { "data-label": "Asset" }, el("code", { text: entry.assetId })),
    el("td", { "data-label": "Tenant", text: entry.tenant }),
    el("td", { "data-label": "Reviewer", text: entry.reviewerName || entry.reviewerKeyId }),
    el("td", { "data-label": "Reason", text: entry.reason || "" }),
    el("td", { "data-label": "Faces", text: faces === undefined || faces === null ? "" : String(faces) }));
}

async function loadHistory(more) {
  $("history-error").textContent = "";
  if (!more) {
    hist.cursor = null;
    $("history-rows").replaceChildren();
  }
  try {
    const extra = { limit: "50" };
    if (more && hist.cursor) extra.cursor = hist.cursor;
    const page = await api("GET", historyQuery(extra));
    $("history-rows").append(...page.items.map(historyRow));
    hist.cursor = page.nextCursor;
    $("history-more").hidden = !hist.cursor;
    const n = $("history-rows").children.length;
    const filtered = ["history-reviewer", "history-tenant", "history-decision", "history-since"].some((id) => $(id).value.trim());
    $("history-end").textContent = n ? "" : filtered ? "No decisions match these filters." : "No decisions yet.";
  } catch (e) {
    $("history-error").textContent = e.message;
  }
}

/// The list as the API's CSV (every row the filters match, up to its cap), saved as a file.
async function downloadCsv() {
  $("history-error").textContent = "";
  try {
    const csv = await api("GET", historyQuery({ limit: "10000" }), undefined, "text/csv");
    const url = URL.createObjectURL(new Blob([csv], { type: "text/csv" }));
    const link = el("a", { href: url, download: `review-history-${new Date().toISOString().slice(0, 10)}.csv` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (e) {
    $("history-error").textContent = e.message;
  }
}

let historyTimer = null;
for (const id of ["history-reviewer", "history-tenant", "history-decision", "history-since"]) {
  $(id).addEventListener("input", () => {
    clearTimeout(historyTimer);
    historyTimer = setTimeout(() => loadHistory(false), 300);
  });
}
$("history-filters").addEventListener("submit", (e) => e.preventDefault());
$("history-more").addEventListener("click", () => loadHistory(true));
$("history-csv").addEventListener("click", downloadCsv);

PAGES.history = { show: () => loadHistory(false) };
