// What the page tells its user: how to get WebGPU, and a library error as a message.

export const HOW_TO =
  "Use Chrome or Edge 113+ (on Linux start it with --enable-unsafe-webgpu, or enable chrome://flags/#enable-unsafe-webgpu), " +
  "Safari 26+, or Firefox 141+ on Windows. WebGPU also needs a secure context: open the page via https or http://127.0.0.1 / localhost.";

/**
 * An error's message (a thrown non-Error: itself, as text).
 * @param {any} e
 */
export const errorText = (e) => String(e?.message ?? e);

/**
 * An error's kind: the library's stable code (src/error.rs `Error::kind`, carried by the worker),
 * or "page" for an error of the page's own. The page decides on this, never on the wording.
 * @param {any} e
 * @returns {string}
 */
export const errorKind = (e) => (typeof e?.kind === "string" ? e.kind : "page");

/**
 * What the user can do about an error, in the library's words ("" where it has none).
 * @param {any} e
 * @returns {string}
 */
export const errorHint = (e) => (typeof e?.hint === "string" ? e.hint : "");

/**
 * What the page says before the library's message, for every kind the library has (held to
 * `ERROR_KINDS` by tests/error_kinds.rs): a sentence, or "" where the message and its hint say it.
 * @type {Record<string, string>}
 */
export const ADVICE = {
  "no-adapter": "No usable GPU adapter. " + HOW_TO,
  "request-device": "The GPU refused to open a device. " + HOW_TO,
  "device-lost": "The GPU device was lost (driver reset, sleep, or another tab took the GPU). The page opens a new device and restores the last saved state; download buttons still hand out the last saved checkpoint.",
  gpu: "The GPU reported an error.",
  shader: "A GPU kernel did not compile on this device: please report it with the GPU panel's text.",
  shape: "",
  "too-large": "The model or batch is too large for this GPU's limits: choose a smaller model or batch.",
  readback: "Results could not be read back from the GPU.",
  data: "The file could not be read:",
  checkpoint: "The file could not be read:",
  config: "",
  "missing-step": "",
  "invalid-option": "Check the settings:",
  model: "",
  diverged: "Training diverged:",
  cancelled: "",
  io: "",
  page: "",
};

/**
 * A message for the user from an error: the advice for its kind, the message, and the
 * library's hint where the advice does not already say what to do.
 * @param {any} e
 */
export function explain(e) {
  const m = errorText(e);
  const advice = ADVICE[errorKind(e)] ?? "";
  const hint = !advice && errorHint(e) ? ` (${errorHint(e)})` : "";
  return (advice ? advice + (advice.endsWith(":") ? " " : "\n") : "") + m + hint;
}
