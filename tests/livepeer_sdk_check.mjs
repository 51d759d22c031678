// Drives Tapemetric's query API with the official `livepeer` npm SDK (3.x), unchanged but for
// `serverURL`, and prints what the SDK parsed as JSON. Used by tests/pipeline.rs.
// Usage: node tests/livepeer_sdk_check.mjs <server url> <JWT> <playbackId>
import { Livepeer } from "livepeer";

const [serverURL, token, playbackId] = process.argv.slice(2);
const livepeer = new Livepeer({ apiKey: token, serverURL });
const byContent = await livepeer.metrics.getViewership({ breakdownBy: ["playbackId", "browser"] });
const daily = await livepeer.metrics.getViewership({ playbackId, timeStep: "day" });
const total = await livepeer.metrics.getPublicViewership(playbackId).catch((e) => ({ error: String(e) }));
const now = await livepeer.metrics.getRealtimeViewership(undefined, undefined, ["playbackId"]);
console.log(JSON.stringify({
  byContent: byContent.data,
  daily: daily.data,
  total: total.data ?? total,
  now: now.data,
}));
