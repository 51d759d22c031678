// Drives Tapemetric's Mux Data API with the official `@mux/mux-node` client (15.x), unchanged but
// for `baseURL` and `authorizationToken` (a Tapemetric JWT, sent as `Authorization: Bearer`), and
// prints what the client parsed as JSON. Used by tests/known_answers.rs.
// Usage: node tests/mux_sdk_check.mjs <server url> <JWT> <from epoch s> <to epoch s> <metric ids, comma separated>
import Mux from "@mux/mux-node";

const [baseURL, authorizationToken, from, to, metricList] = process.argv.slice(2);
const mux = new Mux({ baseURL, authorizationToken, maxRetries: 0 });
const timeframe = [from, to];
const failure = (e) => ({ status: e.status ?? null, message: String(e.message ?? e) });

const overall = {};
for (const metric of metricList.split(",")) {
  overall[metric] = (await mux.data.metrics.getOverallValues(metric, { timeframe })).data;
}
// Every page of a breakdown, as a `for await` reads them (page size 2).
const breakdown = [];
for await (const row of mux.data.metrics.listBreakdownValues("video_startup_time", {
  timeframe, group_by: "country", limit: 2, order_by: "field", order_direction: "asc",
})) {
  breakdown.push(row);
}
const filtered = (await mux.data.metrics.getOverallValues("views", {
  timeframe, filters: ["country:DE", "!browser:Chrome"],
})).data;
const slowStarts = (await mux.data.metrics.getOverallValues("views", {
  timeframe, metric_filters: ["video_startup_time>=2000"],
})).data;
const timeseries = await mux.data.metrics.getTimeseries("playback_failure_percentage", { timeframe, group_by: "day" });
const insights = await mux.data.metrics.getInsights("playback_failure_percentage", { timeframe });
const comparison = await mux.data.metrics.list({ timeframe, dimension: "country", value: "DE" });
const dimensions = await mux.data.dimensions.list();
const countries = [];
for await (const value of mux.data.dimensions.listValues("country", { timeframe, limit: 3 })) {
  countries.push(value);
}
const notMeasured = await mux.data.metrics.getOverallValues("upscale_percentage", { timeframe })
  .then((r) => ({ unexpected: r }), failure);
const badFilter = await mux.data.metrics.getOverallValues("views", { timeframe, filters: ["planet:mars"] })
  .then((r) => ({ unexpected: r }), failure);
console.log(JSON.stringify({
  overall, breakdown, filtered, slowStarts,
  timeseries: { data: timeseries.data, meta: timeseries.meta },
  insights: insights.data, comparison: comparison.data,
  dimensions: dimensions.data, countries, notMeasured, badFilter,
}));
