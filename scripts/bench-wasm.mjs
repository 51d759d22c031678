// Times the edge worker's ingest core compiled to wasm (edge-wasm-bench) in Node's V8, the engine
// workerd runs: parser build at module start, cold requests (first sighting of a UA) and warm ones.
// Prints figures; asserts nothing. Usage: node scripts/bench-wasm.mjs <pkg dir> <uap-core test_ua.yaml>
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import path from "node:path";

const [pkgDir, uaFile] = process.argv.slice(2);
const require = createRequire(import.meta.url);
const t0 = process.hrtime.bigint();
const bench = require(path.resolve(pkgDir, "edge_wasm_bench.js"));
const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;

const uas = [];
for (const line of readFileSync(uaFile, "utf8").split("\n")) {
  const m = line.match(/^\s*- user_agent_string:\s*(['"])(.*)\1\s*$/);
  if (m && !uas.includes(m[2])) uas.push(m[2]);
  if (uas.length === 50) break;
}
const EVENTS = 20;
const now = Date.now();
const body = (b) => JSON.stringify({ events: Array.from({ length: EVENTS }, (_, i) => ({
  type: "heartbeat", ts: now, eid: `e-${b}-${i}`, anonymous_id: `anon-${b}`, session_id: `s-${b}`,
  view_id: `v-${b}`, content_id: `film-${i}`, content_type: "film", duration_s: 5400.0, position_s: i + 0.5,
  watched_ms: 10000, rebuffer_ms: 0, played: [[i, i + 10]], page_url: `https://example.com/watch/film-${i}`,
  player_name: "hls.js" })) });

const t1 = process.hrtime.bigint();
if (!bench.setup()) throw new Error("uap-core rules failed to load");
const buildMs = Number(process.hrtime.bigint() - t1) / 1e6;

// Cold: every UA seen for the first time.
bench.clear_ua_cache();
const bodies = Array.from({ length: 2000 }, (_, b) => body(b));
let coldNs = 0n;
for (let i = 0; i < uas.length; i++) {
  const t = process.hrtime.bigint();
  if (bench.ingest_request(bodies[i], uas[i], now) === 0) throw new Error("ingest failed");
  coldNs += process.hrtime.bigint() - t;
}
// Warm: UAs cached; first a warm-up round for the JIT.
for (let i = 0; i < 200; i++) bench.ingest_request(bodies[i], uas[i % uas.length], now);
const t2 = process.hrtime.bigint();
for (let b = 0; b < bodies.length; b++) bench.ingest_request(bodies[b], uas[b % uas.length], now);
const warmNs = Number(process.hrtime.bigint() - t2);
const coldPerReq = Number(coldNs) / uas.length / 1e3;

console.log(`ingest core (wasm in Node ${process.version}, ${uas.length} distinct real UAs, ${EVENTS} events/request)`);
console.log(`  wasm module load + start         ${loadMs.toFixed(1).padStart(10)} ms (includes the worker's own #[event(start)] parser build)`);
console.log(`  uap-core parser build            ${buildMs.toFixed(1).padStart(10)} ms (once per isolate, at module start)`);
console.log(`  cold request (new UA)            ${coldPerReq.toFixed(1).padStart(10)} us/request  ${(coldPerReq / EVENTS).toFixed(2).padStart(8)} us/event`);
console.log(`  warm request (cached UA)         ${(warmNs / bodies.length / 1e3).toFixed(1).padStart(10)} us/request  ${(warmNs / bodies.length / EVENTS / 1e3).toFixed(2).padStart(8)} us/event`);
