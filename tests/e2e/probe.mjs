// The quick demo's device probe and run, timed in headless Chromium (SwiftShader here): prints
// each probed model's training rate (img/s, from the probe's steady batches of 64), the plan,
// the demo's phase timings and its wall time. Compare two builds with the same machine load:
//   DIST=/tmp/dist-a node tests/e2e/probe.mjs; DIST=/tmp/dist-b node tests/e2e/probe.mjs
// PROBE_ONLY=1 stops after the probes (the plan is shown, the demo not run to the end).
// PLAN='{"model":...}' (a plan this script printed) makes the demo run that plan instead of its
// own, so two builds run the same work: the served demo.js is patched, the app is not.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { serve, launch, root } from "./harness.mjs";

const extra = {};
if (process.env.PLAN) {
  const dist = process.env.DIST ?? join(root, "dist");
  const src = readFileSync(join(dist, "demo.js"), "utf8");
  const patched = src.replace("plan: await session.plan_quick_demo(probes, wasm.demo_budget_s())", `plan: ${process.env.PLAN}`);
  if (patched === src) throw new Error("PLAN: demo.js has no plan_quick_demo call to replace");
  extra["/demo.js"] = Buffer.from(patched);
}
const server = await serve(extra, process.env.DIST);
const url = `http://127.0.0.1:${server.address().port}/`;
const { browser, page } = await launch();
await page.goto(url);
await page.waitForFunction(() => document.body.dataset.status === "ok", null, { timeout: 120_000 });
const t0 = Date.now();
await page.click("#demo");
if (process.env.PROBE_ONLY) {
  await page.waitForFunction(() => /training: epoch/.test(document.getElementById("progress-text").textContent), null, { timeout: 600_000 });
} else {
  await page.waitForFunction(() => document.body.dataset.demo === "done" || document.body.dataset.state === "error", null, { timeout: 900_000, polling: 1000 });
}
const wall = (Date.now() - t0) / 1000;
const r = await page.evaluate(() => ({ probes: window.ultraspike.probes, plan: window.ultraspike.plan, timings: window.ultraspike.timings, history: window.ultraspike.history, sweep: window.ultraspike.sweep, finetuned: window.ultraspike.finetuned, dnn: window.ultraspike.dnnEval, snn: window.ultraspike.snnEval }));
for (const p of r.probes ?? []) console.log(`probe ${p.model}: ${(p.batch / p.batch_s).toFixed(1)} img/s (batch ${p.batch}, ${p.batch_s.toFixed(3)} s/batch, first ${p.first_batch_s.toFixed(2)} s)`);
console.log(`plan: ${JSON.stringify(r.plan)}`);
console.log(`timings: ${JSON.stringify(r.timings)}`);
// The run's numbers (per-epoch losses and accuracies): two builds on the same plan should agree.
console.log(`history: ${JSON.stringify(r.history)}`);
console.log(`sweep: ${JSON.stringify(r.sweep)}`);
console.log(`fine-tuned: ${JSON.stringify(r.finetuned)}`);
console.log(`dnn eval: ${JSON.stringify(r.dnn)}; snn eval: ${JSON.stringify(r.snn)}`);
console.log(`${process.env.PROBE_ONLY ? "until training started" : "demo"}: ${wall.toFixed(1)} s`);
await browser.close();
server.close();
