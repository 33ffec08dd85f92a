// The first visit (no saved session in this browser): the bundled MNIST model (www/models/,
// trained by the CLI with scripts/train-bundled.sh; tests/bundled_models.rs checks its accuracy),
// converted at T = 2 with QCFS thresholds (V_th = mu, start V_th/2), so the walkthrough, the spike
// maps and raster, the sweep's point at T = 2, the energy view and the drawing pad all work
// within seconds with nothing trained. "Train your own" and the quick demo stay as they are:
// training replaces the model, and every view follows.

export const BUNDLED_MODEL = "mnist.safetensors";

/** A bundled model's bytes (`file` as the library's BUNDLED_MODELS names it). */
export async function fetchModel(file) {
  const r = await fetch(`models/${file}`);
  if (!r.ok) throw new Error(`models/${file}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}
// The conversion that keeps the bundled DNN's accuracy at T = 2 (EXPERIMENTS.md section 7; bias
// correction, which costs minutes here, gains nothing on this model). Sized for seconds on a CPU
// WebGPU: 2 calibration batches of 100 training images (the percentiles of every layer's
// pre-activations are the slow part) and 200 test images; the form's own settings return after.
const FIRST_VISIT = { method: "qcfs", bias: false, t: 2, calib: 2, test: 200 };
const FORM_IDS = ["dataset", "test-n", "method", "init-membrane", "timesteps", "calib"];

/**
 * Load MNIST (the form's subsets), the bundled DNN, then convert it: `app` gives the page's own
 * steps (loadData, useCheckpoint, convert, showRaster) and the form accessor `$`.
 * Returns the loaded model's description.
 */
export async function openBundledModel(app, progress, phases = {}) {
  const { $ } = app;
  let t = performance.now();
  const lap = (name) => { const now = performance.now(); phases[name] = Math.round(now - t); t = now; };
  // The form is for the user's own runs: it gets its settings back once this conversion is made.
  const form = FORM_IDS.map((id) => [id, $(id).value]);
  const bias = $("bias-correction").checked;
  const restore = () => {
    for (const [id, v] of form) $(id).value = v;
    $("bias-correction").checked = bias;
  };
  try {
    Object.entries({ dataset: "mnist", "test-n": FIRST_VISIT.test, method: FIRST_VISIT.method, "init-membrane": "", timesteps: FIRST_VISIT.t, calib: FIRST_VISIT.calib }).forEach(([id, v]) => ($(id).value = v));
    $("bias-correction").checked = FIRST_VISIT.bias;
    return await convertBundled(app, progress, lap);
  } finally {
    restore();
  }
}

async function convertBundled(app, progress, lap) {
  await app.loadData();
  lap("data");
  progress(0.2, `fetching the bundled model (models/${BUNDLED_MODEL})`);
  const info = await app.useCheckpoint(await fetchModel(BUNDLED_MODEL), "the bundled model");
  lap("model");
  await app.convert(lap);
  lap("walkthrough and plots");
  await app.showRaster();
  lap("spike views");
  return info;
}
