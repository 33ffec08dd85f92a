// The conversion and SNN steps as the page runs them: calibrate and convert, sweep methods x T,
// fine-tune, evaluate the SNN, and its spike views (raster, spike maps, the drawing pad).
import { evalDnn } from "./dnn.js";
import { $, el } from "./dom.js";
import { Cancelled, eta, loop, page, pct, persist, progress, sleep0, state } from "./page.js";
import { fmt, raster } from "./plots.js";
import { session } from "./session.js";
import { drawSpikeMaps, padPixels } from "./spikes.js";
import { METHODS, SWEEP_T, drawConversionTable, drawEnergy, drawSpikes, drawSummary, drawSweep, drawTestImage, drawWalkthrough } from "./views.js";

/** The method menu with the start menu, in the CLI's spelling (`alpha-beta+half`, `qcfs+zero`). */
const chosenRecipe = () =>
  $("method").value + ($("init-membrane").value ? `+${$("init-membrane").value}` : "") + ($("bias-correction").checked ? "+bias" : "");

/**
 * `lap(name)`, when given, marks the end of each phase (the first visit times them).
 * @param {(name: string) => void} [lap]
 */
export async function convert(lap = () => {}) {
  const t = +$("timesteps").value;
  let c = await session.start_calibration(Math.max(1, +$("calib").value || 10), 100);
  while (!c.layers) {
    if (page.cancelled) throw new Cancelled();
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
  $("stair-t").value = String(t);
  await drawWalkthrough(state, session);
  drawConversionTable(state);
  drawSpikes(r.evaluation);
  drawEnergy(r.evaluation, page.energy);
}

/** The walkthrough's layer menu, from the calibrated layers. */
export function fillLayers() {
  el("layer", HTMLSelectElement).replaceChildren(...(state.layers ?? []).map((l, i) => new Option(`${l.name} (mu ${l.mu.toFixed(2)})`, String(i))));
}

export async function sweep() {
  state.sweep = [];
  const n = METHODS.length * SWEEP_T.length;
  const t0 = performance.now();
  for (const m of METHODS) {
    for (const t of SWEEP_T) {
      if (page.cancelled) throw new Cancelled();
      const done = state.sweep.length;
      progress(done / n, `sweep: ${m} at T=${t} (${done}/${n})  ${eta(t0, done / n)}`);
      state.sweep.push(await session.sweep_point(m, t));
      drawSweep(state);
      await sleep0();
    }
  }
}

export async function finetune() {
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
    if (page.cancelled) throw new Cancelled();
    progress(t / 8, `fine-tuned SNN at T=${t}`);
    state.finetuned.push({ t, accuracy: await session.snn_accuracy_at(t) });
    drawSweep(state);
    await sleep0();
  }
}

export async function evalSnn() {
  progress(0.3, "evaluating the SNN (spikes, operations, energy)");
  const r = await session.evaluate_snn(0);
  state.snnEval = r;
  const ev = r.evaluation;
  $("snn-info").textContent = `SNN (${r.method}, T=${ev.t}, ${r.finetune_epochs} fine-tuning epochs): test accuracy ${pct(ev.accuracy)} on ${ev.images} images; energy ${ev.energy.ratio.toFixed(1)}x below the DNN`;
  $("snn-info").dataset.accuracy = ev.accuracy;
  drawSpikes(ev);
  drawEnergy(ev, page.energy);
  await showRaster();
}

export async function showRaster() {
  const i = +$("img-index").value || 0;
  const img = await session.test_image(i);
  drawTestImage(el("img", HTMLCanvasElement), img);
  const r = await session.raster(i, 24);
  state.raster = r;
  raster($("plot-raster"), r);
  const total = r.layers.reduce((s, l) => s + l.per_step.reduce((a, b) => a + b, 0), 0);
  $("raster-info").textContent = `label ${r.label}, SNN predicts ${r.predicted}; ${total} spikes in all layers over T=${r.t}`;
  await showMaps();
}

/**
 * The spike maps of the chosen test image (or of the drawing, when `pixels` is given).
 * @param {Uint8Array} [pixels]
 */
export async function showMaps(pixels) {
  const t0 = performance.now();
  const maps = await session.spike_maps(+$("img-index").value || 0, pixels ?? null, +$("sm-channel").value || 0);
  const ms = performance.now() - t0;
  if (pixels) state.padMaps = { ...maps, ms }; else state.spikeMaps = maps;
  drawSpikeMaps(maps);
  return ms;
}

export async function classifyPad() {
  const d = state.data;
  if (!d || d.shape[0] !== 1) throw new Error("config: the drawing pad needs a 1-channel dataset (MNIST, Fashion-MNIST)");
  const ms = await showMaps(padPixels(d.shape[1], d.shape[2]));
  $("pad-info").textContent = `SNN predicts ${state.padMaps.predicted} (spike maps in ${ms.toFixed(0)} ms)`;
}
