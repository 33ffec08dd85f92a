// Small SVG plotting helpers for the app's views.
// Why hand-written SVG and not a charting library: the views need five simple
// chart types (lines, bars, heatmap, raster, histogram); SVG scales crisply at
// any zoom/DPI, is styled by the page's CSS, is inspectable in tests (the e2e
// test reads the numbers the charts are drawn from) and adds no dependency,
// no bundler and no network fetch to a page that must work offline.

const NS = "http://www.w3.org/2000/svg";
export const PALETTE = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563"];

/**
 * An SVG element with these attributes, appended to `parent` when given.
 * @param {string} tag
 * @param {Record<string, any>} [attrs]
 * @param {Element | null} [parent]
 */
function el(tag, attrs = {}, parent = null) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

function text(parent, x, y, s, attrs = {}) {
  const t = el("text", { x, y, ...attrs }, parent);
  t.textContent = s;
  return t;
}

/** Round "nice" ticks over [lo, hi]. */
export function ticks(lo, hi, n = 5) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => (hi - lo) / s <= n) || raw;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  return out;
}

export function fmt(v) {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(1);
  return +v.toPrecision(3) + "";
}

/**
 * A line of a chart: `points` [[x, y], ...]; `dash` an SVG dash array, `step` a staircase, `dots`
 * a dot on each point, `width` the stroke's.
 * @typedef {{ name: string, color: string, points: number[][], dash?: string, step?: boolean, dots?: boolean, width?: number }} Series
 */

/** @typedef {(v: number) => string} Fmt */

/** A fresh SVG in `host` with a plot frame; returns scales and the drawing group. `legendRows`
 * rows of legend get the top margin (and the height) they need; `right` is the right margin.
 * @param {Element} host
 * @param {{ width?: number, height?: number, x: number[], y: number[], xLabel?: string, yLabel?: string, xTicks?: number[], yTicks?: number[], xFmt?: Fmt, yFmt?: Fmt, legendRows?: number, right?: number }} opts
 */
function frame(host, { width = 560, height = 260, x, y, xLabel = "", yLabel = "", xTicks, yTicks, xFmt = fmt, yFmt = fmt, legendRows = 1, right = 14 }) {
  host.replaceChildren();
  const extra = LEGEND_ROW * Math.max(0, legendRows - 1);
  height += extra;
  const m = { l: 60, r: right, t: 26 + extra, b: 38 };
  const svg = /** @type {SVGSVGElement} */ (el("svg", { viewBox: `0 0 ${width} ${height}`, class: "plot", role: "img" }, host));
  const W = width - m.l - m.r, H = height - m.t - m.b;
  const sx = (v) => m.l + ((v - x[0]) / (x[1] - x[0] || 1)) * W;
  const sy = (v) => m.t + H - ((v - y[0]) / (y[1] - y[0] || 1)) * H;
  const axes = el("g", { class: "axes" }, svg);
  for (const t of yTicks ?? ticks(y[0], y[1])) {
    el("line", { x1: m.l, x2: m.l + W, y1: sy(t), y2: sy(t), class: "grid" }, axes);
    text(axes, m.l - 6, sy(t) + 4, yFmt(t), { "text-anchor": "end" });
  }
  for (const t of xTicks ?? ticks(x[0], x[1], 6)) {
    text(axes, sx(t), m.t + H + 16, xFmt(t), { "text-anchor": "middle" });
  }
  el("rect", { x: m.l, y: m.t, width: W, height: H, class: "box" }, axes);
  text(axes, m.l + W / 2, height - 4, xLabel, { "text-anchor": "middle", class: "label" });
  text(axes, 12, m.t + H / 2, yLabel, { "text-anchor": "middle", class: "label", transform: `rotate(-90 12 ${m.t + H / 2})` });
  return { svg, g: el("g", {}, svg), sx, sy, m, W, H };
}

/** Height of one legend row. */
const LEGEND_ROW = 16;
/** Width of a legend entry (swatch, gap, text at ~6.3 px a character). */
const entryWidth = (name) => 26 + name.length * 6.3;

/** Legend entries laid out in rows that fit between x0 and x1: [[row, x], ...] and the rows. */
function legendLayout(items, x0, x1) {
  let cx = x0, row = 0;
  const at = items.map((it) => {
    if (cx > x0 && cx + entryWidth(it.name) - 12 > x1) { row += 1; cx = x0; }
    const p = [row, cx];
    cx += entryWidth(it.name);
    return p;
  });
  return { at, rows: items.length ? row + 1 : 1 };
}

/** The legend in the top margin, wrapped onto as many rows as it needs (never over the data,
 * never cut off at the right edge). */
function legend(svg, items, x0, x1) {
  const g = el("g", { class: "legend" }, svg);
  const { at } = legendLayout(items, x0, x1);
  items.forEach((it, i) => {
    const [row, cx] = at[i];
    el("rect", { x: cx, y: 8 + row * LEGEND_ROW, width: 10, height: 10, fill: it.color }, g);
    text(g, cx + 14, 17 + row * LEGEND_ROW, it.name);
  });
}

/**
 * Line chart of `series`; `x` and `y` the axes' ranges (default: the data's).
 * @param {Element} host
 * @param {{ series: Series[], xLabel?: string, yLabel?: string, x?: number[], y?: number[], xTicks?: number[], yFmt?: Fmt, width?: number, height?: number }} opts
 */
export function lineChart(host, { series, xLabel, yLabel, x, y, xTicks, yFmt, width, height }) {
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  x = x ?? [Math.min(...xs), Math.max(...xs)];
  y = y ?? [Math.min(0, ...ys), Math.max(...ys) || 1];
  const named = series.filter((s) => s.name);
  const legendRows = legendLayout(named, 60, (width ?? 560) - 14).rows;
  const f = frame(host, { x, y, xLabel, yLabel, xTicks, yFmt, width, height, legendRows });
  for (const s of series) {
    if (!s.points.length) continue;
    let d = "";
    s.points.forEach(([px, py], i) => {
      if (s.step && i > 0) d += `H${f.sx(px)}V${f.sy(py)}`;
      else d += `${i ? "L" : "M"}${f.sx(px)},${f.sy(py)}`;
    });
    el("path", { d, fill: "none", stroke: s.color, "stroke-width": s.width ?? 2, "stroke-dasharray": s.dash ?? "" }, f.g);
    if (s.dots) for (const [px, py] of s.points) el("circle", { cx: f.sx(px), cy: f.sy(py), r: 3, fill: s.color }, f.g);
    // Hover values: an invisible target with a tooltip on every point (up to 400 a series).
    if (s.points.length <= 400) {
      for (const [px, py] of s.points) {
        const c = el("circle", { class: "hover", cx: f.sx(px), cy: f.sy(py), r: 6, fill: "transparent" }, f.g);
        el("title", {}, c).textContent = `${s.name ? s.name + ": " : ""}${xLabel ? xLabel + " " : "x "}${fmt(px)}, ${fmt(py)}`;
      }
    }
  }
  legend(f.svg, named, f.m.l, f.m.l + f.W);
  return f;
}

/**
 * Grouped bars: labels on x, a bar per group in each, optional log scale; `onPick(i)`, when given,
 * makes each label's column clickable.
 * @param {Element} host
 * @param {{ labels: string[], groups: { name: string, color: string, values: number[] }[], yLabel?: string, log?: boolean, width?: number, height?: number, onPick?: (i: number) => void }} opts
 */
export function barChart(host, { labels, groups, yLabel, log = false, width, height, onPick }) {
  const all = groups.flatMap((g) => g.values).filter((v) => v > 0);
  const tr = log ? (v) => Math.log10(Math.max(v, 1e-12)) : (v) => v;
  const lo = log ? Math.floor(Math.log10(Math.min(...all, 1))) : 0;
  const hi = log ? Math.ceil(Math.log10(Math.max(...all, 10))) : Math.max(...all, 1e-9) * 1.1;
  const yTicks = log ? Array.from({ length: hi - lo + 1 }, (_, i) => lo + i) : undefined;
  const legendRows = legendLayout(groups, 60, (width ?? 560) - 14).rows;
  const f = frame(host, {
    x: [0, labels.length], y: [lo, hi], yLabel, xTicks: [], yTicks, width, height, legendRows,
    yFmt: log ? (v) => "1e" + v : fmt,
  });
  const bw = f.W / labels.length;
  labels.forEach((lab, i) => {
    groups.forEach((g, j) => {
      const v = g.values[i];
      if (!(v > 0)) return;
      const w = (bw * 0.8) / groups.length;
      const x0 = f.m.l + i * bw + bw * 0.1 + j * w;
      const top = f.sy(tr(v));
      const r = el("rect", { x: x0, y: top, width: Math.max(w - 1, 1), height: f.sy(lo) - top, fill: g.color, "shape-rendering": "crispEdges" }, f.g);
      el("title", {}, r).textContent = `${lab} ${g.name}: ${fmt(v)}`;
    });
    text(f.g, f.m.l + (i + 0.5) * bw, f.m.t + f.H + 16, lab.length > 14 ? lab.slice(0, 13) + "…" : lab, { "text-anchor": "middle", class: "tick" });
  });
  if (onPick) {
    // A transparent column over each label's bars takes the click (and shows all its values).
    labels.forEach((lab, i) => {
      const hit = el("rect", { x: f.m.l + i * bw, y: f.m.t, width: bw, height: f.H, fill: "transparent", class: "pick", "data-index": i }, f.g);
      el("title", {}, hit).textContent = `${lab}: ${groups.map((g) => `${g.name} ${fmt(g.values[i])}`).join(", ")} (click: the arithmetic)`;
      hit.addEventListener("click", () => onPick(i));
    });
  }
  legend(f.svg, groups, f.m.l, f.m.l + f.W);
  return f;
}

/** The heatmap's colour of `v` on a scale reaching `amax`: signed (blue >= 0, red < 0), |v| on
 * a sqrt scale, dark = small (the search minimizes |loss|). */
const heatColor = (v, amax) => `hsl(${v >= 0 ? 215 : 10}, 70%, ${Math.round(18 + Math.sqrt(Math.abs(v) / amax) * 78)}%)`;

/** A vertical colour bar for `heatColor` from -amax (bottom) to +amax (top), right of the plot. */
function colorBar(f, amax) {
  const x = f.m.l + f.W + 14, w = 12, steps = 48;
  const g = el("g", { class: "colorbar" }, f.svg);
  for (let i = 0; i < steps; i++) {
    const v = -amax + ((i + 0.5) / steps) * 2 * amax;
    el("rect", { x, y: f.m.t + f.H - ((i + 1) / steps) * f.H, width: w, height: f.H / steps + 0.5, fill: heatColor(v, amax), "shape-rendering": "crispEdges" }, g);
  }
  el("rect", { x, y: f.m.t, width: w, height: f.H, fill: "none", stroke: "#9ca3af" }, g);
  for (const [v, y] of [[amax, f.m.t + 4], [0, f.m.t + f.H / 2 + 4], [-amax, f.m.t + f.H]]) text(g, x + w + 4, y, fmt(v), { class: "tick" });
  text(g, x + w / 2, f.m.t - 8, "loss", { "text-anchor": "middle", class: "tick" });
}

/**
 * Heatmap z[row][col] over rows ys, cols xs (diverging around 0, with its colour bar), `mark` = [x, y].
 * @param {Element} host
 * @param {{ xs: number[], ys: number[], z: number[][], xLabel?: string, yLabel?: string, mark?: number[] }} opts
 */
export function heatmap(host, { xs, ys, z, xLabel, yLabel, mark }) {
  const f = frame(host, { x: [xs[0], xs[xs.length - 1]], y: [ys[0], ys[ys.length - 1]], xLabel, yLabel, height: 280, right: 76 });
  const amax = Math.max(...z.flat().map(Math.abs), 1e-12);
  const cw = f.W / xs.length, ch = f.H / ys.length;
  for (let r = 0; r < ys.length; r++) {
    for (let c = 0; c < xs.length; c++) {
      el("rect", {
        x: f.m.l + c * cw, y: f.m.t + f.H - (r + 1) * ch, width: cw + 0.5, height: ch + 0.5,
        fill: heatColor(z[r][c], amax), "shape-rendering": "crispEdges",
      }, f.g);
    }
  }
  colorBar(f, amax);
  // Hover values: one read-out line above the plot (a tooltip per cell would be ~20,000 elements).
  const readout = text(f.svg, f.m.l + f.W, f.m.t - 8, "", { class: "readout", "text-anchor": "end" });
  f.svg.addEventListener("pointermove", (e) => {
    const box = f.svg.getBoundingClientRect();
    const px = ((e.clientX - box.left) * f.svg.viewBox.baseVal.width) / box.width - f.m.l;
    const py = f.m.t + f.H - ((e.clientY - box.top) * f.svg.viewBox.baseVal.height) / box.height;
    const c = Math.floor(px / cw), r = Math.floor(py / ch);
    readout.textContent = r >= 0 && r < ys.length && c >= 0 && c < xs.length ? `${xLabel} ${fmt(xs[c])}, ${yLabel} ${fmt(ys[r])}: ${fmt(z[r][c])}` : "";
  });
  if (mark) {
    const cx = f.sx(mark[0]), cy = f.sy(mark[1]);
    el("circle", { cx, cy, r: 6, fill: "none", stroke: "#facc15", "stroke-width": 2.5 }, f.g);
    const left = cx > f.m.l + f.W - 70;
    text(f.g, left ? cx - 9 : cx + 9, cy - 7, "optimum", { class: "mark", "text-anchor": left ? "end" : "start" });
  }
  return f;
}

/** Spike raster: rows = sampled neurons (grouped by layer), columns = time steps. */
export function raster(host, { layers, t }) {
  const rows = layers.reduce((n, l) => n + l.sample.length, 0);
  const height = Math.max(140, Math.min(520, rows * 4 + 60));
  const f = frame(host, { x: [0, t], y: [0, rows], xLabel: "time step", yLabel: "sampled neuron", height, xTicks: [], yTicks: [] });
  const cw = f.W / t, rh = f.H / rows;
  for (let s = 0; s < t; s++) text(f.g, f.m.l + (s + 0.5) * cw, f.m.t + f.H + 16, String(s + 1), { "text-anchor": "middle", class: "tick" });
  let row = 0;
  layers.forEach((l, li) => {
    const color = PALETTE[li % PALETTE.length];
    const y0 = f.m.t + row * rh;
    el("line", { x1: f.m.l, x2: f.m.l + f.W, y1: y0, y2: y0, class: "grid" }, f.g);
    text(f.g, f.m.l - 6, y0 + (l.sample.length * rh) / 2 + 4, l.name.replace("features.", "f.").replace("classifier.", "c."), { "text-anchor": "end", class: "tick" });
    for (let s = 0; s < t; s++) {
      l.spikes[s].forEach((fired, j) => {
        if (fired) el("rect", { x: f.m.l + s * cw + cw * 0.15, y: f.m.t + (row + j) * rh, width: cw * 0.7, height: Math.max(rh * 0.8, 1), fill: color, "shape-rendering": "crispEdges" }, f.g);
      });
    }
    row += l.sample.length;
  });
  return f;
}
