// What each WGSL kernel costs to compile in headless Chromium's WebGPU (SwiftShader here): every
// shaders/*.wgsl file as a compute pipeline (createComputePipelineAsync, awaited one at a time),
// slowest first. Kernels with subgroup operations are skipped where the adapter has none. A
// network's first step pays this for each kernel it uses, and the tuner for each variant it times.
// Usage: node tests/e2e/compile-cost.mjs [filter-regex]
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { root, serve, launch } from "./harness.mjs";

const filter = new RegExp(process.argv[2] ?? ".");
const shaders = readdirSync(join(root, "shaders"))
  .filter((f) => f.endsWith(".wgsl") && filter.test(f))
  .map((f) => [f, readFileSync(join(root, "shaders", f), "utf8")]);
const server = await serve({}, process.env.DIST);
const { browser, page } = await launch();
await page.goto(`http://127.0.0.1:${server.address().port}/`);
const rows = await page.evaluate(async (shaders) => {
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error("no WebGPU adapter");
  const device = await adapter.requestDevice({ requiredLimits: { maxStorageBuffersPerShaderStage: adapter.limits.maxStorageBuffersPerShaderStage } });
  const out = [];
  for (const [name, code] of shaders) {
    if (/\bsubgroup[A-Z]\w*\s*\(|subgroup_invocation_id|subgroup_size/.test(code)) {
      out.push([name, null]);
      continue;
    }
    const t0 = performance.now();
    const module = device.createShaderModule({ code });
    await device.createComputePipelineAsync({ layout: "auto", compute: { module, entryPoint: "main" } });
    out.push([name, performance.now() - t0]);
  }
  return out;
}, shaders);
rows.sort((a, b) => (b[1] ?? -1) - (a[1] ?? -1));
for (const [name, ms] of rows) console.log(`${name.padEnd(44)} ${ms === null ? "skipped (subgroups)" : `${ms.toFixed(0)} ms`}`);
const total = rows.reduce((s, r) => s + (r[1] ?? 0), 0);
console.log(`total ${total.toFixed(0)} ms for ${rows.filter((r) => r[1] !== null).length} kernels`);
await browser.close();
server.close();
