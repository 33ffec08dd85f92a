// The quick demo sized to the device: train each candidate model for a few
// batches (the first one builds the network, the rest are steady), let the
// library plan the demo from those timings (src/pipeline/demo.rs: the model,
// data, epochs and sizes that fit the time budget, and why), and put the plan
// into the form, whose fields the demo's steps then read.
import { $ } from "./dom.js";

/** Batches timed per model: the first (building the network) and three steady ones. */
const PROBE_BATCHES = 4;
const PROBE_BATCH = 64;

/** Time one model's first batches on the loaded data (its run is dropped by the next training). */
async function probe(session, model, progress) {
  const seconds = [];
  let t = performance.now();
  await session.start_training({ model, epochs: 1, batch: PROBE_BATCH });
  for (let i = 0; i < PROBE_BATCHES; i++) {
    progress(i / PROBE_BATCHES, `measuring this device: ${model}, batch ${i + 1}/${PROBE_BATCHES}`);
    await session.train_steps(1);
    seconds.push((performance.now() - t) / 1000);
    t = performance.now();
  }
  const steady = seconds.slice(1);
  return { model, batch: PROBE_BATCH, first_batch_s: seconds[0], batch_s: steady.reduce((a, b) => a + b, 0) / steady.length };
}

/** Probe every demo model on the data loaded now, and return the library's plan. */
export async function planDemo(session, wasm, progress) {
  const probes = [];
  for (const model of wasm.demo_models()) probes.push(await probe(session, model, progress));
  return { probes, plan: await session.plan_quick_demo(probes, wasm.demo_budget_s()) };
}

/** The plan as the form's settings (the steps read them), and said in the run card. */
export function applyPlan(plan) {
  $("model").value = plan.model;
  $("act-levels").value = plan.qcfs ?? "";
  if (plan.lr != null) $("lr").value = plan.lr;
  if (plan.method) {
    // A recipe as the CLI spells it (`qcfs+bias`): the method menu, the start and the bias box.
    const [method, ...opts] = plan.method.split("+");
    $("method").value = method;
    $("init-membrane").value = opts.find((o) => o === "half" || o === "zero") ?? "";
    $("bias-correction").checked = opts.includes("bias");
  }
  for (const [id, v] of [["epochs", plan.epochs], ["batch", plan.batch], ["train-n", plan.train_images], ["test-n", plan.test_images], ["calib", plan.calib_batches], ["ft-n", plan.finetune_images], ["ft-epochs", 1]]) $(id).value = v;
  const how = plan.bundled_file ? `the bundled ${plan.model} fine-tuned on` : `${plan.model},`;
  $("demo-info").textContent = `Sized to this device: ${how} ${plan.train_images} images x ${plan.epochs} epoch(s). Why: ${plan.reason}`;
}
