// Coming back: a saved session restored (after a reload or a crash: data first, then the models,
// then every view redrawn from the kept numbers), and a lost GPU device replaced by a new one
// that continues from the last saved state, without a reload.
import { loadSource } from "./dnn.js";
import { $ } from "./dom.js";
import { errorKind, errorText, explain } from "./messages.js";
import { page, pipelineState, refreshState, state, status } from "./page.js";
import * as store from "./persist.js";
import { session } from "./session.js";
import { fillLayers, showRaster } from "./snn.js";
import { drawConversionTable, drawEnergy, drawSpikes, drawSummary, drawSweep, drawTraining, drawWalkthrough } from "./views.js";

/** Data first (new data drops a calibration), then the models, then every view. */
export async function restoreSaved(rec) {
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
  page.lastRecord = rec;
  return `restored the session saved at ${new Date(rec.savedAt).toLocaleString()}: ${[r.dnn && "DNN", r.calibrated && "calibration", r.snn && "SNN"].filter(Boolean).join(", ") || "data only"}.${dataNote}`;
}

async function redraw() {
  await refreshState();
  const st = pipelineState();
  drawSummary(state);
  drawTraining(state);
  fillLayers();
  if (state.convert) {
    $("stair-t").value = String(Math.min(8, state.convert.t ?? 2));
    if (st?.calibrated) await drawWalkthrough(state, session);
    drawConversionTable(state);
  }
  if (state.sweep.length || state.finetuned.length) drawSweep(state);
  const ev = state.snnEval?.evaluation ?? state.convert?.evaluation;
  if (ev) {
    drawSpikes(ev);
    drawEnergy(ev, page.energy);
  }
  if (st?.snn && st.data) {
    // A loaded SNN stays when other data is loaded (the session allows it); its spike views then
    // wait for data it fits, and the rest of the session is restored all the same.
    try {
      await showRaster();
    } catch (e) {
      if (errorKind(e) === "device-lost") throw e;
      $("raster-info").textContent = `No spike views: ${explain(e)}`;
    }
  }
}

/**
 * A lost GPU device: open a new one and continue from the last saved state, without a reload.
 * @param {string} name the task that was running
 * @param {any} e its error
 * @returns {Promise<string[]>} the task's outcome: [status kind, message, body state]
 */
export async function recover(name, e) {
  status("warn", `${name}: the GPU device was lost. Opening a new device…`);
  try {
    page.ready = false;
    ({ energy: page.energy } = await session.open());
    page.ready = true;
    const note = page.lastRecord ? await restoreSaved(page.lastRecord) : state.source ? (await loadSource(state.source), "reloaded the data.") : "";
    return ["warn", `${name} stopped: the GPU device was lost (${errorText(e)}). A new device was opened; ${note || "the session starts empty."} Run the step again to continue.`, "recovered"];
  } catch (e2) {
    return ["err", `${name} failed: ${explain(e)}\nNo new device could be opened (${errorText(e2)}): reload the page.`, "error"];
  }
}
