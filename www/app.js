// The page: drives the Session (in its Worker, session.js) a few batches per
// call, draws the views, and turns errors into messages. The main thread only
// awaits the worker's answers, so no library call can freeze the page.
import { raster, fmt } from "./plots.js";
import { drawTraining, drawWalkthrough, drawConversionTable, drawSweep, drawSpikes, drawEnergy, drawTestImage, drawSummary, drawDataStrip, SWEEP_T, METHODS } from "./views.js";
import * as store from "./persist.js";
import * as data from "./data.js";
import { HOW_TO, explain } from "./messages.js";
import { drawSpikeMaps, setupPad, padPixels, padShow } from "./spikes.js";
import { session, startWorker } from "./session.js";
import { planDemo, applyPlan } from "./demo.js";
import { openBundledModel, fetchModel } from "./firstvisit.js";

const $ = (id) => document.getElementById(id);
const sleep0 = () => new Promise((r) => setTimeout(r, 0));
const pct = (v) => (100 * v).toFixed(2) + "%";

let wasm = null;
// A Session is open in the worker (on a device that works, as far as the page knows).
let ready = false;
// The energy model's constants (the session's, fetched once per device).
let energy = null;
let cancelled = false;
let busy = false;
// The last state saved (also in IndexedDB): what a lost device is recovered from.
let lastRecord = null;
/** Whether this tab owns the saved session (persist.js `claimSession`). */
let ownsSaved = true;
// Everything the views draw, kept so they can be redrawn and inspected (window.ultraspike).
const state = { history: [], live: [], convert: null, sweep: [], finetuned: [], snnEval: null, raster: null, dnnEval: null, walk: null, ft: [] };
window.ultraspike = state;
state.pipeline = () => pipelineState();
// The Session lives in a Worker; a test loses its GPU device through this hook.
state.worker = true;
state.loseDevice = () => session.loseDevice();
// Test hook: the e2e test drives long sessions through it (leak cycles).
state.session = session;

class Cancelled extends Error {}

function status(kind, msg) {
  const s = $("status");
  s.className = "status " + kind;
  s.textContent = msg;
  document.body.dataset.status = kind;
}

async function task(name, fn) {
  if (busy) return;
  busy = true;
  cancelled = false;
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
    if (e instanceof Cancelled || (cancelled && /cancelled/.test(String(e?.message ?? e)))) {
      await persist();
      outcome = ["warn", name + ": cancelled (everything finished so far is kept).", "idle"];
    } else if (/device was lost/i.test(String(e?.message ?? e))) {
      outcome = await recover(name, e);
    } else {
      outcome = ["err", name + " failed: " + explain(e), "error"];
    }
  } finally {
    // The buttons and the test read the session's state: fetch it before saying the task ended.
    await refreshState();
    busy = false;
    const [kind, msg, st] = outcome ?? ["err", name + " failed", "error"];
    status(kind, msg);
    document.body.dataset.state = st;
    progress(0, cancelled ? "cancelled" : "idle");
    setButtons();
  }
}

function progress(frac, text) {
  $("bar").style.width = (100 * Math.max(0, Math.min(1, frac))).toFixed(1) + "%";
  $("progress-text").textContent = text;
}

function eta(t0, frac) {
  if (frac <= 0) return "";
  const s = ((performance.now() - t0) / 1000) * (1 / frac - 1);
  return s < 90 ? `ETA ${s.toFixed(0)} s` : `ETA ${(s / 60).toFixed(1)} min`;
}

/** Call `step(k)` until it reports done, sizing k to ~150 ms of GPU work per call. */
async function loop(label, step, onProgress) {
  let k = 1;
  const t0 = performance.now();
  for (;;) {
    if (cancelled) throw new Cancelled();
    const c0 = performance.now();
    const p = await step(k);
    const ms = performance.now() - c0;
    if (!p.record) k = Math.max(1, Math.min(32, Math.round((k * 150) / Math.max(ms, 1))));
    const frac = (p.epoch * p.batches + p.batch) / (p.epochs * p.batches);
    progress(frac, `${label}: epoch ${Math.min(p.epoch + 1, p.epochs)}/${p.epochs}, batch ${p.batch}/${p.batches}, loss ${p.loss.toFixed(3)}, acc ${pct(p.accuracy)}  ${eta(t0, frac)}`);
    // Awaited: a snapshot saved on a closed epoch reads the session (archive), which must not
    // overlap the next step (the Session is borrowed for the whole call: a second call during it
    // fails with "recursive use of an object").
    await onProgress(p);
    if (p.done) return p;
    await sleep0();
  }
}

/** What the session holds (src/pipeline decides what a new DNN or dataset invalidates), as last fetched. */
function pipelineState() {
  return state.st ?? null;
}

async function refreshState() {
  try {
    state.st = ready ? await session.state() : null;
  } catch {
    state.st = null; // a lost device: every button but the downloads waits for a new session
  }
}

function setButtons() {
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

// ---- data -------------------------------------------------------------------

async function loadBundled() {
  const name = $("dataset").value;
  await finishLoad(name, await data.stageBundled(session, name, progress));
}

async function loadFiles(files) {
  await finishLoad("", await data.stageFiles(session, files));
}

async function loadUrl() {
  await finishLoad("", await data.stageUrl(session, $("data-url").value.trim(), progress));
}

/** Load a kept data source again, with its sizes. */
async function loadSource(src) {
  $("train-n").value = src.train;
  $("test-n").value = src.test;
  if (src.kind === "bundled") $("dataset").value = src.name;
  await finishLoad(src.kind === "bundled" ? src.name : "", await data.stageSource(session, src, progress));
}

/** Parse the staged files; on success they become the data source to keep. */
async function finishLoad(kind, source) {
  const [train, test] = [+$("train-n").value || 0, +$("test-n").value || 0];
  const d = await session.load_staged(kind, train, test);
  state.source = { ...source, train, test };
  state.data = d;
  $("data-info").textContent = `${d.kind}: ${d.train} train / ${d.test} test images, ${d.shape.join("x")}, ${d.classes} classes`;
  $("img-index").max = d.test - 1;
  await drawDataStrip(session, Math.min(10, d.test));
}

// ---- DNN --------------------------------------------------------------------

/** Train the form's model: from scratch, or from the bundled `models/<fromFile>` (the quick demo's plan). */
async function train(fromFile = null) {
  if (!state.data) await loadBundled();
  const model = chosenModel();
  const opts = { model, epochs: +$("epochs").value, batch: +$("batch").value, lr: +$("lr").value };
  if ($("act-levels").value) opts.qcfs = +$("act-levels").value;
  if (fromFile) await session.start_training_from(opts, await fetchModel(fromFile));
  else await session.start_training(opts);
  // A new DNN: the views of the old one's conversion no longer apply (the session dropped it too).
  // (Every view drawn from the old SNN goes too: its evaluation, fine-tuning and raster.)
  Object.assign(state, { history: [], live: [], convert: null, sweep: [], dnnEval: null, walk: null, snnEval: null, ft: [], finetuned: [], raster: null });
  let seen = 0;
  await loop("training", (k) => session.train_steps(k), (p) => {
    seen += 1;
    // A closing epoch reports the next epoch's (empty) running stats: not a point.
    if (!p.record) state.live.push([p.epoch + p.batch / p.batches, p.loss, p.accuracy]);
    if (!p.record) {
      if (seen % 2 === 0) drawTraining(state);
      return;
    }
    state.history.push(p.record);
    drawTraining(state);
    drawSummary(state);
    return persist(); // each closed epoch is a snapshot worth keeping
  });
  drawTraining(state);
  $("dnn-info").textContent = `trained: test accuracy ${pct(state.history.at(-1).test_acc)}`;
}

async function evalDnn() {
  const ev = await session.evaluate_dnn();
  state.dnnEval = ev;
  $("dnn-info").textContent = `DNN test accuracy ${pct(ev.accuracy)} (loss ${ev.loss.toFixed(4)}) on ${ev.images} images`;
  $("dnn-info").dataset.accuracy = ev.accuracy;
  return ev;
}

function download(bytes, name) {
  const url = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
  const a = Object.assign(document.createElement("a"), { href: url, download: name });
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** The model menu's choice: a built-in name or the uploaded config's JSON. */
const chosenModel = () => ($("model").value === "custom" ? state.customModel : $("model").value);

async function uploadCheckpoint(file) {
  await useCheckpoint(new Uint8Array(await file.arrayBuffer()), file.name);
}

/** Load a DNN or SNN checkpoint's bytes (`from` names them in the messages). */
async function useCheckpoint(bytes, from) {
  // A plain PyTorch state dict (no ultraspike metadata) is read as the model chosen above.
  const info = await session.load_checkpoint(bytes, chosenModel());
  if (info.kind === "dnn") {
    state.convert = null;
    const how = info.state_dict ? ", a plain state dict read as the chosen model" : "";
    $("dnn-info").textContent = `loaded DNN ${info.model} (${info.epoch} epochs${how}) from ${from}`;
    if (info.history?.length) {
      state.history = info.history;
      state.live = info.history.map((r) => [r.epoch + 1, r.train_loss, r.train_acc]);
      drawTraining(state);
    }
  } else {
    $("snn-info").textContent = `loaded SNN ${info.model} (${info.method}, T=${info.timesteps}, ${info.finetune_epochs} fine-tuning epochs)`;
  }
  return info;
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

/** A user's model config: the library checks it when training starts (shapes, sizes, unknown keys). */
async function useModelConfig(file) {
  state.customModel = await file.text();
  let opt = [...$("model").options].find((o) => o.value === "custom");
  if (!opt) $("model").add((opt = new Option("", "custom")));
  opt.textContent = `custom: ${file.name}`;
  $("model").value = "custom";
}

// ---- conversion ---------------------------------------------------------------

/** The method menu with the start menu, in the CLI's spelling (`alpha-beta+half`, `qcfs+zero`). */
const chosenRecipe = () =>
  $("method").value + ($("init-membrane").value ? `+${$("init-membrane").value}` : "") + ($("bias-correction").checked ? "+bias" : "");

/** `lap(name)`, when given, marks the end of each phase (the first visit times them). */
async function convert(lap = () => {}) {
  const t = +$("timesteps").value;
  let c = await session.start_calibration(Math.max(1, +$("calib").value || 10), 100);
  while (!c.layers) {
    if (cancelled) throw new Cancelled();
    progress((0.5 * c.done) / c.total, `calibrating the pre-activation statistics: batch ${c.done}/${c.total}`);
    await sleep0();
    c = await session.calibration_steps(2);
  }
  state.layers = c.layers;
  lap("calibration");
  progress(0.5, "converting and evaluating the SNN");
  const dnn = state.dnnEval ?? (await evalDnn());
  lap("DNN evaluation");
  const r = await session.convert(chosenRecipe(), t);
  lap("conversion and SNN evaluation");
  state.convert = r;
  state.convertDnnAcc = dnn.accuracy;
  state.finetuned = [];
  $("convert-info").textContent = `${r.method} at T=${t}: SNN test accuracy ${pct(r.evaluation.accuracy)} (DNN ${pct(dnn.accuracy)}), ${fmt(r.evaluation.total_spikes_per_image)} spikes per image`;
  fillLayers();
  $("stair-t").value = t;
  await drawWalkthrough(state, session);
  drawConversionTable(state);
  drawSpikes(r.evaluation);
  drawEnergy(r.evaluation, energy);
}

async function sweep() {
  state.sweep = [];
  const n = METHODS.length * SWEEP_T.length;
  const t0 = performance.now();
  for (const m of METHODS) {
    for (const t of SWEEP_T) {
      if (cancelled) throw new Cancelled();
      const done = state.sweep.length;
      progress(done / n, `sweep: ${m} at T=${t} (${done}/${n})  ${eta(t0, done / n)}`);
      state.sweep.push(await session.sweep_point(m, t));
      drawSweep(state);
      await sleep0();
    }
  }
}

// ---- SNN: fine-tuning, evaluation, spikes, energy ------------------------------

async function finetune() {
  const info = await session.start_finetune({ epochs: +$("ft-epochs").value, train_subset: +$("ft-n").value || null, lr: +$("ft-lr").value });
  state.ft = [];
  await loop(`fine-tuning at T=${info.t}`, (k) => session.finetune_steps(k), (p) => {
    if (p.record) {
      state.ft.push(p.record);
      drawSummary(state);
      return persist();
    }
  });
  const last = state.ft.at(-1);
  $("snn-info").textContent = `fine-tuned ${state.ft.length} epoch(s) at T=${info.t}: test accuracy ${pct(last.test_acc)}`;
  state.finetuned = [];
  for (const t of SWEEP_T) {
    if (cancelled) throw new Cancelled();
    progress(t / 8, `fine-tuned SNN at T=${t}`);
    state.finetuned.push({ t, accuracy: await session.snn_accuracy_at(t) });
    drawSweep(state);
    await sleep0();
  }
}

async function evalSnn() {
  progress(0.3, "evaluating the SNN (spikes, operations, energy)");
  const r = await session.evaluate_snn(0);
  state.snnEval = r;
  const ev = r.evaluation;
  $("snn-info").textContent = `SNN (${r.method}, T=${ev.t}, ${r.finetune_epochs} fine-tuning epochs): test accuracy ${pct(ev.accuracy)} on ${ev.images} images; energy ${ev.energy.ratio.toFixed(1)}x below the DNN`;
  $("snn-info").dataset.accuracy = ev.accuracy;
  drawSpikes(ev);
  drawEnergy(ev, energy);
  await showRaster();
}

async function showRaster() {
  const i = +$("img-index").value || 0;
  const img = await session.test_image(i);
  drawTestImage($("img"), img);
  const r = await session.raster(i, 24);
  state.raster = r;
  raster($("plot-raster"), r);
  const total = r.layers.reduce((s, l) => s + l.per_step.reduce((a, b) => a + b, 0), 0);
  $("raster-info").textContent = `label ${r.label}, SNN predicts ${r.predicted}; ${total} spikes in all layers over T=${r.t}`;
  await showMaps();
}

/** The spike maps of the chosen test image (or of the drawing, when `pixels` is given). */
async function showMaps(pixels) {
  const t0 = performance.now();
  const maps = await session.spike_maps(+$("img-index").value || 0, pixels ?? null, +$("sm-channel").value || 0);
  const ms = performance.now() - t0;
  if (pixels) state.padMaps = { ...maps, ms }; else state.spikeMaps = maps;
  drawSpikeMaps(maps);
  return ms;
}

async function classifyPad() {
  const d = state.data;
  if (!d || d.shape[0] !== 1) throw new Error("config: the drawing pad needs a 1-channel dataset (MNIST, Fashion-MNIST)");
  const ms = await showMaps(padPixels(d.shape[1], d.shape[2]));
  $("pad-info").textContent = `SNN predicts ${state.padMaps.predicted} (spike maps in ${ms.toFixed(0)} ms)`;
}

// ---- kept across reloads and lost devices (persist.js) ------------------------

function fillLayers() {
  $("layer").replaceChildren(...(state.layers ?? []).map((l, i) => new Option(`${l.name} (mu ${l.mu.toFixed(2)})`, i)));
}

/** The tuner's choices in the GPU panel; kept in IndexedDB for the next visit. */
async function showTune() {
  const rows = await session.tune_choices();
  const body = $("tune").tBodies[0];
  body.replaceChildren();
  for (const r of rows) { const tr = body.insertRow(); for (const v of r) tr.insertCell().textContent = v; }
  $("tune-none").hidden = rows.length > 0;
  if (rows.length) await store.saveTune(await session.tune_json()).catch(() => {});
}

/** Save the session's models and the views (failures only warn: the work itself went fine).
 * A tab that does not own the saved session (another tab does: `store.claimSession`) keeps
 * the record in memory only, for a lost device. */
async function persist() {
  if (!ready) return;
  await showTune().catch(() => {});
  try {
    const rec = { archive: await session.archive(), source: state.source, views: store.viewsOf(state), savedAt: new Date().toISOString() };
    lastRecord = rec;
    if (ownsSaved) await store.save({ ...rec, source: store.keepableSource(rec.source) });
  } catch (e) {
    console.warn("ultraspike: the session could not be saved: " + (e?.message ?? e));
  }
}

/** Data first (new data drops a calibration), then the models, then every view. */
async function restoreSaved(rec) {
  let dataNote = "";
  if (rec.source) {
    try {
      await loadSource(rec.source);
    } catch (e) {
      dataNote = ` The data could not be loaded again (${explain(e)}): load it to evaluate.`;
    }
  }
  const r = await session.restore(rec.archive);
  store.applyViews(state, rec.views ?? {});
  await redraw();
  lastRecord = rec;
  return `restored the session saved at ${new Date(rec.savedAt).toLocaleString()}: ${[r.dnn && "DNN", r.calibrated && "calibration", r.snn && "SNN"].filter(Boolean).join(", ") || "data only"}.${dataNote}`;
}

async function redraw() {
  await refreshState();
  const st = pipelineState();
  drawSummary(state);
  drawTraining(state);
  fillLayers();
  if (state.convert) {
    $("stair-t").value = Math.min(8, state.convert.t ?? 2);
    if (st?.calibrated) await drawWalkthrough(state, session);
    drawConversionTable(state);
  }
  if (state.sweep.length || state.finetuned.length) drawSweep(state);
  const ev = state.snnEval?.evaluation ?? state.convert?.evaluation;
  if (ev) {
    drawSpikes(ev);
    drawEnergy(ev, energy);
  }
  if (st?.snn && st.data) {
    // A loaded SNN stays when other data is loaded (the session allows it); its spike views then
    // wait for data it fits, and the rest of the session is restored all the same.
    try {
      await showRaster();
    } catch (e) {
      if (/device was lost/i.test(String(e?.message ?? e))) throw e;
      $("raster-info").textContent = `No spike views: ${explain(e)}`;
    }
  }
}

/** A lost GPU device: open a new one and continue from the last saved state, without a reload. */
async function recover(name, e) {
  status("warn", `${name}: the GPU device was lost. Opening a new device…`);
  try {
    ready = false;
    ({ energy } = await session.open());
    ready = true;
    const note = lastRecord ? await restoreSaved(lastRecord) : state.source ? (await loadSource(state.source), "reloaded the data.") : "";
    return ["warn", `${name} stopped: the GPU device was lost (${e?.message ?? e}). A new device was opened; ${note || "the session starts empty."} Run the step again to continue.`, "recovered"];
  } catch (e2) {
    return ["err", `${name} failed: ${explain(e)}\nNo new device could be opened (${e2?.message ?? e2}): reload the page.`, "error"];
  }
}

// ---- wiring -------------------------------------------------------------------

/**
 * Every step in order with the form's settings; phase times land in state.timings. Sized to the
 * device (the default), the whole bundled set is loaded first and each demo model is timed on a
 * few batches; the library's plan then sets the form (demo.js).
 */
async function demo() {
  state.timings = {};
  state.phases = {}; // [start, end] in performance.now() time, for the e2e test's long-task check
  const timed = async (name, fn) => {
    const t0 = performance.now();
    await fn();
    state.timings[name] = +((performance.now() - t0) / 1000).toFixed(1);
    state.phases[name] = [t0, performance.now()];
  };
  if ($("demo-sized").checked) {
    await timed("plan", async () => {
      $("train-n").value = 0; // the plan chooses from the whole set
      $("test-n").value = 0;
      await loadBundled();
      ({ plan: state.plan, probes: state.probes } = await planDemo(session, wasm, progress));
      applyPlan(state.plan);
    });
  }
  const from = $("demo-sized").checked ? state.plan?.bundled_file : null;
  const phases = [["load", loadBundled], ["train", () => train(from)], ["evaluate DNN", evalDnn], ["convert", convert], ["sweep", sweep], ["fine-tune", finetune], ["evaluate SNN", evalSnn]];
  for (const [name, fn] of phases) await timed(name, fn);
  document.body.dataset.demo = "done";
}

function wire() {
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
    if (!ownsSaved) return status("ok", "Another tab holds the saved session: forget it there.");
    await store.clear(); lastRecord = null; status("ok", "The saved session was deleted from this browser; the open one stays until you reload."); });
  on("download-dnn", "Downloading the DNN", async () => download(await session.dnn_checkpoint(), "dnn.safetensors"));
  on("download-snn", "Downloading the SNN", async () => download(await session.snn_checkpoint(), "snn.safetensors"));
  on("download-nir", "Exporting the SNN as NIR", async () => download(await session.export_nir(), "snn.nir"));
  $("cancel").addEventListener("click", () => {
    cancelled = true;
    session.cancel().catch(() => {}); // the worker takes it while the running call awaits the GPU
    progress(0, "cancelling before the next batch…");
  });
  $("upload-data").addEventListener("change", (e) => task("Reading the uploaded files", () => loadFiles([...e.target.files])));
  $("upload-ckpt").addEventListener("change", (e) => task("Loading the checkpoint", () => uploadCheckpoint(e.target.files[0])));
  $("model-json").addEventListener("change", (e) => task("Reading the model config", () => useModelConfig(e.target.files[0])));
  const walk = () => state.convert && drawWalkthrough(state, session).catch((e) => status("err", "Walkthrough: " + explain(e)));
  $("layer").addEventListener("change", walk);
  $("stair-t").addEventListener("input", walk);
  addEventListener("beforeunload", (e) => { if (busy) e.preventDefault(); });
}

export async function main(bindings) {
  wasm = bindings;
  wasm.start();
  wire();
  $("model").replaceChildren(...wasm.builtin_models().map((m) => new Option(m, m, m === "vgg-tiny", m === "vgg-tiny")));
  setButtons();
  if (!("gpu" in navigator)) {
    status("err", "This browser exposes no WebGPU (navigator.gpu is missing), so ultraspike cannot run here.\n" + HOW_TO);
    return;
  }
  let info;
  try {
    if (!(await startWorker())) throw new Error("WebGPU is not available in Web Workers in this browser");
    ({ gpuInfo: info, energy } = await session.open());
    ready = true;
  } catch (e) {
    status("err", "WebGPU is exposed but no device could be opened:\n" + (e.message || e) + "\n\n" + HOW_TO);
    return;
  }
  const body = $("gpu").tBodies[0];
  for (const [k, v] of info) { const tr = body.insertRow(); tr.insertCell().textContent = k; tr.insertCell().textContent = v; }
  const keptTune = await store.loadTune();
  if (keptTune) await session.load_tune_json(keptTune).catch((e) => console.warn("ultraspike: kept tuning ignored: " + (e?.message ?? e)));
  await showTune();
  const name = Object.fromEntries(info)["adapter"] ?? "";
  status("ok", `WebGPU ready${name ? " on " + name : ""}. Load a dataset, or run the quick demo.`);
  await refreshState();
  document.body.dataset.state = "idle";
  setButtons();
  ownsSaved = await store.claimSession();
  document.body.dataset.owner = ownsSaved ? "yes" : "no";
  if (!ownsSaved) {
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
      status("ok", `WebGPU ready${name ? " on " + name : ""}. This is a model trained on MNIST, converted to an SNN at T = 2 in ${(state.firstVisitMs / 1000).toFixed(1)} s: explore every view, draw a digit, or train your own.`);
    }
    document.body.dataset.firstVisit = document.body.dataset.state === "idle" ? "done" : "failed";
  }
  document.body.dataset.restored = saved?.archive ? "yes" : "no";
}
