// A CPU profile of the page's main thread while it starts training a model on
// CIFAR-10-format records (made here), summed by function: where a long task
// goes. Function names need a build that keeps them:
//   sed -i 's|data-integrity="none">|data-integrity="none" data-keep-debug data-wasm-opt="0">|' www/index.html
//   trunk build --release --dist /tmp/dist-prof   (then restore www/index.html; DIST=/tmp/dist-prof below)
// Usage: DIST=/tmp/dist-prof MODEL=vgg16 node tests/e2e/profile.mjs   (prints self and inclusive ms)
import { cifarBatch, cifarArchive, serve, launch } from "./harness.mjs";

const server = await serve({ "/test-data/cifar.tar.gz": cifarArchive(cifarBatch(64, 1), cifarBatch(16, 2)) }, process.env.DIST);
const url = `http://127.0.0.1:${server.address().port}/`;
const { browser, page } = await launch();
await page.goto(url);
await page.waitForFunction(() => document.body.dataset.status === "ok", null, { timeout: 120_000 });
await page.fill("#train-n", "0");
await page.fill("#test-n", "0");
await page.fill("#data-url", url + "test-data/cifar.tar.gz");
await page.click("#load-url");
await page.waitForFunction(() => document.body.dataset.state === "idle" && /64 train/.test(document.getElementById("data-info").textContent), null, { timeout: 120_000 });
await page.selectOption("#model", process.env.MODEL ?? "vgg16");
await page.fill("#batch", "16");
const cdp = await page.context().newCDPSession(page);
await cdp.send("Profiler.enable");
await cdp.send("Profiler.setSamplingInterval", { interval: 200 });
await cdp.send("Profiler.start");
await page.click("#train");
await page.waitForTimeout(+(process.env.PROFILE_MS ?? 6000));
const { profile } = await cdp.send("Profiler.stop");

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const sampled = new Map(); // node id -> microseconds
profile.samples.forEach((id, i) => sampled.set(id, (sampled.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const name = (n) => `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.split("/").pop()}`;
const self = new Map();
const inclusive = new Map();
for (const [id, us] of sampled) {
  self.set(name(byId.get(id)), (self.get(name(byId.get(id))) ?? 0) + us);
  const seen = new Set();
  for (let cur = id; cur; cur = parent.get(cur)) {
    const k = name(byId.get(cur));
    if (!seen.has(k)) inclusive.set(k, (inclusive.get(k) ?? 0) + us);
    seen.add(k);
  }
}
for (const [title, m] of [["self", self], ["inclusive", inclusive]]) {
  console.log(`--- ${title}`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
}
await browser.close();
server.close();
