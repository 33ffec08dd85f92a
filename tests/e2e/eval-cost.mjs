// What calibration and one SNN evaluation cost in the page (the worker's Session on
// the browser's WebGPU): trains vgg-tiny on 600 MNIST images, then times single
// calls through the worker: each calibration step (4 batches of 100 images: pass 1,
// then pass 2, whose last step also reads everything back), a conversion, a sweep
// point (convert, build, evaluate with energy), the accuracy alone and the
// evaluation with energy, at T = 1 and 8, on 200 test images. Not part of the test
// run (a measurement; BENCHMARKS.md).
// Usage: trunk build --release && node tests/e2e/eval-cost.mjs
import { serve, launch } from "./harness.mjs";
const server = await serve({});
const url = `http://127.0.0.1:${server.address().port}/`;
const { browser, page } = await launch();
const idle = () => page.waitForFunction(() => document.body.dataset.state === "idle", null, { timeout: 600_000 });
try {
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.status === "ok", null, { timeout: 120_000 });
  await page.fill("#train-n", "600"); await page.fill("#test-n", "200");
  await page.click("#load-bundled");
  await page.waitForFunction(() => document.body.dataset.state === "idle" && /200 test/.test(document.getElementById("data-info").textContent), null, { timeout: 120_000 });
  await page.selectOption("#model", "vgg-tiny"); await page.fill("#epochs", "1"); await page.fill("#calib", "4");
  let t = Date.now(); await page.click("#train"); await page.waitForTimeout(500); await idle(); console.log("train", Date.now() - t);
  const r = await page.evaluate(async () => {
    const { session } = await import("./session.js");
    const out = [];
    const time = async (name, f) => { const t0 = performance.now(); const v = await f(); out.push([name, Math.round(performance.now() - t0), typeof v === "number" ? v : v?.accuracy ?? v?.evaluation?.accuracy]); };
    await time("start_calibration", () => session.start_calibration(4, 100));
    for (let i = 0; i < 8; i++) await time(`calibration step ${i + 1}`, () => session.calibration_steps(1));
    await time("convert alpha-beta 2", () => session.convert("alpha-beta", 2));
    await time("sweep deng 1", () => session.sweep_point("deng", 1));
    await time("sweep deng 1", () => session.sweep_point("deng", 1));
    await time("acc_at 1", () => session.snn_accuracy_at(1));
    await time("acc_at 1", () => session.snn_accuracy_at(1));
    await time("evaluate_snn 1", () => session.evaluate_snn(1));
    await time("acc_at 8", () => session.snn_accuracy_at(8));
    await time("evaluate_snn 8", () => session.evaluate_snn(8));
    return out;
  });
  for (const row of r) console.log(row.join("\t"));
} finally { await browser.close(); server.close(); }
