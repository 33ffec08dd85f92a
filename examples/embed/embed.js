// The embedding example: only the package's public API (pkg/ultraspike.js,
// typed by pkg/ultraspike.d.ts): create_session(), Session.load_checkpoint(bytes),
// Session.model_input(with), Session.classify(pixels, with).
import init, { create_session, start } from "../../pkg/ultraspike.js";

const $ = (id) => document.getElementById(id);
const status = (text, error = false) => {
  $("status").textContent = text;
  $("status").className = error ? "error" : "";
};

/** The image scaled onto a canvas of the model's H x W, as u8 [C, H, W] (grey = mean of RGB). */
function pixelsOf(bitmap, [c, h, w]) {
  const canvas = $("input");
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0, w, h);
  const rgba = ctx.getImageData(0, 0, w, h).data;
  const out = new Uint8Array(c * h * w);
  for (let i = 0; i < h * w; i++) {
    const [r, g, b] = [rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2]];
    if (c === 1) out[i] = Math.round((r + g + b) / 3);
    else [r, g, b].slice(0, c).forEach((v, ch) => (out[ch * h * w + i] = v));
  }
  return out;
}

function show(result) {
  $("result").textContent = `${result.model.toUpperCase()}${result.timesteps ? ` (T=${result.timesteps})` : ""}: class ${result.predicted}`;
  $("bars").replaceChildren(...result.probabilities.map((p, k) => {
    const row = document.createElement("div");
    row.innerHTML = `<span>${k}</span><span class="bar" style="width:${(p * 20).toFixed(2)}rem"></span><span>${(100 * p).toFixed(1)} %</span>`;
    return row;
  }));
}

async function main() {
  await init();
  start();
  const session = await create_session();
  window.embed = { session, pixelsOf }; // for tests and the curious, from the console
  status("Choose a checkpoint.");
  let bitmap = null;
  const classify = async () => {
    if (!bitmap) return;
    try {
      const with_ = $("with").value;
      const { input } = session.model_input(with_);
      show(await session.classify(pixelsOf(bitmap, input), with_));
      status("Classified.");
    } catch (e) {
      status(String(e.message ?? e), true);
    }
  };
  $("ckpt").addEventListener("change", async () => {
    try {
      const file = $("ckpt").files[0];
      const info = session.load_checkpoint(new Uint8Array(await file.arrayBuffer()));
      status(`Loaded ${file.name}: ${info.kind ?? ""} ${info.model}. Choose an image.`);
      await classify();
    } catch (e) {
      status(String(e.message ?? e), true);
    }
  });
  $("image").addEventListener("change", async () => {
    bitmap = await createImageBitmap($("image").files[0]);
    await classify();
  });
  $("with").addEventListener("change", classify);
}

main().catch((e) => status(`WebGPU or the package failed to load: ${e.message ?? e}`, true));
