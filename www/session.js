// The page's handle on the Session in its Worker (worker.js): `session.name(args)`
// posts the call and returns a promise of its result; a failed call rejects with
// the library's message. Calls are answered in order of completion; the page
// runs one step at a time, as it did when the Session lived on its thread.

let worker = null;
let next = 0;
const pending = new Map();

function call(method, args) {
  return new Promise((resolve, reject) => {
    if (!worker) return reject(new Error("ultraspike: the session worker is not running"));
    const id = next++;
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, method, args });
  });
}

/** Every Session method by name, and the worker's own calls (init, open, cancel, clearCancel, loseDevice). */
export const session = new Proxy({}, { get: (_, method) => (...args) => call(method, args) });

/** Start the worker and load into it the wasm module Trunk loaded for this page. */
export async function startWorker() {
  const glue = document.querySelector('link[rel="modulepreload"][href$=".js"]')?.href;
  const binary = document.querySelector('link[rel="preload"][href$=".wasm"]')?.href;
  if (!glue || !binary) throw new Error("the page does not name its wasm module (Trunk's preload links are missing)");
  worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  worker.onmessage = ({ data: { id, value, error } }) => {
    const p = pending.get(id);
    pending.delete(id);
    if (error !== undefined) p?.reject(new Error(error));
    else p?.resolve(value);
  };
  worker.onerror = (e) => {
    const err = new Error(`the session worker failed: ${e.message ?? e}`);
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  return call("init", [glue, binary]);
}
