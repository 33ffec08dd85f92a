// The spike-map view: for one image (a test image, or a digit drawn on the pad),
// every spiking layer's spike maps as a grid of channel tiles at one time step
// (or the firing rate over T), one channel's membrane potential per step (blue
// below 0, white at 0, red at V_th and above), and the output scores as they
// add up over the steps. Data: `Session.spike_maps` (src/pipeline/spikes.rs).
// Hover any tile for its values.
import { $, ctx2d, el } from "./dom.js";
import { lineChart, PALETTE } from "./plots.js";

/** @param {string} id a canvas's */
const canvas = (id) => el(id, HTMLCanvasElement);
const TILE_PX = 3; // screen pixels per neuron in a tile
const GAP = 2;

/** Tiles per row and tile geometry of a [C, H, W] (or [N]: one tile) layer. */
function layout(shape) {
  const [c, h, w] = shape.length === 3 ? shape : [1, 1, shape[0]];
  const cols = Math.max(1, Math.min(c, Math.floor(720 / (w * TILE_PX + GAP))));
  return { c, h, w, cols, rows: Math.ceil(c / cols), tw: w * TILE_PX + GAP, th: h * TILE_PX + GAP };
}

/**
 * A value per neuron of one channel-major map -> grayscale tiles on `cv`.
 * @param {HTMLCanvasElement} cv
 */
function drawTiles(cv, shape, value, color) {
  const g = layout(shape);
  cv.width = g.cols * g.tw;
  cv.height = g.rows * g.th;
  const ctx = ctx2d(cv);
  ctx.fillStyle = "#e5e7eb";
  ctx.fillRect(0, 0, cv.width, cv.height);
  const img = ctx.createImageData(cv.width, cv.height);
  img.data.set(ctx.getImageData(0, 0, cv.width, cv.height).data);
  for (let ch = 0; ch < g.c; ch++) {
    const ox = (ch % g.cols) * g.tw, oy = Math.floor(ch / g.cols) * g.th;
    for (let y = 0; y < g.h; y++) {
      for (let x = 0; x < g.w; x++) {
        const [r, gg, b] = color(value(ch * g.h * g.w + y * g.w + x));
        for (let dy = 0; dy < TILE_PX; dy++) {
          for (let dx = 0; dx < TILE_PX; dx++) {
            const p = 4 * ((oy + y * TILE_PX + dy) * cv.width + ox + x * TILE_PX + dx);
            img.data[p] = r; img.data[p + 1] = gg; img.data[p + 2] = b; img.data[p + 3] = 255;
          }
        }
      }
    }
  }
  ctx.putImageData(img, 0, 0);
  return g;
}

const gray = (v) => { const k = Math.round(255 * (1 - Math.max(0, Math.min(1, v)))); return [k, k, k]; };
/** Membrane in units of V_th: blue below 0, white at 0, red from V_th up. */
const diverging = (u) => {
  const k = Math.max(-1, Math.min(1, u));
  return k >= 0 ? [255, Math.round(255 * (1 - k)), Math.round(255 * (1 - k))] : [Math.round(255 * (1 + k)), Math.round(255 * (1 + k)), 255];
};

/**
 * The neuron under the mouse on a tile canvas, or null.
 * @param {HTMLCanvasElement} cv
 * @param {MouseEvent} ev
 */
function hit(cv, g, ev) {
  const r = cv.getBoundingClientRect();
  const px = ((ev.clientX - r.left) * cv.width) / r.width, py = ((ev.clientY - r.top) * cv.height) / r.height;
  const col = Math.floor(px / g.tw), row = Math.floor(py / g.th);
  const x = Math.floor((px - col * g.tw) / TILE_PX), y = Math.floor((py - row * g.th) / TILE_PX);
  const ch = row * g.cols + col;
  if (ch >= g.c || x >= g.w || y >= g.h) return null;
  return { ch, y, x, i: ch * g.h * g.w + y * g.w + x };
}

// The neuron (index inside the shown channel) whose steps the table shows, kept across redraws
// (a click on another channel's neuron re-fetches the maps for that channel first).
/** @type {number | null} */
let picked = null;

/** One neuron of the shown channel step by step, as the library computed it (no rule repeated here). */
function drawNeuron(maps, layer, ch, i) {
  const n = layer.membrane.length / maps.t;
  if (!(i >= 0 && i < n)) return;
  const per = layer.shape.reduce((a, b) => a * b, 1);
  const first = layer.shape.length === 3 ? ch * n : ch;
  const where = layer.shape.length === 3 ? `channel ${ch}, y ${Math.floor(i / layer.shape[2])}, x ${i % layer.shape[2]}` : `neuron ${ch}`;
  const f = (v) => v.toFixed(4);
  const rows = [`<tr><td>start</td><td></td><td></td><td></td><td></td><td>${f(layer.start)}</td></tr>`];
  for (let t = 0; t < maps.t; t++) {
    const k = t * n + i;
    const spike = layer.spikes[t * per + first + i];
    rows.push(`<tr><td>${t + 1}</td><td>${f(layer.current[k])}</td><td>${f(layer.membrane[k])}</td><td>${f(layer.vth)}</td><td>${spike ? "spike" : "-"}</td><td>${f(layer.after_reset[k])}${spike ? " (-V_th)" : ""}</td></tr>`);
  }
  $("sm-neuron").innerHTML = `<caption>${layer.name}, ${where}: u = ${f(layer.leak)} x u(previous) + current; a spike when u > V_th, then u - V_th</caption><tr><th>step</th><th>input current</th><th>membrane before reset</th><th>threshold V_th</th><th>spike</th><th>membrane after reset</th></tr>${rows.join("")}`;
  $("sm-neuron").dataset.neuron = `${layer.name}:${ch}:${i}`;
}

/** Draw `maps` for the layer and step chosen in the view's controls. */
export function drawSpikeMaps(maps) {
  const sel = el("sm-layer", HTMLSelectElement);
  if (sel.options.length !== maps.layers.length) sel.replaceChildren(...maps.layers.map((l, i) => new Option(`${l.name} [${l.shape.join("x")}]`, String(i))));
  const layer = maps.layers[+sel.value || 0];
  const step = $("sm-step");
  step.max = String(maps.t);
  const s = Math.min(+step.value, maps.t); // 0 = the rate over T
  $("sm-step-val").textContent = s === 0 ? `rate over T=${maps.t}` : `step ${s} of ${maps.t}`;
  const per = layer.shape.reduce((a, b) => a * b, 1);
  const spikeAt = (t, i) => layer.spikes[t * per + i];
  const rate = (i) => { let n = 0; for (let t = 0; t < maps.t; t++) n += spikeAt(t, i); return n / maps.t; };
  const value = s === 0 ? rate : (i) => spikeAt(s - 1, i);
  const grid = drawTiles(canvas("sm-grid"), layer.shape, value, gray);
  const mshape = layer.shape.length === 3 ? [maps.t, layer.shape[1], layer.shape[2]] : [maps.t];
  const mem = drawTiles(canvas("sm-membrane"), mshape.length === 3 ? mshape : [maps.t], (i) => layer.membrane[i] / layer.vth, diverging);
  const ch = layer.shape.length === 3 ? Math.min(maps.channel, layer.shape[0] - 1) : Math.min(maps.channel, per - 1);
  const fired = layer.spikes.reduce((a, b) => a + b, 0);
  $("sm-info").textContent = `${maps.label === null ? "drawn image" : `label ${maps.label}`}, SNN predicts ${maps.predicted}; ${layer.name}: ${fired} spikes over T (${(fired / (per * maps.t)).toFixed(3)} per neuron and step), V_th ${layer.vth.toFixed(3)}, leak ${layer.leak.toFixed(3)}; membrane: channel ${ch}, one tile per step`;
  $("sm-grid").onmousemove = (ev) => {
    const h = hit(canvas("sm-grid"), grid, ev);
    if (h) $("sm-hover").textContent = `channel ${h.ch} (y ${h.y}, x ${h.x}): ${s === 0 ? `rate ${rate(h.i).toFixed(2)}` : `spike ${spikeAt(s - 1, h.i)}`}; spikes per step ${Array.from({ length: maps.t }, (_, t) => spikeAt(t, h.i)).join("")}`;
  };
  $("sm-membrane").onmousemove = (ev) => {
    const h = hit(canvas("sm-membrane"), mem, ev);
    if (h) $("sm-hover").textContent = `channel ${ch}, step ${h.ch + 1} (y ${h.y}, x ${h.x}): membrane ${layer.membrane[h.i].toFixed(3)} (V_th ${layer.vth.toFixed(3)}); click: its steps`;
  };
  // Explain by pointing: a click on a neuron shows its steps (another channel's: fetched first).
  const pick = (i) => { picked = i; drawNeuron(maps, layer, ch, i); };
  $("sm-membrane").onclick = (ev) => { const h = hit(canvas("sm-membrane"), mem, ev); if (h) pick(layer.shape.length === 3 ? h.y * mem.w + h.x : 0); };
  $("sm-grid").onclick = (ev) => {
    const h = hit(canvas("sm-grid"), grid, ev);
    if (!h) return;
    const within = layer.shape.length === 3 ? h.y * grid.w + h.x : 0;
    const channel = layer.shape.length === 3 ? h.ch : h.i;
    if (channel === ch) return pick(within);
    picked = within;
    $("sm-channel").value = String(channel);
    $("sm-channel").dispatchEvent(new Event("change"));
  };
  if (picked !== null) drawNeuron(maps, layer, ch, picked);
  const classes = maps.scores[0]?.length ?? 0;
  lineChart($("plot-scores"), {
    series: Array.from({ length: classes }, (_, c) => ({
      name: c === maps.predicted ? `class ${c} (predicted)` : c < 10 ? `class ${c}` : "",
      color: c === maps.predicted ? PALETTE[1] : "#9ca3af",
      points: maps.scores.map((row, t) => [t + 1, row[c]]),
      dots: true,
    })),
    xLabel: "time step", yLabel: "output score (sum so far)", x: [1, Math.max(2, maps.t)],
    xTicks: Array.from({ length: maps.t }, (_, i) => i + 1).filter((t, _, all) => all.length <= 16 || t % Math.ceil(maps.t / 16) === 0),
  });
}

/** The drawing pad: white strokes on black at 10x, read back at the test images' size. */
export function setupPad(onDrawn) {
  const cv = canvas("pad");
  const ctx = ctx2d(cv);
  const clear = () => { ctx.fillStyle = "#000"; ctx.fillRect(0, 0, cv.width, cv.height); };
  clear();
  let down = false;
  /** The pointer's position in the pad's pixels. @param {PointerEvent} ev @returns {[number, number]} */
  const at = (ev) => { const r = cv.getBoundingClientRect(); return [((ev.clientX - r.left) * cv.width) / r.width, ((ev.clientY - r.top) * cv.height) / r.height]; };
  cv.addEventListener("pointerdown", (ev) => { down = true; cv.setPointerCapture(ev.pointerId); ctx.beginPath(); ctx.moveTo(...at(ev)); });
  cv.addEventListener("pointermove", (ev) => {
    if (!down) return;
    Object.assign(ctx, { strokeStyle: "#fff", lineWidth: cv.width / 12, lineCap: "round", lineJoin: "round" });
    ctx.lineTo(...at(ev));
    ctx.stroke();
  });
  cv.addEventListener("pointerup", () => { if (down) { down = false; onDrawn(); } });
  $("pad-clear").addEventListener("click", clear);
  return { clear };
}

/** The pad's picture as u8 pixels of h x w (1 channel): the mean of each block
 *  (the pad is an integer multiple of h x w, so a test image put on it comes back exactly). */
export function padPixels(h, w) {
  const cv = canvas("pad");
  const k = Math.floor(cv.width / w);
  const d = ctx2d(cv).getImageData(0, 0, cv.width, cv.height).data;
  const out = new Uint8Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let sum = 0;
      for (let dy = 0; dy < k; dy++) for (let dx = 0; dx < k; dx++) sum += d[4 * ((y * k + dy) * cv.width + x * k + dx)];
      out[y * w + x] = Math.round(sum / (k * k));
    }
  }
  return out;
}

/** Put a test image (u8 CHW, 1 channel) on the pad, scaled up. */
export function padShow(img) {
  const small = Object.assign(document.createElement("canvas"), { width: img.w, height: img.h });
  const ctx = ctx2d(small);
  const data = ctx.createImageData(img.w, img.h);
  for (let p = 0; p < img.w * img.h; p++) {
    data.data.set([img.pixels[p], img.pixels[p], img.pixels[p], 255], 4 * p);
  }
  ctx.putImageData(data, 0, 0);
  const pad = canvas("pad");
  const k = Math.floor(pad.width / img.w);
  const ctx2 = ctx2d(pad);
  ctx2.imageSmoothingEnabled = false;
  ctx2.drawImage(small, 0, 0, img.w * k, img.h * k);
}
