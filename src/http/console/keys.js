// The keys page (admin): create a key (shown once), list them, revoke one.
"use strict";

async function loadKeys() {
  $("key-error").textContent = "";
  try {
    const keys = await api("GET", "/v1/keys");
    const mine = state.who ? state.who.keyId : null;
    $("key-rows").replaceChildren(...keys.items.map((k) => el("tr", { "data-key": k.keyId },
      el("td", { "data-label": "Key" }, el("code", { text: k.keyId }), k.keyId === mine ? el("span", { class: "muted", text: " (you)" }) : null),
      el("td", { "data-label": "Name", text: k.name || "" }),
      el("td", { "data-label": "Tenant", text: k.tenant }),
      el("td", { "data-label": "Role", text: k.role }),
      el("td", { "data-label": "Created", text: when(k.createTime) }),
      el("td", { "data-label": "State", text: k.revokeTime ? `revoked ${when(k.revokeTime)}` : "active" }),
      el("td", {}, k.revokeTime ? "" : revokeButton(k, k.keyId === mine)))));
  } catch (e) {
    $("key-error").textContent = e.message;
  }
}

/// Revoke, armed by a first click; the key the console is signed in with says so first, and
/// revoking it signs out.
function revokeButton(k, mine) {
  const warning = el("p", { class: "error revoke-warning", role: "alert" });
  const verb = el("span", { text: "Revoke" });
  const button = el("button", {
    type: "button", class: "danger",
    onclick: async () => {
      if (button.dataset.armed !== "1") {
        button.dataset.armed = "1";
        verb.textContent = "Really revoke";
        if (mine) {
          warning.textContent = "This is the key you are signed in with: revoking it ends this session and signs you out. Any program using it stops working.";
        }
        return;
      }
      try {
        await api("DELETE", `/v1/keys/${encodeURIComponent(k.keyId)}`);
        if (mine) showSignIn();
        else loadKeys();
      } catch (err) { $("key-error").textContent = err.message; }
    },
  }, verb, el("span", { class: "visually-hidden", text: ` ${k.keyId}${mine ? ", the key you are signed in with" : ""}` }));
  return el("div", {}, button, mine ? warning : null);
}

$("key-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("key-error").textContent = "";
  try {
    const body = { tenant: $("key-tenant").value.trim(), role: $("key-role").value };
    if ($("key-name").value.trim()) body.name = $("key-name").value.trim();
    const created = await api("POST", "/v1/keys", body);
    $("key-secret").textContent = created.secret;
    $("key-created").hidden = false;
    $("key-tenant").value = "";
    $("key-name").value = "";
    loadKeys();
  } catch (e) {
    $("key-error").textContent = e.message;
  }
});
$("key-copy").addEventListener("click", async () => {
  try { await navigator.clipboard.writeText($("key-secret").textContent); } catch { /* shown on screen */ }
});

PAGES.keys = { show: loadKeys };
