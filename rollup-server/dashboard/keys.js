// The API keys page: create (the key is shown once), list, revoke. Revocation reaches the edge within
// 60 s. A key counts as revoked when `revoked_at_ms` or `disabled_at` (mave's field) is set.

import { call } from "./api.js";
import { dateTime, MISSING } from "./format.js";

const $ = (id) => document.getElementById(id);

/** The lines to paste into a page with a player. */
export function sdkSnippet(key = "tmk_YOUR_KEY") {
  return [
    '<script type="module">',
    '  // tapemetric.js: wasm-sdk/js, built by `make build-sdk`; serve it with your page',
    '  import { Tapemetric } from "/wasm-sdk/js/tapemetric.js";',
    `  const tm = await Tapemetric.init({ apiKey: "${key}", endpoint: "https://YOUR-EDGE-WORKER" });`,
    '  tm.attach(document.querySelector("video"), { contentId: "my-video" });',
    "</script>",
  ].join("\n");
}

function isRevoked(key) {
  return (key.revoked_at_ms ?? null) !== null || (key.disabled_at ?? null) !== null;
}

function revokedAt(key) {
  if (typeof key.revoked_at_ms === "number") return dateTime(key.revoked_at_ms);
  return key.disabled_at ? String(key.disabled_at) : "";
}

function say(text, isError = false) {
  const message = $("keys-message");
  message.textContent = text;
  message.classList.toggle("error", isError);
  message.hidden = !text;
}

function cell(row, text, className) {
  const td = document.createElement("td");
  if (className) td.className = className;
  td.textContent = text;
  row.appendChild(td);
  return td;
}

function button(text, className, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = className;
  b.textContent = text;
  b.addEventListener("click", onClick);
  return b;
}

/** Asks in place before revoking (no modal dialog to miss). */
function askToRevoke(actions, key) {
  const question = document.createElement("span");
  question.className = "confirm";
  question.textContent = `Revoke “${key.name}”? `;
  question.append(
    button("Yes, revoke", "danger confirm-revoke", () => revoke(key)),
    " ",
    button("Cancel", "quiet", () => renderActions(actions, key)),
  );
  actions.replaceChildren(question);
}

function renderActions(actions, key) {
  actions.replaceChildren(isRevoked(key) ? "" : button("Revoke", "danger revoke", () => askToRevoke(actions, key)));
}

async function revoke(key) {
  try {
    await call("DELETE", `/api/v1/keys/${encodeURIComponent(key.key_id)}`);
    say(`Key “${key.name}” (${key.key_id}) is revoked. The edge refuses it within 60 seconds.`);
  } catch (e) {
    say(`Could not revoke “${key.name}”: ${e.message}`, true);
  }
  await loadKeys();
}

/** Lists the tenant's keys, newest first. */
export async function loadKeys() {
  let keys;
  try {
    keys = (await call("GET", "/api/v1/keys"))?.keys ?? [];
  } catch (e) {
    say(`Could not list the keys: ${e.message}`, true);
    return;
  }
  keys.sort((a, b) => (b.created_at_ms ?? 0) - (a.created_at_ms ?? 0));
  const body = $("keys-table").tBodies[0];
  body.replaceChildren(
    ...keys.map((key) => {
      const row = document.createElement("tr");
      row.dataset.keyId = key.key_id;
      row.classList.toggle("revoked", isRevoked(key));
      cell(row, key.name || MISSING);
      cell(row, key.key_id, "mono");
      cell(row, dateTime(key.created_at_ms));
      const origins = Array.isArray(key.allowed_origins) ? key.allowed_origins : [];
      cell(row, origins.length ? origins.join(", ") : "any");
      cell(row, isRevoked(key) ? `revoked ${revokedAt(key)}` : "active", "status");
      renderActions(cell(row, "", "actions"), key);
      return row;
    }),
  );
  $("keys-list").hidden = keys.length === 0;
  $("keys-empty").hidden = keys.length > 0;
}

async function createKey(event) {
  event.preventDefault();
  const name = $("key-name").value.trim();
  const origins = $("key-origins").value.split(/[\s,]+/).filter(Boolean);
  const body = origins.length ? { name, allowed_origins: origins } : { name };
  try {
    const issued = await call("POST", "/api/v1/keys", body);
    $("key-issued-value").textContent = issued.key;
    $("key-snippet").textContent = sdkSnippet(issued.key);
    $("key-issued").hidden = false;
    $("key-create").reset();
    say(`Key “${issued.name}” (${issued.key_id}) created.`);
  } catch (e) {
    $("key-issued").hidden = true;
    say(`Could not create the key: ${e.message}`, true);
  }
  await loadKeys();
}

/** Wires the page's forms (once). */
export function setUpKeysPage() {
  $("key-create").addEventListener("submit", createKey);
  $("key-copy").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText($("key-issued-value").textContent);
      $("key-copy").textContent = "Copied";
    } catch {
      $("key-copy").textContent = "Select and copy";
    }
  });
}

/** Opens the page: forgets a key shown earlier, lists the keys. */
export function showKeysPage() {
  $("key-issued").hidden = true;
  $("key-copy").textContent = "Copy";
  say("");
  return loadKeys();
}
