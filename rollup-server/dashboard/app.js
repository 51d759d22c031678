// The dashboard: sign-in, the overview (headline cards, quality of experience, charts, breakdowns)
// and the API keys page. Everything is read through the query API with the signed-in token and
// reloaded every 60 s. Figures an API does not give (an older server, a filter it cannot apply) show
// as "—" rather than as a wrong number.

import {
  call, claimsOf, DIMENSIONS, dimensionLabel, forgetToken, maveWindow, numberOf, onTokenRefused, optional,
  REALTIME_DIMENSIONS, saveToken, savedToken, viewsNowPath, viewsQueryPath,
} from "./api.js";
import { barTable, curveChart, emptyState, timeChart } from "./charts.js";
import * as fmt from "./format.js";
import { sdkSnippet, setUpKeysPage, showKeysPage } from "./keys.js";

const REFRESH_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const RANGES_MS = { "1h": HOUR_MS, "24h": DAY_MS, "7d": 7 * DAY_MS, "30d": 30 * DAY_MS };
const STEP_MS = { hour: HOUR_MS, day: DAY_MS };
const BREAKDOWNS = ["playbackId", "country", "browser", "os", "deviceType", "source"];
const ENGAGEMENT_RANGES = 20;

const $ = (id) => document.getElementById(id);
const state = {
  /** [{dimension, value}]; the content filter is the one with dimension "playbackId". */
  filters: [],
  /** Answers older than the latest request are dropped. */
  generation: 0,
  loads: 0,
};

// ---- time window ---------------------------------------------------------------------------

function stepFor(spanMs) {
  if (spanMs <= 2 * DAY_MS) return "hour";
  if (spanMs <= 90 * DAY_MS) return "day";
  if (spanMs <= 400 * DAY_MS) return "week";
  return "month";
}

/** The window to load now: {fromMs, toMs, timeStep} or an error message. */
function timeWindow() {
  const range = $("range").value;
  let fromMs;
  let toMs;
  if (range === "custom") {
    fromMs = new Date($("custom-from").value).getTime();
    toMs = new Date($("custom-to").value).getTime();
    if (!Number.isFinite(fromMs) || !Number.isFinite(toMs)) return { error: "Pick both ends of the custom range." };
    if (fromMs >= toMs) return { error: "The custom range must start before it ends." };
  } else {
    toMs = Date.now();
    fromMs = toMs - RANGES_MS[range];
  }
  const chosen = $("step").value;
  return { fromMs, toMs, timeStep: chosen === "auto" ? stepFor(toMs - fromMs) : chosen };
}

/** Bucket starts covering the window, when the step has a fixed length (hour, day; UTC). */
function bucketsOf({ fromMs, toMs, timeStep }) {
  const size = STEP_MS[timeStep];
  if (!size) return null;
  const first = Math.floor(fromMs / size) * size;
  if ((toMs - first) / size > 2000) return null;
  const starts = [];
  for (let t = first; t < toMs; t += size) starts.push(t);
  return starts;
}

// ---- filters -------------------------------------------------------------------------------

function contentFilter() {
  return state.filters.find((f) => f.dimension === "playbackId")?.value ?? null;
}

function setFilter(dimension, value) {
  state.filters = state.filters.filter((f) => f.dimension !== dimension);
  if (value) state.filters.push({ dimension, value });
  renderFilters();
  refresh();
}

function renderFilters() {
  $("content").value = contentFilter() ?? "";
  $("filters").replaceChildren(
    ...state.filters.map(({ dimension, value }) => {
      const chip = document.createElement("span");
      chip.className = "chip";
      chip.dataset.dimension = dimension;
      chip.textContent = `${dimensionLabel(dimension)}: ${fmt.dimensionValue(dimension, value)} `;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "quiet";
      remove.textContent = "×";
      remove.setAttribute("aria-label", `Remove the ${dimensionLabel(dimension)} filter`);
      remove.addEventListener("click", () => setFilter(dimension, null));
      chip.appendChild(remove);
      return chip;
    }),
  );
}

/** Offers the values seen in the window for the chosen filter dimension. */
async function suggestValues() {
  const dimension = $("filter-dimension").value;
  const window = timeWindow();
  if (window.error) return;
  try {
    const rows = await call("GET", viewsQueryPath({ ...window, timeStep: null, breakdownBy: [dimension] }));
    $("filter-values").replaceChildren(
      ...rows.filter((r) => r[dimension] !== undefined).map((r) => {
        const option = document.createElement("option");
        option.value = r[dimension];
        option.label = fmt.dimensionValue(dimension, r[dimension]);
        return option;
      }),
    );
  } catch {
    $("filter-values").replaceChildren();
  }
}

// ---- rendering -----------------------------------------------------------------------------

/** Shows a figure on a card; `raw` (a number or null) is kept in data-value for tests and tools. */
function setCard(metric, raw, text, note = "") {
  const card = document.querySelector(`.card[data-metric="${metric}"]`);
  const value = card.querySelector(".value");
  const known = typeof raw === "number" && Number.isFinite(raw);
  value.textContent = known ? text : fmt.MISSING;
  value.dataset.value = known ? String(raw) : "";
  card.title = note;
}

function banner(text) {
  $("banner").textContent = text;
  $("banner").hidden = !text;
}

function seriesPoints(rows, buckets, field, fill) {
  if (buckets) {
    const byStart = new Map(rows.map((r) => [r.timestamp, r]));
    return buckets.map((t, i) => [i, byStart.has(t) ? numberOf(byStart.get(t), field) : fill]);
  }
  return rows.map((r, i) => [i, numberOf(r, field)]);
}

function renderSeries(rows, window, emptyText) {
  if (!rows.length) {
    for (const id of ["chart-views", "chart-watch", "chart-ttff", "chart-rates"]) emptyState($(id), emptyText);
    return;
  }
  const buckets = bucketsOf(window);
  const labels = (buckets ?? rows.map((r) => r.timestamp)).map((t) => fmt.bucketLabel(t, window.timeStep));
  const noValue = Number.NaN;
  timeChart($("chart-views"), {
    labels, kind: "bars", format: fmt.count, empty: emptyText, title: "Views over time",
    series: [{ label: "views", cls: "s-views", points: seriesPoints(rows, buckets, "viewCount", 0) }],
  });
  timeChart($("chart-watch"), {
    labels, kind: "bars", format: (v) => fmt.watchTime(v), empty: emptyText, title: "Watch time over time",
    series: [{ label: "watched", cls: "s-watch", points: seriesPoints(rows, buckets, "playtimeMins", 0) }],
  });
  timeChart($("chart-ttff"), {
    labels, format: fmt.millis, tickFormat: fmt.millis, title: "Time to first frame over time",
    empty: "No view reached its first frame in this range.",
    series: [
      { label: "median", cls: "s-p50", points: seriesPoints(rows, buckets, "ttffMs", noValue) },
      { label: "95th percentile", cls: "s-p95", points: seriesPoints(rows, buckets, "ttffP95Ms", noValue) },
    ],
  });
  timeChart($("chart-rates"), {
    labels, format: fmt.percent, tickFormat: fmt.percent, empty: emptyText, title: "Rates over time",
    series: [
      { label: "rebuffer ratio", cls: "s-rebuffer", points: seriesPoints(rows, buckets, "rebufferRatio", noValue) },
      { label: "error rate", cls: "s-error", points: seriesPoints(rows, buckets, "errorRate", noValue) },
      { label: "exits before start", cls: "s-exits", points: seriesPoints(rows, buckets, "exitsBeforeStart", noValue) },
    ],
  });
}

function renderBreakdown(dimension, rows, emptyText) {
  const total = rows.reduce((sum, r) => sum + (numberOf(r, "viewCount") || 0), 0);
  barTable($(`breakdown-${dimension}`), {
    valueHeading: "Views",
    empty: emptyText,
    onPick: (row) => setFilter(dimension, row.key),
    rows: rows
      .map((r) => {
        const views = numberOf(r, "viewCount") || 0;
        return {
          key: r[dimension],
          label: fmt.dimensionValue(dimension, r[dimension]),
          value: views,
          text: `${fmt.count(views)} · ${fmt.percent(total ? views / total : 0)}`,
        };
      })
      .sort((a, b) => b.value - a.value),
  });
}

function renderContentPicker(rows) {
  const select = $("content");
  const chosen = contentFilter() ?? "";
  const ids = rows.map((r) => r.playbackId).filter((id) => typeof id === "string");
  if (chosen && !ids.includes(chosen)) ids.push(chosen);
  select.replaceChildren(
    new Option("All content", ""),
    ...ids.sort().map((id) => new Option(id, id)),
  );
  select.value = chosen;
}

/** Viewers now, under the filters `GET /data/views/now` can apply; null when it cannot. */
async function watchingNow() {
  const others = state.filters.filter((f) => f.dimension !== "playbackId");
  if (others.some((f) => !REALTIME_DIMENSIONS.includes(f.dimension))) return null;
  const rows = await call("GET", viewsNowPath({ contentId: contentFilter(), breakdownBy: others.map((f) => f.dimension) }));
  return rows
    .filter((r) => others.every((f) => r[f.dimension] === f.value))
    .reduce((sum, r) => sum + (numberOf(r, "viewCount") || 0), 0);
}

/** Plays from the mave-compatible API; null when this server has none or the filters do not apply. */
async function plays(window) {
  if (state.filters.some((f) => f.dimension !== "playbackId")) return null;
  const answer = await optional(`/api/v1/plays?${maveWindow({ ...window, contentId: contentFilter() })}`);
  if (!answer || !Array.isArray(answer.views)) return null;
  return answer.views.reduce((sum, v) => sum + (typeof v.views === "number" ? v.views : 0), 0);
}

async function renderEngagement(window) {
  const host = $("chart-engagement");
  const contentId = contentFilter();
  $("engagement-content").textContent = contentId ? `(${contentId})` : "";
  if (!contentId) return emptyState(host, "Pick one content above to see how far into it viewers watch.");
  const params = maveWindow({ ...window, contentId });
  params.set("ranges", String(ENGAGEMENT_RANGES));
  let answer;
  try {
    answer = await optional(`/api/v1/engagement?${params}`);
  } catch (e) {
    return emptyState(host, `The engagement API answered an error: ${e.message}`);
  }
  if (!answer) return emptyState(host, "This server has no engagement API (GET /api/v1/engagement) yet.");
  const points = (answer.engagement ?? [])
    .filter((r) => typeof r.viewers === "number")
    .map((r) => [r.range_time?.from ?? r.range ?? 0, r.viewers])
    .sort((a, b) => a[0] - b[0]);
  curveChart(host, {
    points, cls: "s-views", title: `Viewers along ${contentId}`, formatX: fmt.mediaTime, formatY: (v) => `${fmt.count(v)} viewers`,
    empty: "No one watched this content in this range.",
  });
}

// ---- loading -------------------------------------------------------------------------------

async function settle(promise) {
  try {
    return { value: await promise };
  } catch (error) {
    return { error };
  }
}

/** Loads everything for the current window and filters. */
async function refresh() {
  if (!savedToken() || $("overview").hidden) return;
  const generation = ++state.generation;
  const window = timeWindow();
  if (window.error) return banner(window.error);
  const summary = $("range-summary");
  summary.dataset.from = String(window.fromMs);
  summary.dataset.to = String(window.toMs);
  summary.textContent = `${fmt.dateTime(window.fromMs)} to ${fmt.dateTime(window.toMs)}, by ${window.timeStep}`;
  const filters = state.filters;
  const engagement = renderEngagement(window);
  const [headline, series, allContent, now, playCount, ...breakdowns] = await Promise.all([
    settle(call("GET", viewsQueryPath({ ...window, timeStep: null, filters }))),
    settle(call("GET", viewsQueryPath({ ...window, filters }))),
    settle(call("GET", viewsQueryPath({ ...window, timeStep: null, breakdownBy: ["playbackId"] }))),
    settle(watchingNow()),
    settle(plays(window)),
    ...BREAKDOWNS.map((d) => settle(call("GET", viewsQueryPath({ ...window, timeStep: null, breakdownBy: [d], filters })))),
  ]);
  await engagement;
  if (generation !== state.generation) return;

  const failed = [headline, series, ...breakdowns].find((r) => r.error);
  banner(failed ? `${filters.length ? "The query API refused these filters" : "The query API answered an error"}: ${failed.error.message}` : "");
  const total = headline.value?.[0] ?? null;
  const views = headline.error ? Number.NaN : numberOf(total, "viewCount") || 0;
  setCard("views", views, fmt.count(views));
  setCard("uniqueViewers", headline.error ? null : numberOf(total, "uniqueViewers") || 0, fmt.count(numberOf(total, "uniqueViewers") || 0));
  const minutes = headline.error ? null : numberOf(total, "playtimeMins") || 0;
  setCard("watchTime", minutes, fmt.watchTime(minutes));
  setCard("concurrentNow", now.value ?? null, fmt.count(now.value), now.value === null ? "Not available with these filters" : "Viewers with an event in the last 90 s");
  setCard("plays", playCount.value ?? null, fmt.count(playCount.value),
    playCount.value === null ? "Needs the plays API (GET /api/v1/plays); not filterable by dimension" : "Plays (mave-compatible API)");
  setCard("ttffP50", numberOf(total, "ttffMs"), fmt.millis(numberOf(total, "ttffMs")));
  setCard("ttffP95", numberOf(total, "ttffP95Ms"), fmt.millis(numberOf(total, "ttffP95Ms")));
  for (const metric of ["rebufferRatio", "errorRate", "exitsBeforeStart"]) {
    setCard(metric, numberOf(total, metric), fmt.percent(numberOf(total, metric)));
  }

  const nothing = !headline.error && views === 0;
  $("empty").hidden = !(nothing && filters.length === 0);
  $("no-match").hidden = !(nothing && filters.length > 0);
  const emptyText = headline.error
    ? "Not available: see the message above."
    : filters.length
      ? "No views match these filters in this range."
      : "No views in this range yet: see the steps above.";
  renderSeries(series.value ?? [], window, emptyText);
  BREAKDOWNS.forEach((d, i) => renderBreakdown(d, breakdowns[i].value ?? [], emptyText));
  if (allContent.value) renderContentPicker(allContent.value);

  state.loads += 1;
  document.body.dataset.loads = String(state.loads);
  $("last-loaded").textContent = `Loaded ${new Date().toLocaleTimeString()} · refreshes every 60 s`;
}

// ---- sign-in and pages ---------------------------------------------------------------------

function showPage(name) {
  for (const id of ["sign-in", "overview", "keys"]) $(id).hidden = id !== name;
  for (const link of document.querySelectorAll("#nav a")) {
    link.classList.toggle("current", link.dataset.page === name);
  }
}

async function showSignIn(message = "") {
  forgetToken();
  $("nav").hidden = true;
  $("who").hidden = true;
  $("sign-in-error").textContent = message;
  $("sign-in-error").hidden = !message;
  showPage("sign-in");
  // `make dev` starts the server with --dev-token-file; elsewhere this route does not exist.
  if (!$("token-input").value) {
    try {
      const response = await fetch("/dashboard/dev-token", { cache: "no-store" });
      if (response.ok) {
        const { token } = await response.json();
        if (token && !$("token-input").value) {
          $("token-input").value = token;
          $("dev-token-note").hidden = false;
        }
      }
    } catch {
      // No dev token: the field stays empty.
    }
  }
}

function route() {
  if (!savedToken()) return showSignIn();
  const page = location.hash === "#/keys" ? "keys" : "overview";
  showPage(page);
  if (page === "keys") showKeysPage();
  else refresh();
}

function enter(token) {
  const claims = claimsOf(token);
  $("who-tenant").textContent = `${claims.tenant} · ${claims.role ?? "viewer"}`;
  $("nav").hidden = false;
  $("who").hidden = false;
  route();
}

async function signIn(event) {
  event.preventDefault();
  const token = $("token-input").value.trim();
  const fail = (text) => {
    $("sign-in-error").textContent = text;
    $("sign-in-error").hidden = false;
  };
  const claims = claimsOf(token);
  if (!claims) return fail("That is not a Tapemetric token: expected a JWT (three dot-separated parts) with a tenant.");
  try {
    await call("GET", "/data/views/now", undefined, token);
  } catch (e) {
    return fail(`The server refused the token: ${e.message}`);
  }
  saveToken(token);
  $("token-input").value = "";
  $("dev-token-note").hidden = true;
  $("sign-in-error").hidden = true;
  enter(token);
}

function setUpControls() {
  $("filter-dimension").replaceChildren(
    ...DIMENSIONS.filter((d) => d.id !== "playbackId").map((d) => new Option(d.label, d.id)),
  );
  $("filter-dimension").value = "country";
  $("range").addEventListener("change", () => {
    const custom = $("range").value === "custom";
    $("custom-from-label").hidden = !custom;
    $("custom-to-label").hidden = !custom;
    if (custom && !$("custom-from").value) {
      const local = (ms) => new Date(ms - new Date().getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
      $("custom-from").value = local(Date.now() - 7 * DAY_MS);
      $("custom-to").value = local(Date.now());
    }
    refresh();
  });
  for (const id of ["custom-from", "custom-to", "step"]) $(id).addEventListener("change", refresh);
  $("content").addEventListener("change", () => setFilter("playbackId", $("content").value || null));
  $("filter-dimension").addEventListener("change", suggestValues);
  $("filter-value").addEventListener("focus", suggestValues);
  $("controls").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("filter-value").value.trim();
    if (!value) return;
    $("filter-value").value = "";
    setFilter($("filter-dimension").value, value);
  });
  $("refresh").addEventListener("click", refresh);
  $("clear-filters").addEventListener("click", () => {
    state.filters = [];
    renderFilters();
    refresh();
  });
}

function boot() {
  $("empty-snippet").textContent = sdkSnippet();
  setUpControls();
  setUpKeysPage();
  $("sign-in-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", () => showSignIn());
  onTokenRefused((error) => showSignIn(`The server refused the token: ${error.message}. Sign in again.`));
  window.addEventListener("hashchange", () => savedToken() && route());
  setInterval(() => document.visibilityState === "visible" && refresh(), REFRESH_MS);
  document.addEventListener("visibilitychange", () => document.visibilityState === "visible" && refresh());
  const token = savedToken();
  if (token && claimsOf(token)) enter(token);
  else showSignIn();
}

boot();
