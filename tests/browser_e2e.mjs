// Plays a real video in headless Chromium (Debian's, driven by playwright-core) on the demo page with
// the Tapemetric SDK attached, then ends the view and waits until every event is delivered to the edge.
// Prints {"played_s": ..., "user_agent": ...}. Used by tests/pipeline.rs.
// Usage: node tests/browser_e2e.mjs <edge url> <api key> <video file> <content id> <seconds to play>
//        [offline <seconds>]
// With `offline N`, the network goes down 2 s into playback and stays down for N seconds of playing;
// the view ends and the page is closed while still offline (events stay queued in localStorage); then
// the network comes back and the demo page is opened again, without playing: the SDK delivers what the
// closed page left, and the run waits until nothing is pending.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const [edge, key, videoFile, contentId, seconds] = process.argv.slice(2);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const types = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".webm": "video/webm" };

// Static server: the repo root (demo page, SDK) and the test video at /e2e/video.webm.
const server = createServer(async (req, res) => {
  const url = new URL(req.url, "http://x");
  const file = url.pathname === "/e2e/video.webm" ? videoFile : path.join(root, path.normalize(url.pathname));
  if (!file.startsWith(root) && file !== videoFile) return res.writeHead(403).end();
  try {
    const body = await readFile(file);
    res.writeHead(200, { "content-type": types[path.extname(file)] ?? "application/octet-stream" }).end(body);
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
    page.waitForFunction((t) => document.getElementById("player").currentTime >= t, s, { timeout: 90_000, polling: 100 });
  let result;
  if (mode === "offline") {
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
    await new Promise((resolve) => setTimeout(resolve, 500));
    await context.setOffline(false);
    again.on("console", (m) => { if (m.type() === "error") console.error(`page: ${m.text()}`); });
    const reload = new URLSearchParams({ key, endpoint: edge, src: "/e2e/video.webm", content: contentId });
    await again.goto(`${demo}?${reload}`);
    await again.waitForFunction(() => window.tapemetric && window.tapemetric.pendingEvents() === 0, null,
                                { timeout: 60_000, polling: 200 });
    result = { played_s: played, queued_while_offline: queued };
  } else {
    await page.waitForFunction(() => window.tapemetric.pendingEvents() === 0, null, { timeout: 30_000, polling: 200 });
    result = { played_s: played, user_agent: await page.evaluate(() => navigator.userAgent) };
  }
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
  server.close();
}
