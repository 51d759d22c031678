// Drives the dashboard in headless Chromium (Debian's, through playwright-core) against a rollup server
// filled with tests/dashboard.rs's dataset, and checks it against the query API: the headline figures
// equal the API's, a content filter and a country filter change them to the API's filtered figures,
// and a key created on the keys page can be revoked there. Saves screenshots at desktop (1280x800) and
// mobile (390x844) widths. Prints {"revokedKey", "revokedKeyId", "countryFilter", "screenshots"}.
// Usage: node tests/dashboard_check.mjs <server url> <admin token = the dev token> <empty tenant token> <artefact dir>
import { mkdir } from "node:fs/promises";
import path from "node:path";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const [base, adminToken, emptyToken, artefacts] = process.argv.slice(2);
await mkdir(artefacts, { recursive: true });
const screenshots = [];
const cspViolations = [];
const DESKTOP = { width: 1280, height: 800 };
const MOBILE = { width: 390, height: 844 };

async function api(pathAndQuery, token = adminToken) {
  const response = await fetch(`${base}${pathAndQuery}`, { headers: { Authorization: `Bearer ${token}` } });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function shoot(page, name) {
  const file = path.join(artefacts, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  screenshots.push(file);
}

/** A page that fails the run on a script error or any request beyond the rollup server. */
async function openPage(browser, viewport) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on("pageerror", (e) => {
    throw new Error(`script error on the page: ${e.message}`);
  });
  page.on("console", (m) => {
    // Refused requests are checked through the page itself; anything else is worth seeing.
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) console.error(`page: ${m.text()}`);
    if (m.text().includes("Content Security Policy")) cspViolations.push(m.text());
  });
  page.on("request", (r) => {
    assert.ok(r.url().startsWith(`${base}/`), `the dashboard fetched ${r.url()}, beyond the rollup server`);
  });
  return page;
}

const loads = (page) => page.evaluate(() => Number(document.body.dataset.loads ?? 0));

/** Runs `action`, then waits until the page has finished one more load. */
async function afterReload(page, action) {
  const before = await loads(page);
  await action();
  await page.waitForFunction((n) => Number(document.body.dataset.loads ?? 0) > n, before, { timeout: 20_000 });
}

/** Signs in with what the sign-in field holds (the dev token) or with `token`. */
async function signIn(page, token) {
  await page.goto(`${base}/`);
  await page.waitForSelector("#sign-in:not([hidden])");
  if (token) {
    await page.fill("#token-input", token);
  } else {
    await page.waitForFunction(() => document.getElementById("token-input").value.length > 0, null, { timeout: 10_000 });
    assert.equal(await page.inputValue("#token-input"), adminToken, "the dev token fills the sign-in field");
  }
  await afterReload(page, () => page.click("#sign-in-button"));
  assert.equal(await page.evaluate(() => sessionStorage.getItem("tapemetric.token")), token ?? adminToken);
}

async function card(page, metric) {
  return page.$eval(`.card[data-metric="${metric}"] .value`, (el) => ({ text: el.textContent, value: el.dataset.value }));
}

/** The query the page made for the headline, asked of the API directly. */
async function apiHeadline(page, filters) {
  const { from, to } = await page.$eval("#range-summary", (el) => ({ ...el.dataset }));
  const params = new URLSearchParams({ from, to, ...filters });
  const { status, body } = await api(`/data/views/query?${params}`);
  return { status, body, row: body?.[0] ?? {} };
}

async function sumNow(filters = {}) {
  const { body } = await api(`/data/views/now?${new URLSearchParams(filters)}`);
  return body.reduce((sum, r) => sum + r.viewCount, 0);
}

/** Every headline and quality card shows the API's figure for the same window and filters. */
async function headlineMatchesApi(page, filters = {}) {
  const { row } = await apiHeadline(page, filters);
  const fmt = new Intl.NumberFormat("en-US");
  const views = await card(page, "views");
  assert.equal(Number(views.value), row.viewCount ?? 0, "views");
  assert.equal(views.text, fmt.format(row.viewCount ?? 0), "views as shown");
  const unique = await card(page, "uniqueViewers");
  assert.equal(Number(unique.value), row.uniqueViewers ?? 0, "unique viewers");
  assert.equal(unique.text, fmt.format(row.uniqueViewers ?? 0), "unique viewers as shown");
  assert.equal(Number((await card(page, "watchTime")).value), row.playtimeMins ?? 0, "watch time (minutes)");
  for (const [metric, field] of [["ttffP50", "ttffMs"], ["ttffP95", "ttffP95Ms"], ["rebufferRatio", "rebufferRatio"],
    ["errorRate", "errorRate"], ["exitsBeforeStart", "exitsBeforeStart"]]) {
    const shown = await card(page, metric);
    if (row[field] === undefined) assert.equal(shown.text, "—", metric);
    else assert.equal(Number(shown.value), row[field], metric);
  }
  return row;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"],
});
let countryFilter;
let revokedKey;
let revokedKeyId;
try {
  // ---- desktop: sign in with the dev token, headline = API --------------------------------------
  const page = await openPage(browser, DESKTOP);
  await page.goto(`${base}/`);
  await page.waitForFunction(() => document.getElementById("token-input").value.length > 0, null, { timeout: 10_000 });
  await shoot(page, "sign-in-desktop");
  const nowBefore = await sumNow();
  await signIn(page);
  const all = await headlineMatchesApi(page);
  assert.equal(all.viewCount, 6, "the dataset's views");
  const nowShown = Number((await card(page, "concurrentNow")).value);
  assert.ok([nowBefore, await sumNow()].includes(nowShown), `watching now ${nowShown}`);
  const window = await page.$eval("#range-summary", (el) => ({ ...el.dataset }));
  const plays = await api(`/api/v1/plays?from=${Math.floor(window.from / 1000)}&to=${Math.ceil(window.to / 1000)}`);
  if (plays.status === 404) {
    assert.equal((await card(page, "plays")).text, "—", "plays without the plays API");
  } else {
    const total = plays.body.views.reduce((sum, v) => sum + v.views, 0);
    assert.equal(Number((await card(page, "plays")).value), total, "plays");
  }
  assert.ok(!(await page.isVisible("#empty")), "no empty state with data");
  const countries = await page.$$eval("#breakdown-country tbody tr", (rows) => rows.map((r) => r.dataset.value));
  assert.deepEqual(countries, ["DE", "FR", "US"], "country table");
  await shoot(page, "overview-desktop");

  // ---- a content filter --------------------------------------------------------------------------
  await afterReload(page, () => page.selectOption("#content", "big-buck-bunny"));
  const bunny = await headlineMatchesApi(page, { playbackId: "big-buck-bunny" });
  assert.equal(bunny.viewCount, 4, "big-buck-bunny's views");
  assert.ok(await page.isVisible('.chip[data-dimension="playbackId"]'), "the filter is shown");
  await afterReload(page, () => page.selectOption("#content", ""));
  await headlineMatchesApi(page);

  // ---- a country filter (sent as country=DE) -----------------------------------------------------
  await page.selectOption("#filter-dimension", "country");
  await page.fill("#filter-value", "DE");
  await afterReload(page, () => page.click("#filter-add"));
  const germany = await apiHeadline(page, { country: "DE" });
  assert.equal(germany.status, 200, "the API filters by country");
  const germanRow = await headlineMatchesApi(page, { country: "DE" });
  assert.equal(germanRow.viewCount, 3, "views from Germany");
  countryFilter = "applied";
  await shoot(page, "overview-filtered-desktop");
  await afterReload(page, () => page.click('.chip[data-dimension="country"] button'));
  await headlineMatchesApi(page);

  // ---- keys: create, then revoke -----------------------------------------------------------------
  await page.goto(`${base}/#/keys`);
  await page.waitForSelector("#keys:not([hidden])");
  assert.match(await page.textContent("#keys"), /within 60 seconds/, "the propagation delay is stated");
  await page.fill("#key-name", "dashboard-check");
  await page.click('#key-create button[type="submit"]');
  await page.waitForSelector("#key-issued:not([hidden])");
  revokedKey = await page.textContent("#key-issued-value");
  assert.match(revokedKey, /^tmk_/, "the new key is shown once");
  const listed = (await api("/api/v1/keys")).body.keys.find((k) => k.name === "dashboard-check");
  revokedKeyId = listed.key_id;
  const row = `#keys-table tr[data-key-id="${revokedKeyId}"]`;
  assert.equal(await page.textContent(`${row} .status`), "active");
  await shoot(page, "keys-created-desktop");
  await page.click(`${row} button.revoke`);
  await page.click(`${row} button.confirm-revoke`);
  await page.waitForFunction((sel) => document.querySelector(sel)?.classList.contains("revoked"), row, { timeout: 10_000 });
  assert.match(await page.textContent(`${row} .status`), /^revoked/);
  assert.match(await page.textContent("#keys-message"), /within 60 seconds/);
  const after = (await api("/api/v1/keys")).body.keys.find((k) => k.key_id === revokedKeyId);
  assert.ok(after.revoked_at_ms !== null || after.disabled_at, "the API lists the key as revoked");
  await shoot(page, "keys-desktop");

  // ---- an empty tenant: the empty state explains what to do --------------------------------------
  const empty = await openPage(browser, DESKTOP);
  await signIn(empty, emptyToken);
  assert.ok(await empty.isVisible("#empty"), "the empty state shows");
  assert.match(await empty.textContent("#empty-snippet"), /Tapemetric\.init/);
  assert.equal((await card(empty, "views")).text, "0");
  await shoot(empty, "empty-desktop");

  // ---- mobile width --------------------------------------------------------------------------------
  const mobile = await openPage(browser, MOBILE);
  await signIn(mobile);
  await headlineMatchesApi(mobile);
  const overflow = await mobile.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the overview is ${overflow}px wider than a phone`);
  await shoot(mobile, "overview-mobile");
  await mobile.goto(`${base}/#/keys`);
  await mobile.waitForSelector(`#keys-table tr[data-key-id="${revokedKeyId}"]`);
  await shoot(mobile, "keys-mobile");
  assert.deepEqual(cspViolations, [], "the page keeps to its own Content-Security-Policy");
} finally {
  await browser.close();
}
console.log(JSON.stringify({ revokedKey, revokedKeyId, countryFilter, screenshots }));
