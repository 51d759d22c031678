// Plays a real video in headless Chromium (Debian's, driven by playwright-core) on the demo page with
// the Tapemetric SDK attached, then ends the view and waits until every event is delivered to the edge.
// Prints {"played_s": ..., "user_agent": ...}. Used by tests/pipeline.rs.
// Usage: node tests/browser_e2e.mjs <edge url> <api key> <video file> <content id> <seconds to play>
//        [offline <seconds> | outage <seconds>]
// With `offline N`, the network goes down 2 s into playback and stays down for N seconds of playing;
// the view ends and the page is closed while still offline (events stay queued in localStorage); then
// the network comes back and the demo page is opened again, without playing: the SDK delivers what the
// closed page left, and the run waits until nothing is pending.
// With `outage N`, the whole video is buffered (it plays meanwhile), then the network goes down 2 s later and stays
// down for N seconds while the video plays on (the page stays open); then it comes back, playback goes
// on for 5 s, the view ends and the run waits until nothing is pending. It also prints how many events
// were queued when the network came back, how long the SDK took to deliver them, and how many events
// the edge acknowledged (answers 202, read from the requests) and which queued ones it never did.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const [edge, key, videoFile, contentId, seconds] = process.argv.slice(2);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const types = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".webm": "video/webm" };
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Static server: the repo root (demo page, SDK) and the test video at /e2e/video.webm.
const server = createServer(async (req, res) => {
  const url = new URL(req.url, "http://x");
  const file = url.pathname === "/e2e/video.webm" ? videoFile : path.join(root, path.normalize(url.pathname));
  if (!file.startsWith(root) && file !== videoFile) return res.writeHead(403).end();
  try {
    const body = await readFile(file);
    const headers = { "content-type": types[path.extname(file)] ?? "application/octet-stream", "accept-ranges": "bytes" };
    // Byte ranges, as any static server answers them (the browser buffers media through them).
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
    if (range && Number(range[1]) < body.length) {
      const start = Number(range[1]);
      const end = Math.min(range[2] ? Number(range[2]) : body.length - 1, body.length - 1);
      headers["content-range"] = `bytes ${start}-${end}/${body.length}`;
      return res.writeHead(206, headers).end(body.subarray(start, end + 1));
    }
    res.writeHead(200, headers).end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const port = server.address().port;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
         "--autoplay-policy=no-user-gesture-required"],
});
try {
  const [mode, offlineSeconds] = process.argv.slice(7);
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") console.error(`page: ${m.text()}`); });
  const query = new URLSearchParams({ key, endpoint: edge, autoplay: "1", src: "/e2e/video.webm", content: contentId });
  const demo = `http://127.0.0.1:${port}/demo/index.html`;
  await page.goto(`${demo}?${query}`);
  const playedUntil = (s) =>
    page.waitForFunction((t) => document.getElementById("player").currentTime >= t, s,
                         { timeout: (s + 90) * 1000, polling: 100 });
  // Event ids the edge acknowledged (every 202 answer to a batch, fetch or beacon).
  const acknowledged = new Set();
  page.on("response", (response) => {
    if (!response.url().startsWith(`${edge}/v1/events`) || response.status() !== 202) return;
    for (const event of JSON.parse(response.request().postData() ?? "{}").events ?? []) acknowledged.add(event.eid);
  });
  const queuedIds = () => page.evaluate(() => JSON.parse(localStorage.getItem("tapemetric.queue") ?? "[]").map((e) => e.eid));
  let result;
  let outage;
  if (mode === "outage") {
    // The page plays on through the outage: nothing it needs may come from the network meanwhile.
    await page.waitForFunction(() => {
      const video = document.getElementById("player");
      const buffered = video.buffered;
      return buffered.length > 0 && buffered.end(buffered.length - 1) >= video.duration - 0.1;
    }, null, { timeout: 60_000, polling: 200 });
    const bufferedAt = await page.evaluate(() => document.getElementById("player").currentTime);
    await playedUntil(bufferedAt + 2);
    await context.setOffline(true);
    await playedUntil(bufferedAt + 2 + Number(offlineSeconds));
    const queued = await queuedIds();
    const backAt = Date.now();
    await context.setOffline(false);
    await page.waitForFunction(() => window.tapemetric.pendingEvents() === 0, null, { timeout: 120_000, polling: 100 });
    const drainedAfter = (Date.now() - backAt) / 1000;
    await playedUntil(bufferedAt + 2 + Number(offlineSeconds) + 5);
    outage = { queued, drainedAfter, bufferedAt };
  } else if (mode === "offline") {
    await playedUntil(2);
    await context.setOffline(true);
    await playedUntil(2 + Number(offlineSeconds));
  } else {
    await playedUntil(Number(seconds));
  }
  const played = await page.evaluate(() => {
    const video = document.getElementById("player");
    video.pause();
    window.tapemetricView.detach();
    window.tapemetric.flush();
    return video.currentTime;
  });
  if (mode === "offline") {
    const queued = await page.evaluate(() => window.tapemetric.pendingEvents());
    if (queued === 0) throw new Error("nothing was queued while offline");
    // A second tab keeps the context open while the first one closes, still offline.
    const again = await context.newPage();
    await Promise.all([page.waitForEvent("close"), page.close({ runBeforeUnload: true })]);
    await sleep(500);
    await context.setOffline(false);
    again.on("console", (m) => { if (m.type() === "error") console.error(`page: ${m.text()}`); });
    const reload = new URLSearchParams({ key, endpoint: edge, src: "/e2e/video.webm", content: contentId });
    await again.goto(`${demo}?${reload}`);
    await again.waitForFunction(() => window.tapemetric && window.tapemetric.pendingEvents() === 0, null,
                                { timeout: 60_000, polling: 200 });
    result = { played_s: played, queued_while_offline: queued };
  } else if (mode === "outage") {
    await page.waitForFunction(() => window.tapemetric.pendingEvents() === 0, null, { timeout: 60_000, polling: 200 });
    // The last answer's event is handled after the SDK saw the response.
    await sleep(500);
    result = {
      played_s: played,
      buffered_at_s: outage.bufferedAt,
      queued_when_back: outage.queued.length,
      drained_after_s: outage.drainedAfter,
      acknowledged: acknowledged.size,
      queued_never_acknowledged: outage.queued.filter((eid) => !acknowledged.has(eid)).length,
    };
  } else {
    await page.waitForFunction(() => window.tapemetric.pendingEvents() === 0, null, { timeout: 30_000, polling: 200 });
    result = { played_s: played, user_agent: await page.evaluate(() => navigator.userAgent) };
  }
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
  server.close();
}
