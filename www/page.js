// What the page's modules share: the views' state (window.ultraspike, which the e2e test reads),
// the flags of the running task, the status line and progress bar, the step-wise loop every long
// step runs, and saving the session after each step.
import { $, el } from "./dom.js";
import { errorText } from "./messages.js";
import * as store from "./persist.js";
import { session } from "./session.js";

export const sleep0 = () => new Promise((r) => setTimeout(r, 0));
/** @param {number} v */
export const pct = (v) => (100 * v).toFixed(2) + "%";

/** The page's flags (one object, so every module sees and sets the same ones). */
export const page = {
  /** The wasm module's bindings (Trunk's), set by `main`. @type {any} */
  wasm: null,
  /** A Session is open in the worker (on a device that works, as far as the page knows). */
  ready: false,
  /** The energy model's constants (the session's, fetched once per device). @type {any} */
  energy: null,
  cancelled: false,
  busy: false,
  /** The last state saved (also in IndexedDB): what a lost device is recovered from. @type {any} */
  lastRecord: null,
  /** Whether this tab owns the saved session (persist.js `claimSession`). */
  ownsSaved: true,
};

/**
 * Everything the views draw, kept so they can be redrawn and inspected (window.ultraspike). The
 * values are the Session's plain objects (src/pipeline, serialized by src/wasm_api).
 * @typedef {object} PageState
 * @property {any[]} history closed epochs of the DNN's training (`EpochRecord`s)
 * @property {number[][]} live the running [epoch, loss, accuracy] points of the training
 * @property {any} convert the last conversion (`Conversion`), null when none holds
 * @property {any[]} sweep the sweep's points
 * @property {any[]} finetuned the fine-tuned SNN's accuracy at each T
 * @property {any} snnEval the last SNN evaluation (`SnnReport`)
 * @property {any} raster the last raster
 * @property {any} dnnEval the last DNN evaluation
 * @property {any} walk the walkthrough of `walkLayer` in conversion `walkOf` (views.js)
 * @property {any} [walkOf]
 * @property {number} [walkLayer]
 * @property {any[]} ft the fine-tuning's closed epochs
 * @property {any} [st] the session's state (`PipelineState`) as last fetched
 * @property {any} [source] where the data came from (data.js), with the subset sizes
 * @property {any} [data] the loaded dataset's summary
 * @property {string} [customModel] an uploaded model config (JSON)
 * @property {any[]} [layers] the calibrated layers' statistics
 * @property {number} [convertDnnAcc] the DNN's accuracy when the conversion was made
 * @property {any} [spikeMaps] the spike maps of a test image
 * @property {any} [padMaps] the spike maps of the drawing, with `ms`
 * @property {Record<string, number>} [timings] the quick demo's phases, in seconds
 * @property {Record<string, number[]>} [phases] the quick demo's phases, [start, end] in ms
 * @property {any} [plan] the quick demo's plan
 * @property {any[]} [probes] the quick demo's timings of each model
 * @property {Record<string, number>} [firstVisitPhases] the first visit's phases, in ms
 * @property {number} [firstVisitMs] the first visit's time
 * @property {() => any} pipeline the session's state as last fetched (test hook)
 * @property {boolean} worker the Session lives in a Worker (test hook)
 * @property {() => Promise<any>} loseDevice lose the worker's GPU device (test hook)
 * @property {typeof session} session the Session (test hook: the e2e test drives leak cycles)
 */

/** @type {PageState} */
export const state = {
  history: [], live: [], convert: null, sweep: [], finetuned: [], snnEval: null, raster: null, dnnEval: null, walk: null, ft: [],
  pipeline: () => pipelineState(),
  // The Session lives in a Worker; a test loses its GPU device through this hook.
  worker: true,
  loseDevice: () => session.loseDevice(),
  // Test hook: the e2e test drives long sessions through it (leak cycles).
  session,
};
/** @type {Window & { ultraspike?: PageState }} */ (window).ultraspike = state;

export class Cancelled extends Error {}

/** The status line (and `data-status` for the tests). */
export function status(kind, msg) {
  const s = $("status");
  s.className = "status " + kind;
  s.textContent = msg;
  document.body.dataset.status = kind;
}

export function progress(frac, text) {
  $("bar").style.width = (100 * Math.max(0, Math.min(1, frac))).toFixed(1) + "%";
  $("progress-text").textContent = text;
}

export function eta(t0, frac) {
  if (frac <= 0) return "";
  const s = ((performance.now() - t0) / 1000) * (1 / frac - 1);
  return s < 90 ? `ETA ${s.toFixed(0)} s` : `ETA ${(s / 60).toFixed(1)} min`;
}

/** Call `step(k)` until it reports done, sizing k to ~150 ms of GPU work per call. */
export async function loop(label, step, onProgress) {
  let k = 1;
  const t0 = performance.now();
  for (;;) {
    if (page.cancelled) throw new Cancelled();
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
export function pipelineState() {
  return state.st ?? null;
}

export async function refreshState() {
  try {
    state.st = page.ready ? await session.state() : null;
  } catch {
    state.st = null; // a lost device: every button but the downloads waits for a new session
  }
}

/** The tuner's choices in the GPU panel; kept in IndexedDB for the next visit. */
export async function showTune() {
  const rows = await session.tune_choices();
  const body = el("tune", HTMLTableElement).tBodies[0];
  body.replaceChildren();
  for (const r of rows) { const tr = body.insertRow(); for (const v of r) tr.insertCell().textContent = v; }
  $("tune-none").hidden = rows.length > 0;
  if (rows.length) await store.saveTune(await session.tune_json()).catch(() => {});
}

/** Save the session's models and the views (failures only warn: the work itself went fine).
 * A tab that does not own the saved session (another tab does: `store.claimSession`) keeps
 * the record in memory only, for a lost device. */
export async function persist() {
  if (!page.ready) return;
  await showTune().catch(() => {});
  try {
    const rec = { archive: await session.archive(), source: state.source, views: store.viewsOf(state), savedAt: new Date().toISOString() };
    page.lastRecord = rec;
    if (page.ownsSaved) await store.save({ ...rec, source: store.keepableSource(rec.source) });
  } catch (e) {
    console.warn("ultraspike: the session could not be saved: " + errorText(e));
  }
}
