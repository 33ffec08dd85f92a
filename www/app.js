// The page: drives the wasm Session a few batches per call from the event loop
// (so the page never freezes), draws the views, and turns errors into messages.
import { raster, fmt } from "./plots.js";
import { drawTraining, drawWalkthrough, drawConversionTable, drawSweep, drawSpikes, drawEnergy, SWEEP_T, METHODS } from "./views.js";

const $ = (id) => document.getElementById(id);
const sleep0 = () => new Promise((r) => setTimeout(r, 0));
const pct = (v) => (100 * v).toFixed(2) + "%";

const HOW_TO =
  "Use Chrome or Edge 113+ (on Linux start it with --enable-unsafe-webgpu, or enable chrome://flags/#enable-unsafe-webgpu), " +
  "Safari 26+, or Firefox 141+ on Windows. WebGPU also needs a secure context: open the page via https or http://127.0.0.1 / localhost.";

let wasm = null;
let session = null;
let cancelled = false;
let busy = false;
// Everything the views draw, kept so they can be redrawn and inspected (window.ultraspike).
const state = { history: [], live: [], convert: null, sweep: [], finetuned: [], snnEval: null, raster: null, dnnEval: null, walk: null, ft: [] };
window.ultraspike = state;
state.pipeline = () => pipelineState();

class Cancelled extends Error {}

function status(kind, msg) {
  const s = $("status");
  s.className = "status " + kind;
  s.textContent = msg;
  document.body.dataset.status = kind;
}

/** A message for the user from a library error (src/error.rs wording). */
function explain(e) {
  const m = String(e?.message ?? e);
  if (/device was lost/i.test(m)) return "The GPU device was lost (driver reset, sleep, or another tab took the GPU). Reload the page to get a new device; download buttons still hand out the last saved checkpoint.\n" + m;
  if (/device allows at most|too large|max_buffer_size|max_storage_buffer/i.test(m)) return "The model or batch is too large for this GPU's limits: choose a smaller model or batch.\n" + m;
  if (/^dataset|^checkpoint|safetensors|IDX|CIFAR|magic|header/i.test(m)) return "The file could not be read: " + m;
  return m;
}

async function task(name, fn) {
  if (busy) return;
  busy = true;
  cancelled = false;
  document.body.dataset.state = "busy";
  setButtons();
  status("busy", name + "…");
  try {
    await fn();
    status("ok", name + ": done.");
    document.body.dataset.state = "idle";
  } catch (e) {
    if (e instanceof Cancelled) {
      status("warn", name + ": cancelled (everything finished so far is kept).");
      document.body.dataset.state = "idle";
    } else {
      status("err", name + " failed: " + explain(e));
      document.body.dataset.state = "error";
    }
  } finally {
    busy = false;
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
    onProgress(p);
    if (p.done) return p;
    await sleep0();
  }
}

/** What the session holds (src/pipeline decides what a new DNN or dataset invalidates). */
function pipelineState() {
  try {
    return session ? session.state() : null;
  } catch {
    return null; // a lost device: every button but the downloads waits for a new session
  }
}

function setButtons() {
  const st = pipelineState();
  const haveDnn = st && (st.dnn_epoch !== null || st.training);
  const haveSnn = !!st?.snn;
  $("demo").disabled = busy || !session;
  $("cancel").disabled = !busy;
  for (const id of ["load-bundled", "load-url", "train"]) $(id).disabled = busy || !session;
  $("download-dnn").disabled = busy || !haveDnn;
  $("eval-dnn").disabled = busy || !haveDnn || !st?.data;
  $("convert").disabled = busy || !haveDnn || !st?.data;
  $("sweep").disabled = busy || !st?.calibrated;
  $("finetune").disabled = busy || !haveSnn;
  $("eval-snn").disabled = busy || !haveSnn;
  $("download-snn").disabled = busy || !haveSnn;
  $("show-raster").disabled = busy || !haveSnn;
}

// ---- data -------------------------------------------------------------------

async function fetchBytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`dataset: ${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

async function loadBundled() {
  const kind = $("dataset").value;
  const names = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];
  for (const [i, n] of names.entries()) {
    progress(i / 4, `fetching data/${kind}/${n}`);
    let bytes;
    try {
      bytes = await fetchBytes(`data/${kind}/${n}`);
      session.stage_file(n, bytes);
    } catch {
      bytes = await fetchBytes(`data/${kind}/${n}.gz`);
      session.stage_file(n + ".gz", bytes);
    }
  }
  finishLoad(kind);
}

function finishLoad(kind) {
  const d = session.load_staged(kind, +$("train-n").value || 0, +$("test-n").value || 0);
  state.data = d;
  $("data-info").textContent = `${d.kind}: ${d.train} train / ${d.test} test images, ${d.shape.join("x")}, ${d.classes} classes`;
  $("img-index").max = d.test - 1;
}

async function loadFiles(files) {
  for (const f of files) session.stage_file(f.name, new Uint8Array(await f.arrayBuffer()));
  finishLoad("");
}

async function loadUrl() {
  const url = $("data-url").value.trim();
  if (!url) throw new Error("dataset: enter a URL first");
  progress(0, "fetching " + url);
  const name = new URL(url, location.href).pathname.split("/").pop() || "download";
  session.stage_file(name, await fetchBytes(url));
  finishLoad("");
}

// ---- DNN --------------------------------------------------------------------

async function train() {
  if (!state.data) await loadBundled();
  const model = $("model").value === "custom" ? state.customModel : $("model").value;
  session.start_training({ model, epochs: +$("epochs").value, batch: +$("batch").value, lr: +$("lr").value });
  // A new DNN: the views of the old one's conversion no longer apply (the session dropped it too).
  Object.assign(state, { history: [], live: [], convert: null, sweep: [], dnnEval: null, walk: null });
  let seen = 0;
  await loop("training", (k) => session.train_steps(k), (p) => {
    seen += 1;
    // A closing epoch reports the next epoch's (empty) running stats: not a point.
    if (!p.record) state.live.push([p.epoch + p.batch / p.batches, p.loss, p.accuracy]);
    if (p.record) {
      state.history.push(p.record);
    }
    if (seen % 2 === 0 || p.record) drawTraining(state);
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

async function uploadCheckpoint(file) {
  const info = session.load_checkpoint(new Uint8Array(await file.arrayBuffer()));
  if (info.kind === "dnn") {
    state.convert = null;
    $("dnn-info").textContent = `loaded DNN ${info.model} (${info.epoch} epochs) from ${file.name}`;
    if (info.history?.length) {
      state.history = info.history;
      state.live = info.history.map((r) => [r.epoch + 1, r.train_loss, r.train_acc]);
      drawTraining(state);
    }
  } else {
    $("snn-info").textContent = `loaded SNN ${info.model} (${info.method}, T=${info.timesteps}, ${info.finetune_epochs} fine-tuning epochs)`;
  }
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

async function convert() {
  const t = +$("timesteps").value;
  let c = await session.start_calibration(Math.max(1, +$("calib").value || 10), 100);
  while (!c.layers) {
    if (cancelled) throw new Cancelled();
    progress((0.5 * c.done) / c.total, `calibrating the pre-activation statistics: batch ${c.done}/${c.total}`);
    await sleep0();
    c = await session.calibration_steps(2);
  }
  const layers = c.layers;
  progress(0.5, "converting and evaluating the SNN");
  const dnn = state.dnnEval ?? (await evalDnn());
  const r = await session.convert($("method").value, t);
  state.convert = r;
  state.convertDnnAcc = dnn.accuracy;
  state.finetuned = [];
  $("convert-info").textContent = `${r.method} at T=${t}: SNN test accuracy ${pct(r.evaluation.accuracy)} (DNN ${pct(dnn.accuracy)}), ${fmt(r.evaluation.total_spikes_per_image)} spikes per image`;
  const sel = $("layer");
  sel.replaceChildren(...layers.map((l, i) => new Option(`${l.name} (mu ${l.mu.toFixed(2)})`, i)));
  $("stair-t").value = t;
  drawWalkthrough(state, session);
  drawConversionTable(state);
  drawSpikes(r.evaluation);
  drawEnergy(r.evaluation, session.energy_constants());
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
  const info = session.start_finetune({ epochs: +$("ft-epochs").value, train_subset: +$("ft-n").value || null, lr: +$("ft-lr").value });
  state.ft = [];
  await loop(`fine-tuning at T=${info.t}`, (k) => session.finetune_steps(k), (p) => {
    if (p.record) state.ft.push(p.record);
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
  drawEnergy(ev, session.energy_constants());
  await showRaster();
}


async function showRaster() {
  const i = +$("img-index").value || 0;
  const img = session.test_image(i);
  const cv = $("img");
  cv.width = img.w; cv.height = img.h;
  const ctx = cv.getContext("2d");
  const data = ctx.createImageData(img.w, img.h);
  const plane = img.w * img.h;
  for (let p = 0; p < plane; p++) {
    for (let ch = 0; ch < 3; ch++) data.data[4 * p + ch] = img.pixels[(img.c === 3 ? ch : 0) * plane + p];
    data.data[4 * p + 3] = 255;
  }
  ctx.putImageData(data, 0, 0);
  const r = await session.raster(i, 24);
  state.raster = r;
  raster($("plot-raster"), r);
  const total = r.layers.reduce((s, l) => s + l.per_step.reduce((a, b) => a + b, 0), 0);
  $("raster-info").textContent = `label ${r.label}, SNN predicts ${r.predicted}; ${total} spikes in all layers over T=${r.t}`;
}


// ---- wiring -------------------------------------------------------------------

/** Every step in order with the form's settings; phase times land in state.timings. */
async function demo() {
  state.timings = {};
  const phases = [["load", loadBundled], ["train", train], ["evaluate DNN", evalDnn], ["convert", convert], ["sweep", sweep], ["fine-tune", finetune], ["evaluate SNN", evalSnn]];
  for (const [name, fn] of phases) {
    const t0 = performance.now();
    await fn();
    state.timings[name] = +((performance.now() - t0) / 1000).toFixed(1);
  }
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
  on("download-dnn", "Downloading the DNN", async () => download(await session.dnn_checkpoint(), "dnn.safetensors"));
  on("download-snn", "Downloading the SNN", async () => download(await session.snn_checkpoint(), "snn.safetensors"));
  $("cancel").addEventListener("click", () => { cancelled = true; progress(0, "cancelling after this step…"); });
  $("upload-data").addEventListener("change", (e) => task("Reading the uploaded files", () => loadFiles([...e.target.files])));
  $("upload-ckpt").addEventListener("change", (e) => task("Loading the checkpoint", () => uploadCheckpoint(e.target.files[0])));
  $("model-json").addEventListener("change", (e) => task("Reading the model config", () => useModelConfig(e.target.files[0])));
  $("layer").addEventListener("change", () => state.convert && drawWalkthrough(state, session));
  $("stair-t").addEventListener("input", () => state.convert && drawWalkthrough(state, session));
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
  try {
    session = await wasm.create_session();
  } catch (e) {
    status("err", "WebGPU is exposed but no device could be opened:\n" + (e.message || e) + "\n\n" + HOW_TO);
    return;
  }
  const body = $("gpu").tBodies[0];
  for (const [k, v] of session.gpu_info()) { const tr = body.insertRow(); tr.insertCell().textContent = k; tr.insertCell().textContent = v; }
  const name = Object.fromEntries(session.gpu_info())["adapter"] ?? "";
  status("ok", `WebGPU ready${name ? " on " + name : ""}. Load a dataset, or run the quick demo.`);
  document.body.dataset.state = "idle";
  setButtons();
}
