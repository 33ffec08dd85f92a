// What the page keeps across a reload, a crash or a lost GPU device, in IndexedDB:
// the session's archive (DNN, SNN and calibration: `Session.archive()`, checked
// by the library when it comes back), where the data came from (the bundled
// set's name and sizes, a URL, or the uploaded files themselves), and the
// numbers the views draw. One record, replaced whole in one transaction, so a
// reload never sees a DNN from one run with the views of another.
import { $ } from "./dom.js";

const DB = "ultraspike";
const STORE = "session";
const KEY = "last";
/** The kernel tuner's choices (`Session.tune_json()`), kept apart from the session: they
 * belong to the adapter, not to a run, and a cleared session keeps them. */
const TUNE_KEY = "tune";
/** The Web Lock a tab holds while it owns the saved session (see `claimSession`). */
const LOCK = "ultraspike-saved-session";
/** Uploaded datasets above this are not kept (the models and views still are). */
const MAX_KEPT_UPLOAD = 256 << 20;
/** The view state worth keeping (window.ultraspike); the rest is recomputed. */
const VIEW_KEYS = ["history", "live", "convert", "convertDnnAcc", "sweep", "finetuned", "ft", "snnEval", "dnnEval", "layers", "customModel", "infos", "plan"];
const INFO_IDS = ["dnn-info", "convert-info", "snn-info", "demo-info"];

function open() {
  return new Promise((ok, fail) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => ok(req.result);
    req.onerror = () => fail(req.error);
  });
}

async function transact(mode, fn) {
  const db = await open();
  try {
    return await new Promise((ok, fail) => {
      const tx = db.transaction(STORE, mode);
      const req = fn(tx.objectStore(STORE));
      tx.oncomplete = () => ok(req?.result);
      tx.onerror = () => fail(tx.error);
      tx.onabort = () => fail(tx.error ?? new Error("IndexedDB transaction aborted"));
    });
  } finally {
    db.close();
  }
}

/** The views' numbers and the info lines, as plain data. */
export function viewsOf(state) {
  const v = {};
  for (const k of VIEW_KEYS) if (state[k] !== undefined) v[k] = state[k];
  v.infos = Object.fromEntries(INFO_IDS.map((id) => [id, $(id).textContent]));
  return v;
}

/** Put saved views back into `state` and the info lines. */
export function applyViews(state, views) {
  for (const k of VIEW_KEYS) if (views[k] !== undefined) state[k] = views[k];
  for (const [id, text] of Object.entries(views.infos ?? {})) {
    const el = document.getElementById(id);
    if (el) el.textContent = text;
  }
}

/** A data source worth keeping: uploads only while small enough to store. */
export function keepableSource(source) {
  if (source?.kind !== "files") return source;
  const bytes = source.files.reduce((a, f) => a + f.bytes.byteLength, 0);
  return bytes <= MAX_KEPT_UPLOAD ? source : { kind: "too-large-upload", names: source.files.map((f) => f.name) };
}

/** Replace the saved record: { archive, source, views, savedAt }. */
export async function save(record) {
  await transact("readwrite", (s) => s.put({ ...record, savedAt: new Date().toISOString() }, KEY));
}

/** The saved record, or null (none, or IndexedDB unavailable: private windows). */
export async function load() {
  try {
    return (await transact("readonly", (s) => s.get(KEY))) ?? null;
  } catch {
    return null;
  }
}

export async function clear() {
  await transact("readwrite", (s) => s.delete(KEY));
}

/** Keep the tuner's choices (JSON from `Session.tune_json()`). */
export async function saveTune(json) {
  await transact("readwrite", (s) => s.put(json, TUNE_KEY));
}

/** The kept tuner choices, or null. */
export async function loadTune() {
  try {
    return (await transact("readonly", (s) => s.get(TUNE_KEY))) ?? null;
  } catch {
    return null;
  }
}

/** Whether this tab owns the saved session: the first tab open takes a Web Lock and holds it
 * until it closes (a reload gives it back and takes it again). Another tab, opened while the
 * first is open, neither restores the saved session nor saves its own, so two tabs never
 * overwrite or restore each other's work. Without Web Locks every tab owns it (as before). */
export function claimSession() {
  if (!navigator.locks?.request) return Promise.resolve(true);
  return new Promise((ok) => {
    navigator.locks
      .request(LOCK, { ifAvailable: true }, (lock) => {
        ok(lock !== null);
        // Held for the tab's life: the callback's promise never settles.
        return lock ? new Promise(() => {}) : undefined;
      })
      .catch(() => ok(true));
  });
}
