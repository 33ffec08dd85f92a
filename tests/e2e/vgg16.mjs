// The main thread while the page trains a big model: VGG-16 (the paper's, 15 M
// parameters) on CIFAR-10-format data (records made here in the official binary
// format and fetched by URL, as a user's archive would be), in headless Chromium.
// Measures the time per batch, every long task and long animation frame (with the
// page's own scripts in them) from the click on Train to the end of a Cancel, the
// lateness of a 50 ms timer in the page, and how long Cancel takes.
// Not part of scripts/test.sh (minutes on SwiftShader); README quotes its numbers.
// Usage: node tests/e2e/vgg16.mjs [--out test-output/e2e]   (after `trunk build --release`)
//   env: VGG16_BATCH (images per batch, default 16), VGG16_BATCHES (batches to time, default 6)
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { root, cifarBatch, cifarArchive, serve, launch, check, failures, longTasksIn, probeObservers } from "./harness.mjs";

const outDir = resolve(root, process.argv.includes("--out") ? process.argv[process.argv.indexOf("--out") + 1] : "test-output/e2e");
const BATCH = +(process.env.VGG16_BATCH ?? 16);
const BATCHES = +(process.env.VGG16_BATCHES ?? 6);
const TRAIN = BATCH * (BATCHES + 4); // the epoch outlasts the measurement: Cancel ends it

const server = await serve({ "/test-data/cifar.tar.gz": cifarArchive(cifarBatch(TRAIN, 1), cifarBatch(BATCH, 2)) });
const url = `http://127.0.0.1:${server.address().port}/`;
await mkdir(outDir, { recursive: true });
const { browser, page, consoleErrors } = await launch();
const batchNow = async () => Number(((await page.textContent("#progress-text")).match(/batch (\d+)\//) ?? [0, -1])[1]);

try {
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.status === "ok" || document.body.dataset.status === "err", null, { timeout: 120_000 });
  check((await page.getAttribute("body", "data-status")) === "ok", `WebGPU session opened: ${(await page.textContent("#status")).trim()}`);
  await page.fill("#train-n", "0");
  await page.fill("#test-n", "0");
  await page.fill("#data-url", url + "test-data/cifar.tar.gz");
  await page.click("#load-url");
  await page.waitForFunction((n) => document.body.dataset.state === "idle" && document.getElementById("data-info").textContent.includes(`${n} train`), TRAIN, { timeout: 120_000 });
  await page.selectOption("#model", "vgg16");
  await page.fill("#epochs", "1");
  await page.fill("#batch", String(BATCH));

  const t0 = await page.evaluate(() => {
    // A 50 ms timer's lateness is what a user feels (scrolling, typing) while the GPU works.
    window.__late = [];
    let last = performance.now();
    window.__timer = setInterval(() => { const now = performance.now(); window.__late.push(now - last - 50); last = now; }, 50);
    return performance.now();
  });
  await page.click("#train");
  // Time the batches after the first (pipelines, buffers and the first upload are built before it).
  await page.waitForFunction(() => /batch [1-9]\d*\//.test(document.getElementById("progress-text").textContent), null, { timeout: 600_000, polling: 100 });
  const [b1, s1] = [await batchNow(), Date.now()];
  await page.waitForFunction((n) => Number((document.getElementById("progress-text").textContent.match(/batch (\d+)\//) ?? [0, 0])[1]) >= n, b1 + BATCHES, { timeout: 1_200_000, polling: 100 });
  const [b2, s2] = [await batchNow(), Date.now()];
  const batchMs = (s2 - s1) / (b2 - b1);
  const cancelMs = await page.evaluate(() => new Promise((ok) => {
    const t = performance.now();
    document.getElementById("cancel").click();
    const poll = () => (document.body.dataset.state === "busy" ? setTimeout(poll, 5) : ok(performance.now() - t));
    poll();
  }));
  const t1 = await page.evaluate(() => { clearInterval(window.__timer); return performance.now(); });
  const late = (await page.evaluate(() => window.__late)).sort((a, b) => a - b);
  const q = (p) => Math.round(late[Math.min(late.length - 1, Math.floor(p * late.length))]);
  const lt = await longTasksIn(page, url, [[t0, t1]]);
  const probe = await probeObservers(page);
  const worst = Math.max(0, ...lt.appScripts.map((x) => x.dur));
  const report = {
    model: "vgg16", input: "3x32x32 (CIFAR-10 format)", batch: BATCH, batches_timed: b2 - b1, ms_per_batch: Math.round(batchMs),
    images_per_s: +((1000 * BATCH) / batchMs).toFixed(1), seconds: +((t1 - t0) / 1000).toFixed(1),
    long_tasks_ms: lt.tasks, app_scripts_over_50ms: lt.appScripts.filter((x) => x.dur > 50), app_longest_script_ms: worst,
    timer_late_ms: { p50: q(0.5), p95: q(0.95), max: Math.round(late.at(-1) ?? 0), samples: late.length }, cancel_ms: Math.round(cancelMs),
    device: (await page.textContent("#status")).trim(),
  };
  console.log(JSON.stringify(report));
  await writeFile(join(outDir, "vgg16-main-thread.json"), JSON.stringify(report, null, 1));
  await page.screenshot({ path: join(outDir, "vgg16-cancelled.png"), fullPage: true });
  check(probe.tasks.some((d) => d >= 100), `the long-task observer sees a 120 ms probe task: ${JSON.stringify(probe)}`);
  check(worst <= 50, `VGG-16 training: the app's longest script ${worst} ms (long tasks: ${JSON.stringify(lt.tasks)})`);
  check(/cancelled/.test(report.device) && cancelMs < batchMs + 1000, `cancel in ${report.cancel_ms} ms (one batch ${report.ms_per_batch} ms)`);
  check(consoleErrors.length === 0, `no console errors (${consoleErrors.join(" | ")})`);
} catch (e) {
  failures.push(String(e));
  console.log("FAIL", e);
  await page.screenshot({ path: join(outDir, "vgg16-failure.png"), fullPage: true }).catch(() => {});
} finally {
  await browser.close();
  server.close();
}
process.exit(failures.length ? 1 : 0);
