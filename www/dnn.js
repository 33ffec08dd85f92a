// The data and DNN steps as the page runs them: load a dataset (bundled, by URL, uploaded, or a
// kept source again), train (from scratch or from a bundled model), evaluate, and load a
// checkpoint or a model config. Each reads the form and draws what it changed.
import { $, el } from "./dom.js";
import * as data from "./data.js";
import { fetchModel } from "./firstvisit.js";
import { loop, pct, persist, progress, state } from "./page.js";
import { session } from "./session.js";
import { drawDataStrip, drawSummary, drawTraining } from "./views.js";

export async function loadBundled() {
  const name = $("dataset").value;
  await finishLoad(name, await data.stageBundled(session, name, progress));
}

export async function loadFiles(files) {
  await finishLoad("", await data.stageFiles(session, files));
}

export async function loadUrl() {
  await finishLoad("", await data.stageUrl(session, $("data-url").value.trim(), progress));
}

/** Load a kept data source again, with its sizes. */
export async function loadSource(src) {
  $("train-n").value = String(src.train);
  $("test-n").value = String(src.test);
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
  $("img-index").max = String(d.test - 1);
  await drawDataStrip(session, Math.min(10, d.test));
}

/**
 * Train the form's model: from scratch, or from the bundled `models/<fromFile>` (the quick demo's plan).
 * @param {string | null} [fromFile]
 */
export async function train(fromFile = null) {
  if (!state.data) await loadBundled();
  const model = chosenModel();
  /** @type {Record<string, any>} */
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

export async function evalDnn() {
  const ev = await session.evaluate_dnn();
  state.dnnEval = ev;
  $("dnn-info").textContent = `DNN test accuracy ${pct(ev.accuracy)} (loss ${ev.loss.toFixed(4)}) on ${ev.images} images`;
  $("dnn-info").dataset.accuracy = ev.accuracy;
  return ev;
}

/** The model menu's choice: a built-in name or the uploaded config's JSON. */
const chosenModel = () => ($("model").value === "custom" ? state.customModel : $("model").value);

/** @param {File} file */
export async function uploadCheckpoint(file) {
  await useCheckpoint(new Uint8Array(await file.arrayBuffer()), file.name);
}

/** Load a DNN or SNN checkpoint's bytes (`from` names them in the messages). */
export async function useCheckpoint(bytes, from) {
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

/**
 * A user's model config: the library checks it when training starts (shapes, sizes, unknown keys).
 * @param {File} file
 */
export async function useModelConfig(file) {
  const menu = el("model", HTMLSelectElement);
  state.customModel = await file.text();
  let opt = [...menu.options].find((o) => o.value === "custom");
  if (!opt) menu.add((opt = new Option("", "custom")));
  opt.textContent = `custom: ${file.name}`;
  menu.value = "custom";
}
