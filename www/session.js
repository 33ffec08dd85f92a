// The page's handle on the Session in its Worker (worker.js): `session.name(args)`
// posts the call and returns a promise of its result; a failed call rejects with
// an Error of the library's message, its `kind` and its `hint` (messages.js `errorKind`). Calls are answered in order of completion; the page
// runs one step at a time, as it did when the Session lived on its thread.

/** @type {Worker | null} */
let worker = null;
let next = 0;
/** The calls awaiting their answer, by id. @type {Map<number, { resolve: (v: any) => void, reject: (e: Error) => void }>} */
const pending = new Map();

/**
 * @param {string} method
 * @param {any[]} args
 * @returns {Promise<any>}
 */
function call(method, args) {
  return new Promise((resolve, reject) => {
    if (!worker) return reject(new Error("ultraspike: the session worker is not running"));
    const id = next++;
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, method, args });
  });
}

/**
 * Every Session method by name, and the worker's own calls (init, open, cancel, clearCancel,
 * loseDevice): each returns a promise of the call's result, the Session's plain objects
 * (src/wasm_api; their shapes are the Rust structs it serializes).
 * @type {Record<string, (...args: any[]) => Promise<any>>}
 */
export const session = new Proxy({}, { get: (_, method) => (...args) => call(/** @type {string} */ (method), args) });

/** Start the worker and load into it the wasm module Trunk loaded for this page. */
export async function startWorker() {
  /** @param {string} selector a link's */
  const link = (selector) => /** @type {HTMLLinkElement | null} */ (document.querySelector(selector));
  const glue = link('link[rel="modulepreload"][href$=".js"]')?.href;
  const binary = link('link[rel="preload"][href$=".wasm"]')?.href;
  if (!glue || !binary) throw new Error("the page does not name its wasm module (Trunk's preload links are missing)");
  worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  worker.onmessage = ({ data: { id, value, error } }) => {
    const p = pending.get(id);
    pending.delete(id);
    if (error !== undefined) p?.reject(Object.assign(new Error(error.message), { kind: error.kind, hint: error.hint }));
    else p?.resolve(value);
  };
  worker.onerror = (e) => {
    const err = new Error(`the session worker failed: ${e.message ?? e}`);
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  return call("init", [glue, binary]);
}
