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
 * A message for the user from a library error (src/error.rs wording).
 * @param {any} e
 */
export function explain(e) {
  const m = errorText(e);
  if (/device was lost/i.test(m)) return "The GPU device was lost (driver reset, sleep, or another tab took the GPU). The page opens a new device and restores the last saved state; download buttons still hand out the last saved checkpoint.\n" + m;
  if (/device allows at most|too large|max_buffer_size|max_storage_buffer/i.test(m)) return "The model or batch is too large for this GPU's limits: choose a smaller model or batch.\n" + m;
  if (/^dataset|^checkpoint|safetensors|IDX|CIFAR|magic|header/i.test(m)) return "The file could not be read: " + m;
  return m;
}
