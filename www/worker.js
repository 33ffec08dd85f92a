// The session's own thread: the wasm module and its Session (the pipeline,
// its GPU device and every buffer) live in this module Worker, so no library
// call - a VGG-16's 15 M seeded weights drawn in ~2 s, a 60 MB upload, an
// archive serialised after each epoch - can hold the page's main thread.
// The page calls Session methods by name (session.js); a call's result comes
// back by structured clone (byte arrays are transferred, not copied). While a
// call awaits the GPU this worker keeps taking messages, so `cancel` reaches
// the running step before its next batch.
import { errorHint, errorKind, errorText } from "./messages.js";

// wasm-bindgen's glue (loaded by URL at run time, so without types here), its Session and the
// Session's cancel handle.
/** @type {any} */
let wasm = null;
/** @type {any} */
let session = null;
/** @type {any} */
let cancel = null;
// The GPU devices opened here, kept reachable so a test can lose them on purpose (`loseDevice`).
/** @type {GPUDevice[]} */
const devices = [];
/** This module's global scope, a dedicated worker's (the DOM types the page is checked with call `self` a Window). */
const scope = /** @type {{ onmessage: ((ev: MessageEvent) => unknown) | null, postMessage(message: unknown, transfer?: Transferable[]): void }} */ (
  /** @type {unknown} */ (self)
);
if (self.GPUAdapter) {
  const request = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function (...args) {
    const d = await request.apply(this, args);
    devices.push(d);
    return d;
  };
}

/**
 * Calls that are not Session methods.
 * @type {Record<string, (...args: any[]) => unknown>}
 */
const control = {
  /** Load the wasm module the page loaded (its glue and binary URLs come from the page). */
  async init(glue, binary) {
    wasm = await import(glue);
    await wasm.default({ module_or_path: binary });
    wasm.start();
    return "gpu" in navigator;
  },
  /** A new Session on a new device (at start, and after a lost one); what the page shows of it. */
  async open() {
    try {
      session?.free();
    } catch {
      // the old session may already be unusable (its device is gone)
    }
    session = null;
    session = await wasm.create_session();
    cancel = session.cancel_handle();
    return { gpuInfo: session.gpu_info(), energy: session.energy_constants() };
  },
  /** Stop the running step-wise call before its next batch (or forget an old request). */
  cancel: () => cancel?.request(),
  clearCancel: () => cancel?.clear(),
  loseDevice: () => {
    devices.forEach((d) => d.destroy());
    return devices.length;
  },
};

/** A byte array that owns its buffer is moved to the page, not copied. */
const transfers = (v) => (ArrayBuffer.isView(v) && v.byteOffset === 0 && v.byteLength === v.buffer.byteLength ? [v.buffer] : []);

scope.onmessage = async ({ data: { id, method, args } }) => {
  try {
    let value;
    if (Object.hasOwn(control, method)) value = await control[method](...args);
    else if (!session) throw new Error("no session: the GPU device could not be opened");
    else if (typeof session[method] !== "function") throw new Error(`ultraspike: no Session method ${method}`);
    else value = await session[method](...args);
    scope.postMessage({ id, value }, transfers(value));
  } catch (e) {
    // The library's kind and hint travel with the message (src/wasm_api `js_err`).
    scope.postMessage({ id, error: { message: errorText(e), kind: errorKind(e), hint: errorHint(e) } });
  }
};
