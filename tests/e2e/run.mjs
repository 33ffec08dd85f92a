// End-to-end page test: serve dist/ (+ data/ at /data) on 127.0.0.1, open the
// page in headless Chromium with WebGPU (playwright-core, /usr/bin/chromium),
// run the quick demo (train -> convert -> sweep -> fine-tune -> evaluate on an
// MNIST subset with vgg-tiny), check every view holds real numbers and that no
// error reached the console, save screenshots, and (with CKPT/CLI_ACC) check a
// CLI-trained checkpoint gives the CLI's test accuracy in the page.
// A reload must restore the models and views (IndexedDB); cancel must act within
// a batch; no main-thread task over 50 ms while training or fine-tuning.
// Last, the error paths: a batch over the GPU's limits and a lost GPU device
// (the test destroys it; the page must open a new one and carry on) must give
// the page's explanations, not a crash.
// Usage: node tests/e2e/run.mjs [--out test-output/e2e]
//   env: CKPT=path.safetensors CLI_ACC=0.87 (from `ultraspike eval --json`), CHROMIUM=/usr/bin/chromium,
//   E2E_ERRORS_ONLY=1 (load a small dataset and run only the error paths)
import { mkdir, readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { root, cifarBatch, cifarArchive, serve, launch, check, failures, longTasksIn, probeObservers } from "./harness.mjs";

const outDir = resolve(root, process.argv.includes("--out") ? process.argv[process.argv.indexOf("--out") + 1] : "test-output/e2e");

/** A safetensors file without its `__metadata__` (a plain PyTorch state dict); the header keeps its length. */
function withoutMetadata(bytes) {
  const len = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + len).toString("utf8"));
  delete header.__metadata__;
  const out = Buffer.from(bytes);
  out.write(JSON.stringify(header).padEnd(len, " "), 8, len, "utf8");
  return out;
}

const cifarTrain = cifarBatch(40, 1);
const cifarTest = cifarBatch(20, 2);
const server = await serve({ "/test-data/cifar-10-binary.tar.gz": cifarArchive(cifarTrain, cifarTest) });
const url = `http://127.0.0.1:${server.address().port}/`;
await mkdir(outDir, { recursive: true });
const { browser, page, consoleErrors } = await launch();
const t0 = Date.now();
const secs = () => ((Date.now() - t0) / 1000).toFixed(0) + "s";

try {
  console.log("open", url);
  await page.goto(url);
  // (A first visit then opens the bundled model: wait for that to end.)
  await page.waitForFunction(() => document.body.dataset.firstVisit || document.body.dataset.status === "err", null, { timeout: 300_000, polling: 200 });
  const st = await page.textContent("#status");
  check(!/fail|no webgpu|no device/i.test(st) && (await page.getAttribute("body", "data-status")) === "ok", `WebGPU session opened: ${st.trim()}`);
  check((await page.evaluate(() => window.ultraspike.worker)) === true, "the session runs in a Web Worker (the main thread only awaits it)");
  // A first visit: the bundled MNIST model, converted at T = 2, fills every view within seconds
  // with nothing trained; the demo and the summary sit at the top, the views in the story's order.
  await page.screenshot({ path: join(outDir, "first-visit.png"), fullPage: true });
  const firstVisit = await page.evaluate(() => ({
    done: document.body.dataset.firstVisit,
    ms: window.ultraspike.firstVisitMs,
    demoTop: document.getElementById("demo").getBoundingClientRect().top,
    glance: Object.fromEntries(["sum-dnn", "sum-snn", "sum-t", "sum-spikes", "sum-energy"].map((id) => [id, document.getElementById(id).textContent])),
    empty: [...document.querySelectorAll(".plot-host, .strip")].filter((h) => !h.children.length).map((h) => h.id),
    order: [...document.querySelectorAll("article.view")].map((a) => a.id),
    method: window.ultraspike.convert?.method, t: window.ultraspike.convert?.t,
    dnn: window.ultraspike.dnnEval?.accuracy, snn: window.ultraspike.convert?.evaluation.accuracy,
    sweep: window.ultraspike.sweep.map((r) => [r.method, r.t]), maps: window.ultraspike.spikeMaps?.t,
    form: document.getElementById("method").value,
  }));
  console.log("first visit:", JSON.stringify(firstVisit));
  check(firstVisit.done === "done" && firstVisit.method === "qcfs" && firstVisit.t === 2, `first visit: the bundled MNIST model converted (${firstVisit.method}, T = ${firstVisit.t}) in ${(firstVisit.ms / 1000).toFixed(1)} s`);
  check(firstVisit.dnn >= 0.97 && firstVisit.snn >= firstVisit.dnn - 0.02, `first visit: DNN ${firstVisit.dnn}, SNN at T = 2 ${firstVisit.snn} (the bundled model, nothing trained)`);
  check(Object.values(firstVisit.glance).every((v) => v !== "–") && firstVisit.glance["sum-t"] === "2", `first visit: the summary is filled: ${JSON.stringify(firstVisit.glance)}`);
  check(firstVisit.empty.length === 0 && firstVisit.maps === 2 && JSON.stringify(firstVisit.sweep) === JSON.stringify([["qcfs", 2]]), `first visit: every view alive (empty: ${firstVisit.empty.join(", ") || "none"}), spike maps at T = 2, the sweep's point at T = 2`);
  check(firstVisit.form === "alpha-beta", `first visit: the form keeps its own settings for the user's runs (method ${firstVisit.form})`);
  check(firstVisit.demoTop < 400, `the quick demo at the top (y = ${firstVisit.demoTop.toFixed(0)} px) beside the summary`);
  check(JSON.stringify(firstVisit.order) === JSON.stringify(["view-data", "view-train", "view-convert", "view-spikes", "view-sweep", "view-energy"]), `views in the story's order: ${firstVisit.order.join(", ")}`);
  // The drawing pad with the bundled model: test image 0 on the pad, classified within 100 ms.
  await page.click("#pad-from-test");
  await page.waitForFunction(() => window.ultraspike.padMaps && document.body.dataset.state !== "busy", null, { timeout: 60_000 });
  const padFirst = [];
  for (let i = 0; i < 5; i++) {
    await page.click("#pad-classify");
    await page.waitForFunction(() => document.body.dataset.state !== "busy", null, { timeout: 60_000 });
    padFirst.push(await page.evaluate(() => window.ultraspike.padMaps.ms));
  }
  const padMedian = [...padFirst].sort((a, b) => a - b)[2];
  // Explain by pointing: a click on a neuron's membrane tile gives its steps (current, membrane,
  // threshold, spike, reset) as the library computed them.
  await page.locator("#sm-membrane").click({ position: { x: 12, y: 12 } });
  const neuron = await page.evaluate(() => ({ id: document.getElementById("sm-neuron").dataset.neuron, rows: document.querySelectorAll("#sm-neuron tr").length, text: document.getElementById("sm-neuron").textContent.slice(0, 300) }));
  check(neuron.id && neuron.rows === 2 + 2, `a click on a neuron shows its steps (header, start, T = 2 steps): ${neuron.id}: ${neuron.text}`);
  // Explain by pointing: a click on an energy bar gives that layer's MAC/AC arithmetic.
  await page.locator("#plot-energy rect.pick").nth(1).click();
  const energyLayer = await page.evaluate(() => ({ text: document.getElementById("energy-layer").textContent, layer: document.getElementById("energy-layer").dataset.layer, want: window.ultraspike.convert.evaluation.energy.layers[1] }));
  check(energyLayer.layer === energyLayer.want.name && /MACs per image/.test(energyLayer.text) && /ACs x E_AC/.test(energyLayer.text) && energyLayer.text.includes("T = 2"), `a click on the energy view's second layer explains it: ${energyLayer.text}`);
  check(padMedian <= 100, `drawing pad with the bundled model: classified with spike maps in ${padMedian.toFixed(0)} ms (median of ${padFirst.map((v) => v.toFixed(0)).join(", ")} ms; 100 ms allowed)`);

  if (process.env.E2E_ERRORS_ONLY) {
    await page.fill("#train-n", "200");
    await page.fill("#test-n", "100");
    await page.click("#load-bundled");
    await page.waitForFunction(() => document.body.dataset.state === "idle" && /100 test/.test(document.getElementById("data-info").textContent), null, { timeout: 120_000 });
  } else {
  // The quick demo sizes itself to the device (probes of each demo model, then the library's plan).
  const ticker = setInterval(async () => console.log(`  [${secs()}]`, (await page.textContent("#progress-text").catch(() => "")).trim()), 30_000);
  await page.click("#demo");
  // Progress is visible while the GPU works: the page keeps answering.
  await page.waitForFunction(() => /training: epoch/.test(document.getElementById("progress-text").textContent), null, { timeout: 300_000 });
  const alive = await page.evaluate(() => new Promise((ok) => { const s = performance.now(); setTimeout(() => ok(performance.now() - s), 0); }));
  check(alive < 2000, `page responsive during training (a 0 ms timer fired after ${alive.toFixed(0)} ms)`);
  await page.screenshot({ path: join(outDir, "0-training.png"), fullPage: true });
  await page.waitForFunction(() => document.body.dataset.demo === "done" || document.body.dataset.state === "error", null, { timeout: 600_000, polling: 1000 });
  clearInterval(ticker);
  console.log("demo finished after", secs(), "-", (await page.textContent("#status")).trim(), JSON.stringify(await page.evaluate(() => window.ultraspike.timings)));
  check((await page.getAttribute("body", "data-demo")) === "done", "quick demo ran to the end");
  // The plan: both models probed, the form and the data set from it, and the page says why.
  const planned = await page.evaluate(() => ({ plan: window.ultraspike.plan, probes: window.ultraspike.probes, data: window.ultraspike.data, epochs: window.ultraspike.history.length, info: document.getElementById("demo-info").textContent }));
  const plan = planned.plan;
  console.log("demo plan:", JSON.stringify(plan), JSON.stringify(planned.probes));
  check(plan && planned.probes.length === 2 && planned.probes.every((p) => p.batch_s > 0 && p.first_batch_s > 0) && ["vgg-small", "vgg-tiny", "vgg-small-avg"].includes(plan.model), `quick demo sized to this device: ${plan?.start} ${plan?.model}, ${plan?.train_images} x ${plan?.epochs} epochs, ${plan?.test_images} test images, estimated ${plan?.estimated_seconds?.toFixed(0)} s`);
  check(planned.data.train === plan.train_images && planned.data.test === plan.test_images && planned.epochs === plan.epochs && planned.info.includes(plan.reason), `the demo ran the plan and says why: ${planned.info}`);
  // Long tasks during training and fine-tuning, attributed through long animation frames: only the
  // app's own scripts (this page's origin: app.js, the wasm glue, ...) count. A task with no app script
  // in it (the test's full-page screenshot during training, rendering, GC) is reported, not failed.
  // A frame or task that started before a phase belongs to the phase before it (loading the data).
  const phases = await page.evaluate(() => window.ultraspike.phases);
  const longTasks = await longTasksIn(page, url, [phases.plan, phases.train, phases["fine-tune"]]);
  const probe = await probeObservers(page);
  check(probe.tasks.some((d) => d >= 100) && probe.scripts.some((d) => d >= 100), `the long-task observers see a 120 ms task: ${JSON.stringify(probe)}`);
  console.log("long animation frames with blocking time during training / fine-tuning:", JSON.stringify(longTasks.frames));
  const worst = Math.max(0, ...longTasks.appScripts.map((x) => x.dur));
  check(worst <= 50, `main thread free during training and fine-tuning: the app's longest script ${worst} ms (${JSON.stringify(longTasks.appScripts.filter((x) => x.dur > 50))}; all long tasks: ${JSON.stringify(longTasks.tasks)})`);

  const s = await page.evaluate(() => {
    const u = window.ultraspike;
    const svgs = [...document.querySelectorAll(".plot-host")].map((h) => [h.id, h.querySelectorAll("svg *").length]);
    const rasterSpikes = u.raster?.layers.reduce((a, l) => a + l.per_step.reduce((x, y) => x + y, 0), 0) ?? 0;
    return {
      train: u.history.at(-1), dnn: u.dnnEval, conv: u.convert?.evaluation, sweep: u.sweep, finetuned: u.finetuned, ft: u.ft,
      snn: u.snnEval?.evaluation, walk: u.walk && { alphas: u.walk.alphas.length, hist: u.walk.hist.reduce((a, b) => a + b, 0), perT: u.walk.per_t.length },
      rasterSpikes, svgs,
    };
  });
  console.log(JSON.stringify({ train: s.train, dnn: s.dnn, conv_acc: s.conv?.accuracy, finetuned: s.finetuned, snn_acc: s.snn?.accuracy, ratio: s.snn?.energy?.ratio }, null, 0));
  check(s.train && s.train.test_acc > 0.5, `1. training curves: DNN test accuracy ${s.train?.test_acc} > 0.5 (chance 0.1)`);
  await page.screenshot({ path: join(outDir, "after-demo.png"), fullPage: true });
  const glance = await page.evaluate(() => Object.fromEntries(["sum-dnn", "sum-snn", "sum-t", "sum-spikes", "sum-energy"].map((id) => [id, document.getElementById(id).textContent])));
  check(Object.values(glance).every((v) => v !== "–") && glance["sum-snn"] === (100 * s.snn?.accuracy).toFixed(1) + " %", `the summary after the demo: ${JSON.stringify(glance)}`);
  const strip = await page.evaluate(() => document.querySelectorAll("#data-strip canvas").length);
  check(strip === 10, `the data view shows the first ${strip} test images`);
  check(s.dnn && s.dnn.accuracy > 0.5 && s.dnn.images === plan.test_images, `DNN evaluation on the plan's ${plan.test_images} test images: ${s.dnn?.accuracy}`);
  check(s.walk && s.walk.alphas > 1 && s.walk.hist > 0 && s.walk.perT === 8, `2. walkthrough: ${s.walk?.alphas} alpha candidates, ${s.walk?.hist} values in the histogram, 8 T's`);
  check(s.conv && s.conv.accuracy > 0.1, `converted SNN (alpha-beta, T=2) accuracy ${s.conv?.accuracy} > 0.1`);
  check(s.sweep.length === 28 && s.sweep.some((r) => r.accuracy > 0.3), `3. sweep: ${s.sweep.length} points, best ${Math.max(...s.sweep.map((r) => r.accuracy))}`);
  check(["alpha-beta+half", "qcfs"].every((m) => s.sweep.filter((r) => r.method === m).length === 4), `3. the sweep has the half-threshold start and QCFS at 4 T's each`);
  check(s.ft.length === 1 && s.finetuned.length === 4 && s.finetuned.every((r) => r.accuracy > 0.1), `3. after fine-tuning: ${s.finetuned.map((r) => r.t + ":" + r.accuracy.toFixed(3)).join(" ")}`);
  check(s.snn && s.snn.accuracy > 0.3, `fine-tuned SNN accuracy ${s.snn?.accuracy} > 0.3`);
  if (plan.start === "bundled") {
    // Issue 22 item 6: from the bundled model, the sized demo's SNN reaches 97 % on MNIST.
    const wall = Object.values(await page.evaluate(() => window.ultraspike.timings)).reduce((a, b) => a + b, 0);
    check(s.snn.accuracy >= 0.97 && s.conv.accuracy >= 0.97, `the demo from the bundled model: converted SNN ${s.conv.accuracy}, fine-tuned ${s.snn.accuracy} >= 0.97 at T = 2, in ${wall.toFixed(0)} s (planned ${plan.estimated_seconds.toFixed(0)} s)`);
  }
  check(s.snn && s.snn.total_spikes_per_image > 0 && s.snn.layers.every((l) => l.spikes_per_image > 0), `4. spikes: ${s.snn?.total_spikes_per_image} per image, every layer > 0`);
  check(s.rasterSpikes > 0, `4. raster: ${s.rasterSpikes} spikes for test image 0`);
  check(s.snn?.energy && s.snn.energy.ratio > 1 && s.snn.energy.truenorth > 0, `5. energy: DNN/SNN ratio ${s.snn?.energy?.ratio} > 1`);
  for (const [id, n] of s.svgs) check(n > 5, `view ${id} drawn (${n} SVG elements)`);
  // Spike maps of test image 0 and the drawing pad: the test image put on the pad is classified as the test image.
  const maps = await page.evaluate(() => {
    const m = window.ultraspike.spikeMaps;
    return m && { layers: m.layers.map((l) => l.shape.join("x")), predicted: m.predicted, label: m.label, t: m.t, last: m.scores.at(-1), grid: [document.getElementById("sm-grid").width, document.getElementById("sm-grid").height], spikes: m.layers.reduce((a, l) => a + l.spikes.reduce((x, y) => x + y, 0), 0) };
  });
  check(maps && maps.layers.length > 1 && maps.spikes > 0 && maps.grid[0] > 0 && maps.t === 2 && maps.last.length === 10, `spike maps of test image 0: layers ${maps?.layers.join(", ")}, ${maps?.spikes} spikes, grid ${maps?.grid.join("x")} px, prediction ${maps?.predicted} (label ${maps?.label})`);
  await page.fill("#img-index", "0");
  await page.click("#pad-from-test");
  await page.waitForFunction(() => document.body.dataset.state !== "busy", null, { timeout: 120_000 });
  const padded = await page.evaluate(() => window.ultraspike.padMaps && { predicted: window.ultraspike.padMaps.predicted, label: window.ultraspike.padMaps.label, last: window.ultraspike.padMaps.scores.at(-1), ms: window.ultraspike.padMaps.ms });
  check(padded && padded.label === null && padded.predicted === maps?.predicted && JSON.stringify(padded.last) === JSON.stringify(maps?.last), `drawing pad with test image 0's pixels: prediction ${padded?.predicted} = ${maps?.predicted}, same scores, in ${padded?.ms?.toFixed(0)} ms`);
  const box = await page.locator("#pad").boundingBox();
  await page.click("#pad-clear");
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.15);
  await page.mouse.down();
  for (const [fx, fy] of [[0.5, 0.5], [0.52, 0.85]]) await page.mouse.move(box.x + box.width * fx, box.y + box.height * fy, { steps: 8 });
  await page.mouse.up();
  await page.waitForFunction(() => /SNN predicts/.test(document.getElementById("pad-info").textContent) && document.body.dataset.state !== "busy", null, { timeout: 120_000 });
  const padInfo = (await page.textContent("#pad-info")).trim();
  check(/SNN predicts \d/.test(padInfo) && (await page.getAttribute("body", "data-state")) === "idle", `a drawn stroke is classified: ${padInfo}`);
  await page.locator("#view-spikes").screenshot({ path: join(outDir, "view-spike-maps.png") });
  for (const v of ["train", "convert", "sweep", "spikes", "energy"]) await page.locator(`#view-${v}`).screenshot({ path: join(outDir, `view-${v}.png`) });
  await page.screenshot({ path: join(outDir, "1-after-demo.png"), fullPage: true });

  // Nothing lost: the trained DNN downloads as a safetensors file.
  const [dl] = await Promise.all([page.waitForEvent("download"), page.click("#download-dnn")]);
  const saved = join(outDir, "page-dnn.safetensors");
  await dl.saveAs(saved);
  check((await stat(saved)).size > 1000, `DNN download: ${(await stat(saved)).size} bytes`);
  if (/avg/.test(plan.model)) {
    // An avg-pool SNN (the bundled model's) exports as NIR (HDF5).
    const [nirDl] = await Promise.all([page.waitForEvent("download"), page.click("#download-nir")]);
    const demoNir = join(outDir, "page-demo-snn.nir");
    await nirDl.saveAs(demoNir);
    const head = (await readFile(demoNir)).subarray(0, 8);
    check(head.equals(Buffer.from("\x89HDF\r\n\x1a\n", "latin1")), `NIR export of the demo's ${plan.model} SNN: ${(await stat(demoNir)).size} bytes of HDF5`);
  } else {
    // NIR has no max-pool: exporting the demo's vgg-tiny SNN is refused with the layer's name
    // (tests/nir_export.rs checks the rule itself).
    await page.evaluate(() => { document.body.dataset.state = "reset"; });
    await page.click("#download-nir");
    await page.waitForFunction(() => ["idle", "error"].includes(document.body.dataset.state), null, { timeout: 60_000 });
    const nirRefused = (await page.textContent("#status")).trim();
    check((await page.getAttribute("body", "data-state")) === "error" && /max.?pool/i.test(nirRefused) && /features\.\d/.test(nirRefused), `NIR export of a max-pool SNN refused: ${nirRefused.replace(/\n/g, " / ")}`);
  }

  // A reload restores the models, the calibration and every view from IndexedDB.
  const snapshotViews = () => page.evaluate(() => ({
    st: window.ultraspike.pipeline(),
    svgs: Object.fromEntries([...document.querySelectorAll(".plot-host")].map((h) => [h.id, h.querySelectorAll("svg *").length])),
    infos: ["dnn-info", "convert-info", "snn-info"].map((id) => document.getElementById(id).textContent),
  }));
  const beforeReload = await snapshotViews();
  await page.reload();
  await page.waitForFunction(() => document.body.dataset.restored && document.body.dataset.state !== "busy", null, { timeout: 300_000, polling: 500 });
  const afterReload = await snapshotViews();
  const restoredMsg = (await page.textContent("#status")).trim();
  check(JSON.stringify(afterReload.st) === JSON.stringify(beforeReload.st) && /restored the session/.test(restoredMsg), `reload restores the pipeline: ${JSON.stringify(afterReload.st)} (${restoredMsg})`);
  const redrawn = Object.entries(beforeReload.svgs).filter(([id, n]) => n > 5 && !(afterReload.svgs[id] > 5)).map(([id]) => id);
  check(redrawn.length === 0 && JSON.stringify(afterReload.infos) === JSON.stringify(beforeReload.infos), `reload redraws every view (${Object.keys(beforeReload.svgs).length - redrawn.length} of ${Object.keys(beforeReload.svgs).length}; missing: ${redrawn.join(", ") || "none"})`);
  await page.screenshot({ path: join(outDir, "1b-after-reload.png"), fullPage: true });
  // A second tab while this one is open: it neither restores this tab's saved session nor saves
  // over it (this tab holds it through a Web Lock), and says so.
  const tab2 = await page.context().newPage();
  await tab2.goto(url);
  await tab2.waitForFunction(() => document.body.dataset.restored && document.body.dataset.state !== "busy", null, { timeout: 120_000, polling: 500 });
  const tab2Seen = await tab2.evaluate(() => ({ owner: document.body.dataset.owner, restored: document.body.dataset.restored, st: window.ultraspike.pipeline(), status: document.getElementById("status").textContent.trim() }));
  check(tab2Seen.owner === "no" && tab2Seen.restored === "no" && !tab2Seen.st?.dnn && /another tab/i.test(tab2Seen.status), `a second tab does not restore the first's session and says why: ${JSON.stringify(tab2Seen)}`);
  // It starts empty, and every empty view says what will fill it.
  const hints = await tab2.evaluate(() => [...document.querySelectorAll(".plot-host, .strip")].filter((h) => !h.children.length).map((h) => getComputedStyle(h, "::before").content.length > 20));
  check(hints.length > 5 && hints.every(Boolean), `an empty tab: each of ${hints.length} empty views says what will fill it`);
  // Work in the second tab (loading data saves the session in the tab that owns it) leaves the
  // saved record alone.
  const savedAt = (p) => p.evaluate(() => new Promise((ok) => {
    const r = indexedDB.open("ultraspike", 1);
    r.onerror = () => ok(null);
    r.onsuccess = () => { const g = r.result.transaction("session").objectStore("session").get("last"); g.onsuccess = () => { ok(g.result?.savedAt ?? null); r.result.close(); }; g.onerror = () => ok(null); };
  }));
  const savedBefore = await savedAt(page);
  await tab2.fill("#train-n", "200");
  await tab2.fill("#test-n", "100");
  await tab2.click("#load-bundled");
  await tab2.waitForFunction(() => document.body.dataset.state === "idle" && /100 test/.test(document.getElementById("data-info").textContent), null, { timeout: 120_000 });
  const savedAfter = await savedAt(tab2);
  check(savedBefore !== null && savedAfter === savedBefore, `the second tab's work does not overwrite the first tab's saved session (saved at ${savedBefore}, after: ${savedAfter})`);
  await tab2.close();
  check((await page.getAttribute("body", "data-owner")) === "yes", "the first tab still owns the saved session");
  await page.click("#eval-snn");
  await page.waitForFunction(() => document.body.dataset.state !== "busy", null, { timeout: 300_000, polling: 500 });
  const reloadedAcc = await page.evaluate(() => window.ultraspike.snnEval?.evaluation.accuracy);
  check(reloadedAcc === s.snn?.accuracy, `the restored SNN evaluates as before the reload: ${reloadedAcc} vs ${s.snn?.accuracy}`);

  // Retrain (the native tests/pipeline_scenario.rs drives the same scenario): the new DNN drops the old
  // one's calibration and the SNN converted from it, and the page's buttons follow the session's state.
  const before = await page.evaluate(() => window.ultraspike.pipeline());
  check(before?.calibrated && before.snn?.origin === "converted", `before retraining: calibrated, a converted SNN (${JSON.stringify(before)})`);
  await page.fill("#epochs", "1");
  await page.selectOption("#act-levels", "4"); // the new DNN is trained with QCFS, L = 4
  await page.evaluate(() => { document.body.dataset.state = "reset"; });
  await page.click("#train");
  await page.waitForFunction(() => ["idle", "error"].includes(document.body.dataset.state), null, { timeout: 600_000, polling: 1000 });
  const after = await page.evaluate(() => ({ st: window.ultraspike.pipeline(), sweep: document.getElementById("sweep").disabled, ft: document.getElementById("finetune").disabled,
    stale: [window.ultraspike.snnEval, window.ultraspike.raster, window.ultraspike.ft.length, window.ultraspike.finetuned.length, document.getElementById("sum-snn").textContent] }));
  check(JSON.stringify(after.stale) === JSON.stringify([null, null, 0, 0, "–"]), `after retraining no view keeps the old SNN (evaluation, raster, fine-tuning, summary): ${JSON.stringify(after.stale)}`);
  check(after.st?.dnn_epoch === 1 && !after.st.calibrated && after.st.snn === null && after.sweep && after.ft, `after retraining: a new 1-epoch DNN, no calibration, no SNN, sweep and fine-tune disabled (${JSON.stringify(after)})`);
  await page.selectOption("#method", "qcfs");
  await page.evaluate(() => { document.body.dataset.state = "reset"; });
  await page.click("#convert");
  await page.waitForFunction(() => ["idle", "error"].includes(document.body.dataset.state), null, { timeout: 600_000, polling: 1000 });
  const reconv = await page.evaluate(() => ({ st: window.ultraspike.pipeline(), acc: window.ultraspike.convert?.evaluation.accuracy,
    method: window.ultraspike.convert?.method, levels: window.ultraspike.walk?.act_levels, info: document.getElementById("convert-info").textContent }));
  check(reconv.st?.calibrated && reconv.st.snn?.origin === "converted" && reconv.acc > 0.1, `the new DNN calibrates and converts: SNN accuracy ${reconv.acc}`);
  check(reconv.method === "qcfs" && reconv.levels === 4 && reconv.info.startsWith("qcfs at T=2"), `the QCFS DNN (L=4) converted with qcfs: ${JSON.stringify(reconv)}`);
  await page.locator("#view-convert").screenshot({ path: join(outDir, "view-convert-qcfs.png") });
  await page.selectOption("#method", "alpha-beta");
  await page.selectOption("#act-levels", "");

  // Cancel acts before the next batch (the session's cancel handle), not after the page's slice of up to 32.
  const batchMs = (64 / (await page.evaluate(() => window.ultraspike.history.at(-1).images_per_s))) * 1000;
  await page.fill("#epochs", "5");
  await page.click("#train");
  await page.waitForFunction(() => /batch [1-9]/.test(document.getElementById("progress-text").textContent), null, { timeout: 120_000, polling: 100 });
  await page.waitForTimeout(300);
  const cancelMs = await page.evaluate(() => new Promise((ok) => {
    const t = performance.now();
    document.getElementById("cancel").click();
    const poll = () => (document.body.dataset.state === "busy" ? setTimeout(poll, 5) : ok(performance.now() - t));
    poll();
  }));
  const cancelMsg = (await page.textContent("#status")).trim();
  check(/cancelled/.test(cancelMsg) && cancelMs < 2 * batchMs + 1000, `cancel stopped training in ${cancelMs.toFixed(0)} ms (one batch: ${batchMs.toFixed(0)} ms): ${cancelMsg}`);
  await page.fill("#epochs", "1");

  // A malformed upload gives a clear message, not a crash.
  await page.setInputFiles("#upload-ckpt", { name: "bad.safetensors", mimeType: "application/octet-stream", buffer: Buffer.from("not a checkpoint") });
  await page.waitForFunction(() => document.body.dataset.state === "error", null, { timeout: 30_000 });
  const msg = (await page.textContent("#status")).trim();
  check(/could not be read|checkpoint/i.test(msg), `malformed upload message: ${msg}`);

  if (process.env.CKPT) {
    // The CLI evaluated the first 500 test images: load those.
    await page.fill("#test-n", "500");
    await page.click("#load-bundled");
    await page.waitForFunction(() => document.body.dataset.state === "idle" && /500 test/.test(document.getElementById("data-info").textContent), null, { timeout: 120_000 });
    await page.setInputFiles("#upload-ckpt", process.env.CKPT);
    await page.waitForFunction(() => document.body.dataset.state === "idle", null, { timeout: 60_000 });
    await page.click("#eval-dnn");
    await page.waitForFunction(() => document.body.dataset.state !== "busy", null, { timeout: 300_000 });
    const acc = Number(await page.getAttribute("#dnn-info", "data-accuracy"));
    const cli = Number(process.env.CLI_ACC);
    // Same weights, same 500 images, same batch-100 evaluation: equal up to a
    // near-tie flipping between GPUs (lavapipe vs SwiftShader): 1 image = 0.002.
    check(Math.abs(acc - cli) <= 0.002 + 1e-6, `CLI checkpoint in the page: accuracy ${acc} vs \`ultraspike eval\` ${cli} (tolerance 1 image of 500)`);
    await page.screenshot({ path: join(outDir, "2-cli-checkpoint.png"), fullPage: true });
    // The same weights as a plain PyTorch state dict (metadata removed): read as the chosen model.
    await page.selectOption("#model", "vgg-tiny");
    await page.setInputFiles("#upload-ckpt", { name: "state_dict.safetensors", mimeType: "application/octet-stream", buffer: withoutMetadata(await readFile(process.env.CKPT)) });
    await page.waitForFunction(() => document.body.dataset.state !== "busy", null, { timeout: 60_000 });
    const bareInfo = (await page.textContent("#dnn-info")).trim();
    await page.click("#eval-dnn");
    await page.waitForFunction(() => document.body.dataset.state !== "busy", null, { timeout: 300_000 });
    const bareAcc = Number(await page.getAttribute("#dnn-info", "data-accuracy"));
    check(/plain state dict/.test(bareInfo) && bareAcc === acc, `a bare state dict read as vgg-tiny: ${bareInfo}; accuracy ${bareAcc} (with metadata: ${acc})`);
  }
  if (process.env.SNN_AVG && process.env.NIR_CLI) {
    // One rule, two faces: the page's NIR export of an avg-pool SNN is the CLI's file, byte for byte.
    await page.setInputFiles("#upload-ckpt", process.env.SNN_AVG);
    await page.waitForFunction(() => document.body.dataset.state !== "busy", null, { timeout: 60_000 });
    const [nirDl] = await Promise.all([page.waitForEvent("download"), page.click("#download-nir")]);
    const nirPath = join(outDir, "page-snn.nir");
    await nirDl.saveAs(nirPath);
    const [pageNir, cliNir] = [await readFile(nirPath), await readFile(process.env.NIR_CLI)];
    check(pageNir.subarray(0, 8).equals(Buffer.from("\x89HDF\r\n\x1a\n", "latin1")) && pageNir.equals(cliNir), `the page's NIR export (${pageNir.length} bytes, HDF5) equals \`ultraspike export --format nir\`'s (${cliNir.length} bytes)`);
  }
  check(consoleErrors.length === 0, `no console errors (${consoleErrors.length}${consoleErrors.length ? ": " + consoleErrors.join(" | ") : ""})`);
  }

  // A long session leaks nothing: 30 cycles of convert, evaluate, spike maps and classify (on 100
  // test images) leave the engine's live buffers and bytes where the first cycle left them; the
  // module's memory and the page's JS heap (after a collection) grow by less than 10 %.
  await page.fill("#train-n", "200");
  await page.fill("#test-n", "100");
  await page.evaluate(() => { document.body.dataset.state = "reset"; });
  await page.click("#load-bundled");
  await page.waitForFunction(() => document.body.dataset.state === "idle" && /100 test/.test(document.getElementById("data-info").textContent), null, { timeout: 120_000 });
  await page.evaluate(() => { document.body.dataset.state = "reset"; });
  await page.click("#convert");
  await page.waitForFunction(() => ["idle", "error"].includes(document.body.dataset.state), null, { timeout: 300_000, polling: 500 });
  const cdp = await page.context().newCDPSession(page);
  const heap = async () => { await cdp.send("HeapProfiler.collectGarbage"); return (await cdp.send("Runtime.getHeapUsage")).usedSize; };
  const cycles = (n) => page.evaluate(async (n) => {
    const s = window.ultraspike.session;
    const pixels = new Uint8Array((await s.test_image(1)).pixels);
    const rows = [];
    for (let i = 0; i < n; i++) {
      await s.convert("alpha-beta", 2);
      await s.evaluate_snn(0);
      await s.spike_maps(0, null, 0);
      await s.classify(pixels, "snn");
      rows.push(await s.live_buffers());
    }
    return rows;
  }, n);
  const tLeak = Date.now();
  const [first] = await cycles(1);
  const heap0 = await heap();
  const rows = await cycles(30);
  const heap1 = await heap();
  const flat = rows.every((r) => r.buffers === first.buffers && r.bytes === first.bytes);
  check(flat && first.buffers > 0, `30 cycles keep the live GPU buffers at ${first.buffers} (${first.bytes} bytes): ${flat ? "flat" : JSON.stringify(rows.map((r) => [r.buffers, r.bytes]))} (${((Date.now() - tLeak) / 1000).toFixed(0)} s)`);
  const wasmGrowth = rows.at(-1).wasm_memory_bytes / first.wasm_memory_bytes - 1;
  check(wasmGrowth < 0.1, `module memory over 30 cycles: ${first.wasm_memory_bytes} -> ${rows.at(-1).wasm_memory_bytes} bytes (+${(100 * wasmGrowth).toFixed(1)} %)`);
  check(heap1 / heap0 - 1 < 0.1, `page JS heap over 30 cycles: ${heap0} -> ${heap1} bytes (+${(100 * (heap1 / heap0 - 1)).toFixed(1)} %)`);

  // Bring-your-own CIFAR-10: the official .tar.gz through the URL field, and
  // loose .bin files through the file picker.
  await page.fill("#train-n", "0");
  await page.fill("#test-n", "0");
  const cifarLoaded = async () => {
    await page.waitForFunction(() => document.body.dataset.state !== "busy", null, { timeout: 60_000 });
    return [(await page.getAttribute("body", "data-state")), (await page.textContent("#data-info")).trim(), (await page.textContent("#status")).trim()];
  };
  const cifarInfo = "cifar10: 40 train / 20 test images, 3x32x32, 10 classes";
  await page.fill("#data-url", url + "test-data/cifar-10-binary.tar.gz");
  await page.evaluate(() => { document.body.dataset.state = "reset"; });
  await page.click("#load-url");
  const [urlState, urlInfo, urlStatus] = await cifarLoaded();
  check(urlState === "idle" && urlInfo === cifarInfo, `CIFAR-10 .tar.gz by URL: ${urlInfo} (${urlStatus})`);
  await page.evaluate(() => { document.body.dataset.state = "reset"; });
  await page.setInputFiles("#upload-data", [
    { name: "data_batch_1.bin", mimeType: "application/octet-stream", buffer: cifarTrain },
    { name: "test_batch.bin", mimeType: "application/octet-stream", buffer: cifarTest },
  ]);
  const [upState, upInfo, upStatus] = await cifarLoaded();
  check(upState === "idle" && upInfo === cifarInfo, `CIFAR-10 .bin files by upload: ${upInfo} (${upStatus})`);
  // A truncated record is refused with the file's name, and the loaded data stays.
  await page.evaluate(() => { document.body.dataset.state = "reset"; });
  await page.setInputFiles("#upload-data", [
    { name: "data_batch_1.bin", mimeType: "application/octet-stream", buffer: cifarTrain },
    { name: "test_batch.bin", mimeType: "application/octet-stream", buffer: cifarTest.subarray(0, 3073 * 3 + 100) },
  ]);
  const [badState, badInfo, badStatus] = await cifarLoaded();
  check(badState === "error" && /test_batch\.bin/.test(badStatus) && /3073/.test(badStatus) && badInfo === cifarInfo, `truncated CIFAR file: ${badStatus.replace(/\n/g, " / ")}`);

  // Error paths, last (a lost device ends the session). Each must reach the
  // status line as the page's explanation, with the page still alive.
  const failWith = async (button) => {
    await page.evaluate(() => { document.body.dataset.state = "reset"; });
    await page.click(button);
    await page.waitForFunction(() => ["error", "idle", "recovered"].includes(document.body.dataset.state), null, { timeout: 120_000 });
    return [(await page.getAttribute("body", "data-state")), (await page.textContent("#status")).trim()];
  };
  // A model config asking for 2e9 channels: refused in under a second, naming the layer (no allocation).
  const huge = { name: "huge", input: [3, 32, 32], classes: 10, layers: [{ conv: { out: 2000000000, k: 3, stride: 1, pad: 1 } }, { flatten: null }, { linear: { out: 10 } }] };
  await page.evaluate(() => { document.body.dataset.state = "reset"; });
  await page.setInputFiles("#model-json", { name: "huge.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify(huge)) });
  await page.waitForFunction(() => ["error", "idle"].includes(document.body.dataset.state), null, { timeout: 30_000 });
  const t0 = Date.now();
  const [hugeState, hugeMsg] = await failWith("#train");
  const hugeMs = Date.now() - t0;
  check(hugeState === "error" && /layer 0 \(conv\)/.test(hugeMsg) && hugeMs < 1500, `2e9-channel model config refused in ${hugeMs} ms: ${hugeMsg.replace(/\n/g, " / ")}`);
  await page.selectOption("#model", "vgg-small");
  await page.fill("#epochs", "1");
  await page.fill("#batch", "200000");
  const [tooLargeState, tooLarge] = await failWith("#train");
  check(tooLargeState === "error" && /too large for this GPU's limits/.test(tooLarge) && /device allows at most/.test(tooLarge), `batch over the device limits: ${tooLarge.replace(/\n/g, " / ")}`);
  await page.fill("#batch", "16");
  // The session (and its device) lives in the page's Worker: lose it through the page's test hook.
  const devices = await page.evaluate(() => window.ultraspike.loseDevice());
  const [lostState, lost] = await failWith("#train");
  check(devices > 0 && lostState === "recovered" && /GPU device was lost/.test(lost) && /A new device was opened/.test(lost) && !/shader|GPU error/.test(lost), `lost device (${devices} destroyed), recovered without a reload: ${lost.replace(/\n/g, " / ")}`);
  // The new device carries on: the restored session trains on the data it had.
  const recoveredSt = await page.evaluate(() => window.ultraspike.pipeline());
  const [againState, again] = await failWith("#train");
  const trainedSt = await page.evaluate(() => window.ultraspike.pipeline());
  check(recoveredSt?.data?.train === 40 && againState === "idle" && trainedSt?.dnn_epoch === 1 && devices > 0, `after the recovery: data ${JSON.stringify(recoveredSt?.data)}, training again: ${again.replace(/\n/g, " / ")}`);
  check(!consoleErrors.some((e) => e.startsWith("pageerror")), "no uncaught exception or panic in the error paths");
} catch (e) {
  failures.push(String(e));
  console.log("FAIL", e);
  await page.screenshot({ path: join(outDir, "failure.png"), fullPage: true }).catch(() => {});
} finally {
  await browser.close();
  server.close();
}
console.log(`e2e: ${failures.length ? "FAILED" : "passed"} in ${secs()}; screenshots in ${outDir}`);
process.exit(failures.length ? 1 : 0);
