// Hand-drawn SVG charts and bar tables. No inline styles (the page's CSP has none): colours come
// from classes in style.css, sizes from SVG attributes. Every chart takes an empty-state text that
// says what to do, shown instead of an empty plot.

import { compact } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";
const HEIGHT = 220;
const MARGIN = { left: 52, right: 14, top: 14, bottom: 30 };

function svgNode(name, attributes = {}, parent = null) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (parent) parent.appendChild(node);
  return node;
}

function htmlNode(name, className, text, parent = null) {
  const node = document.createElement(name);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

/** Shows `text` in `host` instead of a chart. */
export function emptyState(host, text) {
  host.replaceChildren(htmlNode("p", "chart-empty", text));
}

/** Draws at the host's own width, so that labels keep their size on a phone. */
function widthOf(host) {
  return Math.max(300, Math.round(host.clientWidth || 640));
}

/** Grid lines and labels for 0..top on the y axis. */
function yAxis(svg, { top, y, chartWidth, tickFormat }) {
  for (let t = 0; t <= 4; t++) {
    const value = (top * t) / 4;
    svgNode("line", { x1: MARGIN.left, x2: chartWidth - MARGIN.right, y1: y(value), y2: y(value), class: "grid" }, svg);
    svgNode("text", { x: MARGIN.left - 6, y: y(value) + 4, class: "tick", "text-anchor": "end" }, svg).textContent = tickFormat(value);
  }
}

/** The smallest 1, 2, 2.5 or 5 times a power of ten that is at least `value`. */
function niceCeiling(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * power >= value) return m * power;
  return 10 * power;
}

/**
 * A chart over buckets: `series` = [{label, cls, points: [[x, y]]}] where x is the bucket index;
 * `labels[i]` names bucket i. `kind` "bars" draws the first series as bars, the rest as lines.
 */
export function timeChart(host, { labels, series, format, tickFormat = compact, kind = "line", empty, title }) {
  const hasData = series.some((s) => s.points.some(([, y]) => Number.isFinite(y)));
  if (!labels.length || !hasData) return emptyState(host, empty);
  const chartWidth = widthOf(host);
  const plotW = chartWidth - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const top = niceCeiling(Math.max(...series.flatMap((s) => s.points.map(([, y]) => y)).filter(Number.isFinite)));
  const band = plotW / labels.length;
  const x = (i) => MARGIN.left + band * (i + 0.5);
  const y = (v) => MARGIN.top + plotH * (1 - v / top);

  const svg = svgNode("svg", { viewBox: `0 0 ${chartWidth} ${HEIGHT}`, role: "img", class: "chart" });
  svgNode("title", {}, svg).textContent = title;
  yAxis(svg, { top, y, chartWidth, tickFormat });
  const every = Math.max(1, Math.ceil(labels.length / Math.max(2, Math.floor(chartWidth / 105))));
  labels.forEach((label, i) => {
    if (i % every !== 0) return;
    const tick = svgNode("text", { x: x(i), y: HEIGHT - 10, class: "tick", "text-anchor": "middle" }, svg);
    tick.textContent = label;
  });
  series.forEach((s, index) => {
    const points = s.points.filter(([, v]) => Number.isFinite(v));
    if (kind === "bars" && index === 0) {
      const width = Math.max(1, band * 0.7);
      for (const [i, v] of points) {
        const bar = svgNode("rect", { x: x(i) - width / 2, y: y(v), width, height: Math.max(0, y(0) - y(v)), class: `bar ${s.cls}` }, svg);
        svgNode("title", {}, bar).textContent = `${labels[i]}: ${format(v)} ${s.label}`;
      }
      return;
    }
    if (points.length > 1) {
      svgNode("polyline", { points: points.map(([i, v]) => `${x(i)},${y(v)}`).join(" "), class: `line ${s.cls}` }, svg);
    }
    for (const [i, v] of points) {
      const dot = svgNode("circle", { cx: x(i), cy: y(v), r: points.length > 60 ? 1.5 : 3, class: `dot ${s.cls}` }, svg);
      svgNode("title", {}, dot).textContent = `${labels[i]}: ${format(v)} ${s.label}`;
    }
  });
  const parts = [svg];
  if (series.length > 1) {
    const legend = htmlNode("ul", "legend");
    for (const s of series) {
      const item = htmlNode("li", null, undefined, legend);
      htmlNode("span", `swatch ${s.cls}`, undefined, item);
      item.append(s.label);
    }
    parts.push(legend);
  }
  host.replaceChildren(...parts);
}

/** An area curve over a continuous x (seconds into a video): `points` = [[x, y]]. */
export function curveChart(host, { points, formatX, formatY, empty, title, cls }) {
  if (!points.length) return emptyState(host, empty);
  const chartWidth = widthOf(host);
  const plotW = chartWidth - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const maxX = Math.max(...points.map(([px]) => px)) || 1;
  const top = niceCeiling(Math.max(...points.map(([, py]) => py)));
  const x = (v) => MARGIN.left + (plotW * v) / maxX;
  const y = (v) => MARGIN.top + plotH * (1 - v / top);
  const svg = svgNode("svg", { viewBox: `0 0 ${chartWidth} ${HEIGHT}`, role: "img", class: "chart" });
  svgNode("title", {}, svg).textContent = title;
  yAxis(svg, { top, y, chartWidth, tickFormat: compact });
  for (let t = 0; t <= 4; t++) {
    const value = (maxX * t) / 4;
    svgNode("text", { x: x(value), y: HEIGHT - 10, class: "tick", "text-anchor": "middle" }, svg).textContent = formatX(value);
  }
  const line = points.map(([px, py]) => `${x(px)},${y(py)}`).join(" ");
  svgNode("polygon", { points: `${x(points[0][0])},${y(0)} ${line} ${x(points.at(-1)[0])},${y(0)}`, class: `area ${cls}` }, svg);
  svgNode("polyline", { points: line, class: `line ${cls}` }, svg);
  for (const [px, py] of points) {
    svgNode("title", {}, svgNode("circle", { cx: x(px), cy: y(py), r: 2.5, class: `dot ${cls}` }, svg)).textContent =
      `${formatX(px)}: ${formatY(py)}`;
  }
  host.replaceChildren(svg);
}

/**
 * A table of the top rows with a bar per row: `rows` = [{label, value, text}], largest first.
 * `onPick(row)` (optional) makes each label a button, e.g. to filter by that value.
 */
export function barTable(host, { rows, empty, valueHeading, onPick, limit = 10 }) {
  if (!rows.length) return emptyState(host, empty);
  const shown = rows.slice(0, limit);
  const max = Math.max(...shown.map((r) => r.value)) || 1;
  const table = htmlNode("table", "bars");
  const head = htmlNode("tr", null, undefined, htmlNode("thead", null, undefined, table));
  htmlNode("th", null, "", head);
  htmlNode("th", "num", valueHeading, head).colSpan = 2;
  const body = htmlNode("tbody", null, undefined, table);
  for (const row of shown) {
    const tr = htmlNode("tr", null, undefined, body);
    tr.dataset.value = row.key ?? "";
    const name = htmlNode("td", "name", undefined, tr);
    if (onPick && row.key !== undefined) {
      const button = htmlNode("button", "link", row.label, name);
      button.type = "button";
      button.title = "Filter by this value";
      button.addEventListener("click", () => onPick(row));
    } else {
      name.textContent = row.label;
    }
    const barCell = htmlNode("td", "bar-cell", undefined, tr);
    const svg = svgNode("svg", { viewBox: "0 0 100 10", preserveAspectRatio: "none", class: "bar-svg", "aria-hidden": "true" });
    svgNode("rect", { x: 0, y: 0, width: Math.max(0.5, (100 * row.value) / max), height: 10, class: "bar s-views" }, svg);
    barCell.appendChild(svg);
    htmlNode("td", "num", row.text, tr);
  }
  const parts = [table];
  if (rows.length > limit) parts.push(htmlNode("p", "note", `and ${rows.length - limit} more`));
  host.replaceChildren(...parts);
}
