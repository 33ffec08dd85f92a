// End-to-end test of the embedding example (examples/embed/) with the package
// `wasm-pack build --target web` made in pkg/: a third-party page that imports
// only pkg/ultraspike.js loads a checkpoint through its file input, classifies
// an image file (a PNG of MNIST test image 0), and, through the same package
// API, classifies the first 500 test images: the accuracy must be
// `ultraspike eval`'s on the same checkpoint and images.
// Usage: CKPT=cli-dnn.safetensors CLI_ACC=0.87 node tests/e2e/embed.mjs [--out test-output/e2e]
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, resolve, normalize } from "node:path";
import { chromium } from "playwright-core";

const root = resolve(new URL("../..", import.meta.url).pathname);
const outDir = resolve(root, process.argv.includes("--out") ? process.argv[process.argv.indexOf("--out") + 1] : "test-output/e2e");
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm" };
const IMAGES = 500;

/** The repository's examples/ and pkg/ as a static site (nothing else). */
function serve() {
  const server = createServer(async (req, res) => {
    let path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname));
    if (path.endsWith("/")) path += "index.html";
    const file = join(root, path);
    if (!/^\/(examples|pkg)\//.test(path) || !file.startsWith(root)) { res.writeHead(403).end(); return; }
    try {
      if (!(await stat(file)).isFile()) throw new Error("not a file");
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(await readFile(file));
    } catch {
      res.writeHead(404).end("not found");
    }
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

/** The first `n` MNIST test images (u8, 28x28) and labels from data/mnist. */
async function mnistTest(n) {
  const images = await readFile(join(root, "data/mnist/t10k-images-idx3-ubyte"));
  const labels = await readFile(join(root, "data/mnist/t10k-labels-idx1-ubyte"));
  return Array.from({ length: n }, (_, i) => ({ pixels: [...images.subarray(16 + 784 * i, 16 + 784 * (i + 1))], label: labels[8 + i] }));
}

const failures = [];
function check(cond, what) {
  console.log(`${cond ? "ok  " : "FAIL"} ${what}`);
  if (!cond) failures.push(what);
}

const server = await serve();
const url = `http://127.0.0.1:${server.address().port}/examples/embed/`;
const flags = JSON.parse(await readFile(join(root, "webdriver.json"), "utf8"))["goog:chromeOptions"].args.filter((a) => !a.startsWith("--headless"));
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", headless: true, args: flags });
const page = await browser.newPage({ viewport: { width: 900, height: 900 } });
const errors = [];
page.on("pageerror", (e) => errors.push(e.message));
page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
const statusIs = (re) => page.waitForFunction((src) => new RegExp(src).test(document.getElementById("status").textContent), re.source, { timeout: 120_000 });
try {
  const test = await mnistTest(IMAGES);
  await page.goto(url);
  await statusIs(/Choose a checkpoint|failed/);
  check(/Choose a checkpoint/.test(await page.textContent("#status")), `the example page opened a session: ${await page.textContent("#status")}`);
  await page.setInputFiles("#ckpt", process.env.CKPT);
  await statusIs(/Loaded|error|checkpoint/i);
  check(/Loaded .*dnn vgg-tiny/.test(await page.textContent("#status")), `checkpoint loaded: ${await page.textContent("#status")}`);
  // A PNG of test image 0, made by the browser's own encoder, through the image input.
  const png = await page.evaluate(async (px) => {
    const c = new OffscreenCanvas(28, 28);
    const img = c.getContext("2d").createImageData(28, 28);
    px.forEach((v, i) => img.data.set([v, v, v, 255], 4 * i));
    c.getContext("2d").putImageData(img, 0, 0);
    return [...new Uint8Array(await (await c.convertToBlob({ type: "image/png" })).arrayBuffer())];
  }, test[0].pixels);
  await page.setInputFiles("#image", { name: "digit.png", mimeType: "image/png", buffer: Buffer.from(png) });
  await statusIs(/Classified|rror/);
  const shown = (await page.textContent("#result")).trim();
  const direct = await page.evaluate(async (px) => (await window.embed.session.classify(new Uint8Array(px), "auto")).predicted, test[0].pixels);
  check(shown === `DNN: class ${direct}`, `the PNG through the page: "${shown}"; the raw pixels through the API: class ${direct} (label ${test[0].label})`);
  await page.screenshot({ path: join(outDir, "embed.png"), fullPage: true });
  const t0 = Date.now();
  const correct = await page.evaluate(async (images) => {
    let ok = 0;
    for (const { pixels, label } of images) ok += (await window.embed.session.classify(new Uint8Array(pixels), "dnn")).predicted === label;
    return ok;
  }, test);
  const ms = (Date.now() - t0) / IMAGES;
  const cli = Number(process.env.CLI_ACC);
  // Batch 1 here, batch 100 in the CLI, lavapipe vs SwiftShader: a near-tie may flip (1 image = 0.002).
  check(Math.abs(correct / IMAGES - cli) <= 0.002 + 1e-6, `package API on ${IMAGES} test images: accuracy ${correct / IMAGES} vs \`ultraspike eval\` ${cli} (${ms.toFixed(1)} ms per image)`);
  const bad = await page.evaluate(async () => { try { await window.embed.session.classify(new Uint8Array(10), "dnn"); return "no error"; } catch (e) { return e.message; } });
  check(/10 pixels given/.test(bad), `wrong pixel count refused: ${bad}`);
  check(errors.length === 0, `no page errors (${errors.join(" | ")})`);
} catch (e) {
  failures.push(String(e));
  console.log("FAIL", e);
  await page.screenshot({ path: join(outDir, "embed-failure.png"), fullPage: true }).catch(() => {});
} finally {
  await browser.close();
  server.close();
}
console.log(`embed e2e: ${failures.length ? "FAILED" : "passed"}`);
process.exit(failures.length ? 1 : 0);
