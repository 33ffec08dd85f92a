// The page: runs each step as a task (one at a time, cancellable, saved after), keeps the
// buttons in step with the session, and wires the form; the steps themselves are in dnn.js and
// snn.js, what they share in page.js, restoring and recovering in restore.js. The Session runs
// in its Worker (session.js), so no library call can freeze the page.
import { planDemo, applyPlan } from "./demo.js";
import { evalDnn, loadBundled, loadFiles, loadUrl, train, uploadCheckpoint, useCheckpoint, useModelConfig } from "./dnn.js";
import { $, el } from "./dom.js";
import { openBundledModel } from "./firstvisit.js";
import { HOW_TO, errorKind, errorText, explain } from "./messages.js";
import { Cancelled, page, persist, pipelineState, progress, refreshState, showTune, state, status } from "./page.js";
import * as store from "./persist.js";
import { recover, restoreSaved } from "./restore.js";
import { session, startWorker } from "./session.js";
import { classifyPad, convert, evalSnn, finetune, showMaps, showRaster, sweep } from "./snn.js";
import { drawSpikeMaps, setupPad, padShow } from "./spikes.js";
import { drawSummary, drawSweep, drawWalkthrough } from "./views.js";

/**
 * Run one step as the page's task: the others wait (buttons off), Cancel stops it before its next
 * batch, a lost device is recovered, and what it made is saved.
 * @param {string} name
 * @param {() => Promise<unknown>} fn
 */
async function task(name, fn) {
  if (page.busy) return;
  page.busy = true;
  page.cancelled = false;
  document.body.dataset.state = "busy";
  setButtons();
  status("busy", name + "…");
  let outcome;
  try {
    await session.clearCancel();
    await fn();
    drawSummary(state);
    await persist();
    outcome = ["ok", name + ": done.", "idle"];
  } catch (e) {
    if (e instanceof Cancelled || (page.cancelled && errorKind(e) === "cancelled")) {
      await persist();
      outcome = ["warn", name + ": cancelled (everything finished so far is kept).", "idle"];
    } else if (errorKind(e) === "device-lost") {
      outcome = await recover(name, e);
    } else {
      outcome = ["err", name + " failed: " + explain(e), "error"];
    }
  } finally {
    // The buttons and the test read the session's state: fetch it before saying the task ended.
    await refreshState();
    page.busy = false;
    const [kind, msg, st] = outcome ?? ["err", name + " failed", "error"];
    status(kind, msg);
    document.body.dataset.state = st;
    progress(0, page.cancelled ? "cancelled" : "idle");
    setButtons();
  }
}

function setButtons() {
  const { busy, ready } = page;
  const st = pipelineState();
  const haveDnn = st && (st.dnn_epoch !== null || st.training);
  const haveSnn = !!st?.snn;
  $("demo").disabled = busy || !ready;
  $("cancel").disabled = !busy;
  for (const id of ["load-bundled", "load-url", "train"]) $(id).disabled = busy || !ready;
  $("download-dnn").disabled = busy || !haveDnn;
  $("eval-dnn").disabled = busy || !haveDnn || !st?.data;
  $("convert").disabled = busy || !haveDnn || !st?.data;
  $("sweep").disabled = busy || !st?.calibrated;
  $("finetune").disabled = busy || !haveSnn;
  $("eval-snn").disabled = busy || !haveSnn;
  $("download-snn").disabled = busy || !haveSnn;
  $("download-nir").disabled = busy || !haveSnn;
  $("show-raster").disabled = busy || !haveSnn;
  const padOk = haveSnn && st?.data?.shape[0] === 1;
  $("pad-classify").disabled = busy || !padOk;
  $("pad-from-test").disabled = busy || !padOk;
}

/** @param {BlobPart} bytes @param {string} name */
function download(bytes, name) {
  const url = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
  const a = Object.assign(document.createElement("a"), { href: url, download: name });
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** No saved session: open on the bundled MNIST model, converted at T = 2 (firstvisit.js). */
async function firstVisit() {
  const t0 = performance.now();
  const app = { $, loadData: loadBundled, useCheckpoint, convert, showRaster };
  state.firstVisitPhases = {};
  await openBundledModel(app, progress, state.firstVisitPhases);
  // The sweep's point at T = 2 is the conversion just made (no second evaluation).
  const ev = state.convert.evaluation;
  state.sweep = [{ method: state.convert.method, t: ev.t, accuracy: ev.accuracy }];
  drawSweep(state);
  drawSummary(state);
  state.firstVisitMs = performance.now() - t0;
  await persist();
}

/**
 * Every step in order with the form's settings; phase times land in state.timings. Sized to the
 * device (the default), the whole bundled set is loaded first and each demo model is timed on a
 * few batches; the library's plan then sets the form (demo.js).
 */
async function demo() {
  /** @type {Record<string, number>} */
  const timings = (state.timings = {});
  /** @type {Record<string, number[]>} */
  const phases = (state.phases = {}); // [start, end] in performance.now() time, for the e2e test's long-task check
  /** @param {string} name @param {() => Promise<unknown>} fn */
  const timed = async (name, fn) => {
    const t0 = performance.now();
    await fn();
    timings[name] = +((performance.now() - t0) / 1000).toFixed(1);
    phases[name] = [t0, performance.now()];
  };
  if ($("demo-sized").checked) {
    await timed("plan", async () => {
      $("train-n").value = "0"; // the plan chooses from the whole set
      $("test-n").value = "0";
      await loadBundled();
      ({ plan: state.plan, probes: state.probes } = await planDemo(session, page.wasm, progress));
      applyPlan(state.plan);
    });
  }
  const from = $("demo-sized").checked ? state.plan?.bundled_file : null;
  /** @type {[string, () => Promise<unknown>][]} */
  const steps = [["load", loadBundled], ["train", () => train(from)], ["evaluate DNN", evalDnn], ["convert", convert], ["sweep", sweep], ["fine-tune", finetune], ["evaluate SNN", evalSnn]];
  for (const [name, fn] of steps) await timed(name, fn);
  document.body.dataset.demo = "done";
}

function wire() {
  /** @param {string} id @param {string} name @param {() => Promise<unknown>} fn */
  const on = (id, name, fn) => $(id).addEventListener("click", () => task(name, fn));
  on("load-bundled", "Loading the dataset", loadBundled);
  on("load-url", "Fetching the dataset", loadUrl);
  on("train", "Training", train);
  on("eval-dnn", "Evaluating the DNN", evalDnn);
  on("convert", "Converting", convert);
  on("sweep", "Sweeping methods x T", sweep);
  on("finetune", "Fine-tuning", finetune);
  on("eval-snn", "Evaluating the SNN", evalSnn);
  on("show-raster", "Spike raster", showRaster);
  on("demo", "Quick demo", demo);
  on("pad-classify", "Classifying the drawing", classifyPad);
  on("pad-from-test", "Classifying the test image drawn on the pad", async () => { padShow(await session.test_image(+$("img-index").value || 0)); await classifyPad(); });
  setupPad(() => { if (!$("pad-classify").disabled) task("Classifying the drawing", classifyPad); });
  const redrawMaps = () => state.spikeMaps && drawSpikeMaps(state.spikeMaps);
  $("sm-layer").addEventListener("change", redrawMaps);
  $("sm-step").addEventListener("input", redrawMaps);
  $("sm-channel").addEventListener("change", () => state.spikeMaps && task("Spike maps", () => showMaps()));
  $("forget").addEventListener("click", async () => {
    if (!page.ownsSaved) return status("ok", "Another tab holds the saved session: forget it there.");
    await store.clear(); page.lastRecord = null; status("ok", "The saved session was deleted from this browser; the open one stays until you reload."); });
  on("download-dnn", "Downloading the DNN", async () => download(await session.dnn_checkpoint(), "dnn.safetensors"));
  on("download-snn", "Downloading the SNN", async () => download(await session.snn_checkpoint(), "snn.safetensors"));
  on("download-nir", "Exporting the SNN as NIR", async () => download(await session.export_nir(), "snn.nir"));
  $("cancel").addEventListener("click", () => {
    page.cancelled = true;
    session.cancel().catch(() => {}); // the worker takes it while the running call awaits the GPU
    progress(0, "cancelling before the next batch…");
  });
  /** The files chosen in file input `id` (each change event). */
  const picked = (id) => [...($(id).files ?? [])];
  $("upload-data").addEventListener("change", () => task("Reading the uploaded files", () => loadFiles(picked("upload-data"))));
  $("upload-ckpt").addEventListener("change", () => task("Loading the checkpoint", () => uploadCheckpoint(picked("upload-ckpt")[0])));
  $("model-json").addEventListener("change", () => task("Reading the model config", () => useModelConfig(picked("model-json")[0])));
  const walk = () => state.convert && drawWalkthrough(state, session).catch((e) => status("err", "Walkthrough: " + explain(e)));
  $("layer").addEventListener("change", walk);
  $("stair-t").addEventListener("input", walk);
  addEventListener("beforeunload", (e) => { if (page.busy) e.preventDefault(); });
}

/** Trunk's bindings of the wasm module: start the worker, open a Session, restore or open the first visit. */
export async function main(bindings) {
  const wasm = (page.wasm = bindings);
  wasm.start();
  wire();
  el("model", HTMLSelectElement).replaceChildren(...wasm.builtin_models().map((m) => new Option(m, m, m === "vgg-tiny", m === "vgg-tiny")));
  setButtons();
  if (!("gpu" in navigator)) {
    status("err", "This browser exposes no WebGPU (navigator.gpu is missing), so ultraspike cannot run here.\n" + HOW_TO);
    return;
  }
  let info;
  try {
    if (!(await startWorker())) throw new Error("WebGPU is not available in Web Workers in this browser");
    ({ gpuInfo: info, energy: page.energy } = await session.open());
    page.ready = true;
  } catch (/** @type {any} */ e) {
    status("err", "WebGPU is exposed but no device could be opened:\n" + (e.message || e) + "\n\n" + HOW_TO);
    return;
  }
  const body = el("gpu", HTMLTableElement).tBodies[0];
  for (const [k, v] of info) { const tr = body.insertRow(); tr.insertCell().textContent = k; tr.insertCell().textContent = v; }
  const keptTune = await store.loadTune();
  if (keptTune) await session.load_tune_json(keptTune).catch((e) => console.warn("ultraspike: kept tuning ignored: " + errorText(e)));
  await showTune();
  const name = Object.fromEntries(info)["adapter"] ?? "";
  status("ok", `WebGPU ready${name ? " on " + name : ""}. Load a dataset, or run the quick demo.`);
  await refreshState();
  document.body.dataset.state = "idle";
  setButtons();
  page.ownsSaved = await store.claimSession();
  document.body.dataset.owner = page.ownsSaved ? "yes" : "no";
  if (!page.ownsSaved) {
    status("ok", `WebGPU ready${name ? " on " + name : ""}. Another tab of ultraspike holds the saved session: this tab starts empty and keeps nothing (close the other tab to save again).`);
    document.body.dataset.restored = "no";
    return;
  }
  const saved = await store.load();
  if (saved?.archive) {
    let note = "";
    await task("Restoring the last session", async () => { note = await restoreSaved(saved); });
    if (document.body.dataset.state === "idle") status("ok", `WebGPU ready${name ? " on " + name : ""}; ${note}`);
  } else {
    await task("Opening the bundled MNIST model", firstVisit);
    if (document.body.dataset.state === "idle") {
      status("ok", `WebGPU ready${name ? " on " + name : ""}. This is a model trained on MNIST, converted to an SNN at T = 2 in ${((state.firstVisitMs ?? 0) / 1000).toFixed(1)} s: explore every view, draw a digit, or train your own.`);
    }
    document.body.dataset.firstVisit = document.body.dataset.state === "idle" ? "done" : "failed";
  }
  document.body.dataset.restored = saved?.archive ? "yes" : "no";
}
