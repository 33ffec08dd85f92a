// The five views: each draws from the plain objects the wasm Session returns
// (kept in `state`, which the e2e test inspects), using plots.js.
import { $, ctx2d, el } from "./dom.js";
import { lineChart, barChart, heatmap, PALETTE, fmt } from "./plots.js";

export const SWEEP_T = [1, 2, 4, 8];
// The paper's method and its baselines, then what goes beyond it: the half-threshold start
// (any method: "+half") and QCFS (V_th = mu, start V_th/2; exact for a DNN trained with QCFS).
export const METHODS = ["alpha-beta", "alpha-beta-mse", "deng", "max-norm", "percentile", "alpha-beta+half", "qcfs"];

export function drawTraining(state) {
  const live = state.live;
  if (!live.length) return;
  const hist = state.history;
  lineChart($("plot-loss"), {
    series: [
      { name: "train loss (running)", color: PALETTE[0], points: live.map((p) => [p[0], p[1]]) },
      { name: "test loss", color: PALETTE[1], points: hist.map((r) => [r.epoch + 1, r.test_loss]), dots: true },
    ],
    xLabel: "epoch", yLabel: "loss", x: [0, Math.max(1, Math.ceil(live.at(-1)[0]))],
  });
  lineChart($("plot-acc"), {
    series: [
      { name: "train acc (running)", color: PALETTE[0], points: live.map((p) => [p[0], 100 * p[2]]) },
      { name: "test acc", color: PALETTE[1], points: hist.map((r) => [r.epoch + 1, 100 * r.test_acc]), dots: true },
    ],
    xLabel: "epoch", yLabel: "accuracy %", y: [0, 100], x: [0, Math.max(1, Math.ceil(live.at(-1)[0]))],
  });
}

/** The walkthrough of the chosen layer (fetched from the session once per layer and conversion). */
export async function drawWalkthrough(state, session) {
  const layer = +$("layer").value || 0;
  if (!state.walk || state.walkOf !== state.convert || state.walkLayer !== layer) {
    state.walk = await session.walkthrough(layer);
    [state.walkOf, state.walkLayer] = [state.convert, layer];
  }
  const w = state.walk;
  const T = +$("stair-t").value;
  $("stair-t-val").textContent = String(T);
  const [, sc] = w.per_t[T - 1];
  const mu = w.mu;
  const xmax = mu * 1.25;
  const N = 400;
  const xs = Array.from({ length: N + 1 }, (_, i) => (i / N) * xmax);
  // The average SNN output over T steps (paper eq. 5): (V/T) floor(T x / V) clipped, V = alpha*mu, height beta*V.
  // Starting at V_th/2 adds half a step before the floor: the staircase rounds instead of
  // truncating, so it straddles the clip (mean error 0) - and equals QCFS with L = T exactly.
  const stair = (x, a, b, start = 0) => { const v = a * mu; return (b * v / T) * Math.min(T, Math.max(0, Math.floor((T * x) / v + start))); };
  const L = w.act_levels;
  const dnn = L
    ? { name: `DNN QCFS, L=${L}`, color: "#111827", points: xs.map((x) => [x, mu * Math.min(1, Math.max(0, Math.floor((x * L) / mu + 0.5) / L))]) }
    : { name: "DNN clip(x, 0, mu)", color: "#111827", points: xs.map((x) => [x, Math.min(Math.max(x, 0), mu)]) };
  lineChart($("plot-stairs"), {
    series: [
      dnn,
      { name: "SNN, V_th = mu", color: PALETTE[1], points: xs.map((x) => [x, stair(x, 1, 1)]), dash: "5 4" },
      { name: "SNN, V_th = mu, start V_th/2", color: PALETTE[2], points: xs.map((x) => [x, stair(x, 1, 1, 0.5)]), dash: "2 3" },
      { name: `SNN, a=${sc.alpha.toFixed(2)} b=${sc.beta.toFixed(2)}`, color: PALETTE[0], points: xs.map((x) => [x, stair(x, sc.alpha, sc.beta)]) },
    ],
    xLabel: "pre-activation x", yLabel: "output (mean over T)", x: [0, xmax],
  });
  const bw = (w.hi - w.lo) / w.hist.length;
  const pts = [];
  w.hist.forEach((c, i) => { pts.push([w.lo + i * bw, c]); pts.push([w.lo + (i + 1) * bw, c]); });
  const f = lineChart($("plot-hist"), {
    series: [{ name: "", color: PALETTE[2], points: pts }],
    xLabel: `pre-activation (percentiles 1..99 as ticks; mu=${mu.toFixed(2)})`, yLabel: "count",
  });
  for (const p of w.percentiles) {
    const x = f.sx(p);
    const line = document.createElementNS("http://www.w3.org/2000/svg", "line");
    Object.entries({ x1: x, x2: x, y1: f.m.t + f.H - 10, y2: f.m.t + f.H, stroke: "#7c3aed" }).forEach(([k, v]) => line.setAttribute(k, String(v)));
    f.g.appendChild(line);
  }
  const mx = f.sx(mu);
  const ml = document.createElementNS("http://www.w3.org/2000/svg", "line");
  Object.entries({ x1: mx, x2: mx, y1: f.m.t, y2: f.m.t + f.H, stroke: "#dc2626", "stroke-dasharray": "4 3" }).forEach(([k, v]) => ml.setAttribute(k, String(v)));
  f.g.appendChild(ml);
  if (w.alphas.length > 1) {
    heatmap($("plot-heat"), { xs: w.betas, ys: w.alphas, z: w.loss, xLabel: `beta (T=${w.t}; blue: SNN below DNN, red: above)`, yLabel: "alpha", mark: [w.best.beta, w.best.alpha] });
  } else {
    $("plot-heat").textContent = "Fewer than two alpha candidates (percentiles in (0, mu]) for this layer.";
  }
  const sc2 = state.convert?.scalings ?? [];
  const diag = state.convert?.layers ?? [];
  barChart($("plot-err"), {
    labels: diag.map((d) => d.name),
    groups: [
      { name: "|loss| before (1, 1)", color: PALETTE[1], values: sc2.map((s) => Math.abs(s.loss_unscaled)) },
      { name: "|loss| after (a, b)", color: PALETTE[0], values: sc2.map((s) => Math.abs(s.loss)) },
      { name: "|DNN-SNN mean| measured", color: PALETTE[2], values: diag.map((d) => Math.abs(d.measured_error)) },
    ],
    yLabel: "error (log)", log: true,
  });
}

/**
 * @param {HTMLTableElement} elTable
 * @param {string[]} head
 * @param {(string | number)[][]} rows
 */
export function table(elTable, head, rows) {
  elTable.replaceChildren();
  const h = elTable.createTHead().insertRow();
  for (const c of head) h.appendChild(Object.assign(document.createElement("th"), { textContent: c }));
  const b = elTable.createTBody();
  for (const r of rows) {
    const tr = b.insertRow();
    for (const c of r) tr.insertCell().textContent = typeof c === "number" ? fmt(c) : c;
  }
}

export function drawConversionTable(state) {
  const r = state.convert;
  table(el("diag", HTMLTableElement), ["layer", "mu", "V_th", "alpha", "beta", "K(mu)", "h(T,mu)", "DNN mean", "SNN mean", "activity"],
    r.layers.map((d) => [d.name, d.mu, d.vth, d.alpha, d.beta, d.k_mu, d.h_t_mu, d.dnn_mean, d.snn_mean, d.activity]));
}

export function drawSweep(state) {
  // The sweep's methods, then any other point's (the first visit's qcfs+bias conversion).
  const names = [...new Set([...METHODS, ...state.sweep.map((r) => r.method)])];
  /** @type {import("./plots.js").Series[]} */
  const series = names.map((m, i) => ({
    name: m, color: PALETTE[i % PALETTE.length], dots: true,
    points: state.sweep.filter((r) => r.method === m).map((r) => [r.t, 100 * r.accuracy]),
  })).filter((s) => s.points.length);
  if (state.finetuned.length) series.push({ name: "alpha-beta + SGL", color: "#111827", width: 3.5, dots: true, points: state.finetuned.map((r) => [r.t, 100 * r.accuracy]) });
  if (state.convertDnnAcc != null) series.push({ name: "DNN", color: "#6b7280", dash: "6 4", points: [[1, 100 * state.convertDnnAcc], [8, 100 * state.convertDnnAcc]] });
  lineChart($("plot-sweep"), { series, xLabel: "time steps T", yLabel: "test accuracy %", x: [1, 8], y: [0, 100], xTicks: SWEEP_T, width: 860, height: 300 });
}

export function drawSpikes(ev) {
  barChart($("plot-activity"), {
    labels: ev.layers.map((l) => l.name),
    groups: [{ name: "spiking activity", color: PALETTE[4], values: ev.layers.map((l) => l.activity) }],
    yLabel: "spikes / neuron / image",
  });
}

/** One layer's energy arithmetic (a click in the energy chart): what the DNN and the SNN pay. */
export function explainEnergyLayer(e, i) {
  const l = e.layers[i];
  const pj = (v) => (v >= 1e6 ? `${fmt(v / 1e6)} µJ` : v >= 1e3 ? `${fmt(v / 1e3)} nJ` : `${fmt(v)} pJ`);
  const dnn = `DNN: ${fmt(l.dnn_macs)} MACs per image (one per synapse) x E_MAC ${e.e_mac_pj} pJ = ${pj(l.dnn_pj)}.`;
  const snn = l.analog
    ? `SNN: this layer sees the analog image, so it does its ${fmt(l.dnn_macs)} MACs at each of the T = ${e.t} steps: ${fmt(l.snn_ops)} MACs x E_MAC ${e.e_mac_pj} pJ = ${pj(l.snn_pj)}.`
    : `SNN: one accumulate per incoming spike and synapse it reaches, summed over the T = ${e.t} steps: ${fmt(l.snn_ops)} ACs x E_AC ${e.e_ac_pj} pJ = ${pj(l.snn_pj)}.`;
  const r = l.dnn_pj / l.snn_pj;
  const ratio = !(l.snn_pj > 0) ? "No spike reaches this layer: the SNN pays nothing here." : r >= 1 ? `The SNN pays ${fmt(r)}x less here.` : `The SNN pays ${fmt(1 / r)}x more here (T times the DNN's MACs).`;
  $("energy-layer").textContent = `${l.name}. ${dnn} ${snn} ${ratio}`;
  $("energy-layer").dataset.layer = l.name;
}

export function drawEnergy(ev, c) {
  const e = ev.energy;
  $("energy-consts").textContent = `${c.model}: E_MAC = ${c.e_mac_pj} pJ, E_AC = ${c.e_ac_pj} pJ. Neuromorphic (normalized FLOPs*compute + T*static): TrueNorth (${c.truenorth.join(", ")}), SpiNNaker (${c.spinnaker.join(", ")}).`;
  barChart($("plot-energy"), {
    labels: e.layers.map((l) => l.name),
    groups: [{ name: "DNN pJ", color: PALETTE[1], values: e.layers.map((l) => l.dnn_pj) }, { name: "SNN pJ", color: PALETTE[0], values: e.layers.map((l) => l.snn_pj) }],
    yLabel: "pJ per image (log)", log: true, width: 860, height: 280,
    onPick: (i) => explainEnergyLayer(e, i),
  });
  $("energy-layer").textContent = "Click a layer's bars: its operations and energy, step by step.";
  delete $("energy-layer").dataset.layer;
  const rows = e.layers.map((l) => [l.name + (l.analog ? " (analog, MACs x T)" : ""), l.dnn_macs, l.snn_ops, l.dnn_pj, l.snn_pj, l.dnn_pj / Math.max(l.snn_pj, 1e-30)]);
  rows.push(["total", e.layers.reduce((s, l) => s + l.dnn_macs, 0), e.layers.reduce((s, l) => s + l.snn_ops, 0), e.dnn_pj, e.snn_pj, e.ratio]);
  rows.push(["first layer computed once", "", "", e.dnn_pj, e.snn_pj_first_once, e.ratio_first_once]);
  rows.push(["TrueNorth / SpiNNaker (normalized)", "", "", "", `${fmt(e.truenorth)} / ${fmt(e.spinnaker)}`, ""]);
  table(el("energy", HTMLTableElement), ["layer", "DNN MACs", "SNN ops (MAC/AC)", "DNN pJ", "SNN pJ", "ratio"], rows);
  $("energy").dataset.ratio = String(e.ratio);
}

/**
 * A test image (u8 CHW, 1 or 3 channels) on a canvas, at its own size.
 * @param {HTMLCanvasElement} cv
 */
export function drawTestImage(cv, img) {
  cv.width = img.w;
  cv.height = img.h;
  const ctx = ctx2d(cv);
  const data = ctx.createImageData(img.w, img.h);
  const plane = img.w * img.h;
  for (let p = 0; p < plane; p++) {
    for (let ch = 0; ch < 3; ch++) data.data[4 * p + ch] = img.pixels[(img.c === 3 ? ch : 0) * plane + p];
    data.data[4 * p + 3] = 255;
  }
  ctx.putImageData(data, 0, 0);
}

/** The results at a glance (top of the page): the DNN's test accuracy, then the SNN's at its T
 * with its spikes and energy, from whatever the page holds now; "–" where nothing says it yet. */
export function drawSummary(state) {
  const pctOf = (v) => (v == null ? "–" : (100 * v).toFixed(1) + " %");
  const dnn = state.dnnEval?.accuracy ?? state.history?.at(-1)?.test_acc;
  // An SNN's numbers count only while its conversion is the current one (a new DNN drops both).
  const ev = state.convert ? state.snnEval?.evaluation ?? state.convert.evaluation : null;
  $("sum-dnn").textContent = pctOf(dnn);
  $("sum-snn").textContent = pctOf(ev?.accuracy);
  $("sum-t").textContent = ev ? String(ev.t) : "–";
  $("sum-spikes").textContent = ev ? fmt(ev.total_spikes_per_image) : "–";
  $("sum-energy").textContent = ev?.energy ? ev.energy.ratio.toFixed(1) + "x" : "–";
  $("sum-note").hidden = dnn != null;
}

/** The first test images with their labels, in the data view. */
export async function drawDataStrip(session, count) {
  const strip = el("data-strip", HTMLElement);
  strip.replaceChildren();
  for (let i = 0; i < count; i++) {
    const img = await session.test_image(i);
    const fig = document.createElement("figure");
    const cv = document.createElement("canvas");
    drawTestImage(cv, img);
    const cap = document.createElement("figcaption");
    cap.textContent = `label ${img.label}`;
    fig.append(cv, cap);
    strip.append(fig);
  }
}
