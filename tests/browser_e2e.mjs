// Plays a real video in headless Chromium (Debian's, driven by playwright-core) on the demo page with
// the Tapemetric SDK attached, then ends the view and waits until every event is delivered to the edge.
// Prints {"played_s": ..., "user_agent": ...}. Used by tests/pipeline.rs.
// Usage: node tests/browser_e2e.mjs <edge url> <api key> <video file> <content id> <seconds to play>
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
  const page = await browser.newPage();
  page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") console.error(`page: ${m.text()}`); });
  const query = new URLSearchParams({ key, endpoint: edge, autoplay: "1", src: "/e2e/video.webm", content: contentId });
  await page.goto(`http://127.0.0.1:${port}/demo/index.html?${query}`);
  await page.waitForFunction((s) => document.getElementById("player").currentTime >= s, Number(seconds),
                             { timeout: 60_000, polling: 100 });
  const played = await page.evaluate(() => {
    const video = document.getElementById("player");
    video.pause();
    window.tapemetricView.detach();
    window.tapemetric.flush();
    return video.currentTime;
  });
  await page.waitForFunction(() => window.tapemetric.pendingEvents() === 0, null, { timeout: 30_000, polling: 200 });
  const userAgent = await page.evaluate(() => navigator.userAgent);
  console.log(JSON.stringify({ played_s: played, user_agent: userAgent }));
} finally {
  await browser.close();
  server.close();
}
