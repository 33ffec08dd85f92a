// Time single WGSL kernels in headless Chromium's WebGPU (SwiftShader here) without building
// the wasm app: each case's shader is read from shaders/, its buffers are filled with the same
// pseudo-random values, and it is dispatched `REPS` times after warm-ups (median ms per
// dispatch, through onSubmittedWorkDone). Variants that compute the same output print the same
// hash of its bits (a quick check; the Rust checks in tests/checks are the real ones).
// Usage: node tests/e2e/kbench.mjs [filter-regex]     (REPS=5 BATCH=64)
import { mkdtempSync, writeFileSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root, serve, launch } from "./harness.mjs";

const N = +(process.env.BATCH ?? 64);
const REPS = +(process.env.REPS ?? 5);
const filter = new RegExp(process.argv[2] ?? ".");
const src = (f) => readFileSync(join(root, "shaders", f + ".wgsl"), "utf8");

// Conv params (conv2d_*.wgsl): n, c_in, h, w, c_out, k, stride, pad, out_h, out_w, tiles, rows_per.
function convCases(tag, ci, h, w, co) {
  const oh = h, ow = w;
  const X = N * ci * h * w, Y = N * co * oh * ow, W = co * ci * 9;
  const cp = (tiles, rows_per) => [N, ci, h, w, co, 3, 1, 1, oh, ow, tiles, rows_per];
  const tiles = Math.ceil((oh * ow) / 4);
  const grid1 = (threads, wg = 64) => { const g = Math.ceil(threads / wg); return g > 65535 ? [65535, Math.ceil(g / 65535)] : [g, 1]; };
  const out = [];
  // Direct forward: [gx, ceil(Co/8), gz].
  const [gx, gz] = grid1(N * tiles);
  out.push({ name: `${tag} fwd Direct`, key: `${tag} fwd`, wgsl: src("conv2d_forward"), bufs: [X, W, co, Y], out: 3, params: cp(tiles, 0), grid: [gx, Math.ceil(co / 8), gz], macs: N * co * oh * ow * ci * 9 });
  const itiles = Math.ceil((h * w) / 4);
  const [bx, bz] = grid1(N * itiles);
  out.push({ name: `${tag} bwd-in Direct`, key: `${tag} bwdin`, wgsl: src("conv2d_backward_input"), bufs: [Y, W, X], out: 2, params: cp(itiles, 0), grid: [bx, Math.ceil(ci / 8), bz], macs: N * co * oh * ow * ci * 9 });
  // Direct backward-weight: split-K as conv.rs does (8 channels per thread).
  const rs = ci * 9, gxw = Math.ceil(Math.ceil(rs / 4) / 64), blocks = Math.ceil(co / 8);
  const threads = gxw * 64 * blocks, rows = N * oh;
  const want = Math.min(Math.max(Math.ceil(8192 / threads), 1), rows);
  const rowsPer = Math.ceil(rows / want), splits = Math.ceil(rows / rowsPer);
  out.push({ name: `${tag} bwd-w Direct (${splits} splits, partial)`, key: `${tag} bwdw-part`, wgsl: src("conv2d_backward_weight"), bufs: [X, Y, splits * W], out: 2, params: cp(0, rowsPer), grid: [gxw, blocks, splits], macs: N * co * oh * ow * ci * 9 });
  // Register (conv2d_*_reg.wgsl): 32 channels per thread forward / backward-input; backward-weight
  // 16 channels x 8 weights per thread over Direct's slices, threads numbered densely.
  out.push({ name: `${tag} fwd Register`, key: `${tag} fwd`, wgsl: src("conv2d_forward_reg"), bufs: [X, W, co, Y], out: 3, params: cp(tiles, 0), grid: [gx, Math.ceil(co / 32), gz], macs: N * co * oh * ow * ci * 9 });
  out.push({ name: `${tag} bwd-in Register`, key: `${tag} bwdin`, wgsl: src("conv2d_backward_input_reg"), bufs: [Y, W, X], out: 2, params: cp(itiles, 0), grid: [bx, Math.ceil(ci / 32), bz], macs: N * co * oh * ow * ci * 9 });
  const [rx, rz] = grid1(Math.ceil(rs / 8) * Math.ceil(co / 16) * splits);
  out.push({ name: `${tag} bwd-w Register (${splits} splits, partial)`, key: `${tag} bwdw-part`, wgsl: src("conv2d_backward_weight_reg"), bufs: [X, Y, splits * W], out: 2, params: cp(0, rowsPer), grid: [rx, 1, rz], macs: N * co * oh * ow * ci * 9 });
  return out;
}

const dense = (rows, rn, cols, rc) => { const g = Math.ceil((Math.ceil(rows / rn) * Math.ceil(cols / rc)) / 64); return g > 65535 ? [65535, 1, Math.ceil(g / 65535)] : [g, 1, 1]; };

function linearCases(tag, inf, outf) {
  const p = [N, inf, outf, 0];
  const tg = (cols, rows) => [Math.ceil(Math.ceil(cols / 4) / 16), Math.ceil(Math.ceil(rows / 4) / 4), 1];
  const macs = N * inf * outf;
  return [
    { name: `${tag} fwd Plain`, key: `${tag} fwd`, wgsl: src("linear_forward"), bufs: [N * inf, outf * inf, outf, N * outf], out: 3, params: p, grid: tg(outf, N), macs },
    { name: `${tag} bwd-in Plain`, key: `${tag} bwdin`, wgsl: src("linear_backward_input"), bufs: [N * outf, outf * inf, N * inf], out: 2, params: p, grid: tg(inf, N), macs },
    { name: `${tag} bwd-w Plain`, key: `${tag} bwdw`, wgsl: src("linear_backward_weight"), bufs: [N * inf, N * outf, outf * inf], out: 2, params: p, grid: tg(inf, outf), macs },
    // Register (linear_*_reg.wgsl): rows x columns per thread as scripts/gen-register-wgsl.py sets them.
    { name: `${tag} fwd Register`, key: `${tag} fwd`, wgsl: src("linear_forward_reg"), bufs: [N * inf, outf * inf, outf, N * outf], out: 3, params: p, grid: dense(N, 16, outf, 4), macs },
    { name: `${tag} bwd-in Register`, key: `${tag} bwdin`, wgsl: src("linear_backward_input_reg"), bufs: [N * outf, outf * inf, N * inf], out: 2, params: p, grid: dense(N, 8, inf, 16), macs },
    { name: `${tag} bwd-w Register`, key: `${tag} bwdw`, wgsl: src("linear_backward_weight_reg"), bufs: [N * inf, N * outf, outf * inf], out: 2, params: p, grid: dense(outf, 8, inf, 8), macs },
  ];
}

// Layers (default: vgg-small's): CONVS="ci x co @ hw, ...", LINEARS="in x out, ...".
const CONVS = (process.env.CONVS ?? "1x32@28,32x64@14").split(",").filter(Boolean);
const LINEARS = (process.env.LINEARS ?? "3136x256").split(",").filter(Boolean);
let cases = [
  ...CONVS.flatMap((l) => { const [ci, co, hw] = l.split(/[x@]/).map(Number); return convCases(`conv${ci}x${co}@${hw}`, ci, hw, hw, co); }),
  ...LINEARS.flatMap((l) => { const [i, o] = l.split("x").map(Number); return linearCases(`lin${i}x${o}`, i, o); }),
];
// Experiments: CASES=/path/to/cases.mjs adds that module's `cases({ N, src })`.
if (process.env.CASES) cases = cases.concat((await import(process.env.CASES)).cases({ N, src }));
cases = cases.filter((c) => filter.test(c.name));

const dir = mkdtempSync(join(tmpdir(), "kbench-"));
writeFileSync(join(dir, "index.html"), "<!doctype html><title>kbench</title>");
const server = await serve({}, dir);
const { browser, page } = await launch();
await page.goto(`http://127.0.0.1:${server.address().port}/`);
const info = await page.evaluate(async () => {
  const a = await navigator.gpu.requestAdapter();
  const i = a.info ?? {};
  return `${i.vendor} ${i.architecture} ${i.device} ${i.description} subgroups=${a.features.has("subgroups")}`;
});
console.log(`adapter: ${info}; batch ${N}, ${REPS} reps`);
// CPU time of the browser's processes (SwiftShader runs in the GPU process): other engineers'
// load on this shared machine stretches wall time but not this.
function cpuMs() {
  let ticks = 0;
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, "utf8");
      if (!cmd.includes("chrom")) continue;
      const f = readFileSync(`/proc/${d}/stat`, "utf8").split(") ")[1].split(" ");
      ticks += +f[11] + +f[12];
    } catch {
      // a process that ended meanwhile
    }
  }
  return ticks * 10;
}
for (const c of cases) {
  const setup = await page.evaluate(async ({ c }) => {
    const a = await navigator.gpu.requestAdapter();
    const dev = await a.requestDevice({ requiredLimits: { maxStorageBuffersPerShaderStage: 8, maxStorageBufferBindingSize: a.limits.maxStorageBufferBindingSize } });
    const errs = [];
    dev.onuncapturederror = (e) => errs.push(e.error.message);
    const mod = dev.createShaderModule({ code: c.wgsl });
    const info = await mod.getCompilationInfo();
    const msgs = info.messages.filter((m) => m.type === "error").map((m) => `${m.lineNum}:${m.linePos} ${m.message}`);
    if (msgs.length) return { err: msgs.join("; ") };
    const pipe = dev.createComputePipeline({ layout: "auto", compute: { module: mod, entryPoint: "main" } });
    let seed = 12345;
    const rnd = () => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return ((seed >>> 8) / (1 << 24)) * 2 - 1; };
    const bufs = c.bufs.map((len, i) => {
      const b = dev.createBuffer({ size: Math.max(16, len * 4), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
      if (i !== c.out) { const d = new Float32Array(len); for (let j = 0; j < len; j++) d[j] = rnd(); dev.queue.writeBuffer(b, 0, d); }
      return b;
    });
    const u = dev.createBuffer({ size: Math.max(16, Math.ceil(c.params.length / 4) * 16), usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    dev.queue.writeBuffer(u, 0, new Uint32Array(c.params));
    const entries = bufs.map((b, i) => ({ binding: i, resource: { buffer: b } }));
    entries.push({ binding: bufs.length, resource: { buffer: u } });
    const bg = dev.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries });
    window.__k = { dev, pipe, bg, bufs, errs, c };
    window.__run = async (k) => {
      const enc = dev.createCommandEncoder();
      for (let i = 0; i < k; i++) { const p = enc.beginComputePass(); p.setPipeline(pipe); p.setBindGroup(0, bg); p.dispatchWorkgroups(...c.grid); p.end(); }
      dev.queue.submit([enc.finish()]);
      await dev.queue.onSubmittedWorkDone();
    };
    const t0 = performance.now();
    await window.__run(1);
    const first = performance.now() - t0;
    await window.__run(1);
    return { first };
  }, { c });
  if (setup.err) { console.log(`${c.name.padEnd(44)} ERROR ${setup.err}`); continue; }
  const cpu0 = cpuMs();
  const ms = await page.evaluate(async (REPS) => {
    const ms = [];
    for (let i = 0; i < REPS; i++) { const t = performance.now(); await window.__run(1); ms.push(performance.now() - t); }
    return ms.sort((x, y) => x - y);
  }, REPS);
  const cpu = (cpuMs() - cpu0) / REPS;
  const r = await page.evaluate(async () => {
    const { dev, bufs, errs, c } = window.__k;
    const rb = dev.createBuffer({ size: c.bufs[c.out] * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const enc = dev.createCommandEncoder();
    enc.copyBufferToBuffer(bufs[c.out], 0, rb, 0, c.bufs[c.out] * 4);
    dev.queue.submit([enc.finish()]);
    await rb.mapAsync(GPUMapMode.READ);
    const words = new Uint32Array(rb.getMappedRange().slice(0));
    let h = 2166136261 >>> 0;
    for (const w of words) h = Math.imul(h ^ w, 16777619) >>> 0;
    dev.destroy();
    return { hash: h.toString(16), errs };
  });
  const med = ms[ms.length >> 1];
  const gf = (2 * c.macs) / (med * 1e6);
  console.log(`${c.name.padEnd(44)} ${med.toFixed(1).padStart(7)} ms (best ${ms[0].toFixed(1).padStart(6)}, first ${setup.first.toFixed(0).padStart(5)})  ${gf.toFixed(2).padStart(5)} GFLOP/s  ${cpu.toFixed(0).padStart(5)} CPU-ms  ${((2 * c.macs) / (cpu * 1e6)).toFixed(2).padStart(5)} GFLOP/CPU-s  bits ${c.key}:${r.hash}${r.errs.length ? " ERR " + r.errs.join(";") : ""}`);
}
await browser.close();
server.close();
