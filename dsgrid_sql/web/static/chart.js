// Charts chosen from the result's shape, drawn with plotly.js (the copy the `plotly` Python
// package ships, served by the console). A timestamp column and a value: a line per other key.
// A key and a value: bars. The user can change the type and the columns.

import { isNumericType } from "./grid.js";

const MAX_SERIES = 100;
const TIME = /^(timestamp|date)/;

export function isTimeType(type) { return TIME.test(type || ""); }

// {type, x, y, series} (column indexes; series is an array) or null when nothing fits.
export function chooseChart(columns) {
  const time = columns.findIndex((c) => isTimeType(c.type));
  const numeric = columns.map((c, i) => (isNumericType(c.type) ? i : -1)).filter((i) => i >= 0);
  const keys = columns.map((c, i) => (!isNumericType(c.type) && !isTimeType(c.type) ? i : -1)).filter((i) => i >= 0);
  if (!numeric.length) return null;
  const y = numeric[numeric.length - 1];
  if (time >= 0) return { type: "line", x: time, y, series: keys };
  if (keys.length) return { type: "bar", x: keys[0], y, series: keys.slice(1) };
  if (numeric.length >= 2) return { type: "scatter", x: numeric[0], y, series: [] };
  return null;
}

// Plotly traces for `spec` over the rows: one per distinct combination of the series columns.
export function traces(columns, rows, spec) {
  const groups = new Map();
  for (const row of rows) {
    const key = spec.series.map((c) => String(row[c])).join(" · ");
    let group = groups.get(key);
    if (!group) {
      if (groups.size >= MAX_SERIES) continue;
      group = { x: [], y: [] };
      groups.set(key, group);
    }
    group.x.push(row[spec.x]);
    group.y.push(row[spec.y]);
  }
  const sortX = isTimeType(columns[spec.x].type) || isNumericType(columns[spec.x].type);
  const result = [];
  for (const [name, group] of groups) {
    let { x, y } = group;
    if (sortX) {
      const order = x.map((_, i) => i).sort((a, b) => (x[a] < x[b] ? -1 : x[a] > x[b] ? 1 : 0));
      x = order.map((i) => group.x[i]);
      y = order.map((i) => group.y[i]);
    }
    const trace = { x, y, name: name || columns[spec.y].name };
    if (spec.type === "bar") trace.type = "bar";
    else trace.type = "scatter", trace.mode = spec.type === "line" ? "lines" : "markers";
    result.push(trace);
  }
  return { traces: result, truncated: groups.size >= MAX_SERIES };
}

export class Chart {
  constructor({ element, type, x, y, series, note }) {
    Object.assign(this, { element, typeSelect: type, xSelect: x, ySelect: y, seriesSelect: series, note });
    for (const select of [type, x, y, series]) select.addEventListener("change", () => this.fromControls());
    this.columns = [];
    this.rows = [];
    this.spec = null;
    this.visible = false;
  }

  set(columns, rows) {
    this.columns = columns;
    this.rows = rows;
    this.spec = chooseChart(columns);
    const options = (select, withNone) => {
      select.innerHTML = (withNone ? `<option value="">(none)</option>` : "") +
        columns.map((c, i) => `<option value="${i}"></option>`).join("");
      [...select.options].slice(withNone ? 1 : 0).forEach((o, i) => { o.textContent = columns[i].name; });
    };
    options(this.xSelect, false);
    options(this.ySelect, false);
    options(this.seriesSelect, true);
    if (this.spec) {
      this.typeSelect.value = this.spec.type;
      this.xSelect.value = String(this.spec.x);
      this.ySelect.value = String(this.spec.y);
      this.seriesSelect.value = this.spec.series.length ? String(this.spec.series[0]) : "";
    }
    this.dirty = true;
    if (this.visible) this.draw();
  }

  fromControls() {
    if (!this.columns.length) return;
    const series = this.seriesSelect.value === "" ? [] : [Number(this.seriesSelect.value)];
    // Keep the other key columns of the chosen shape as series too when the first is kept.
    const others = this.spec && series.length && this.spec.series[0] === series[0] ? this.spec.series : series;
    this.spec = { type: this.typeSelect.value, x: Number(this.xSelect.value), y: Number(this.ySelect.value), series: others };
    this.dirty = true;
    this.draw();
  }

  show() { this.visible = true; if (this.dirty) this.draw(); else if (window.Plotly && this.element.data) window.Plotly.Plots.resize(this.element); }
  hide() { this.visible = false; }

  clear() {
    this.columns = []; this.rows = []; this.spec = null; this.dirty = false;
    if (window.Plotly) window.Plotly.purge(this.element);
    this.element.dataset.series = "0";
    this.note.textContent = "";
  }

  draw() {
    this.dirty = false;
    const Plotly = window.Plotly;
    if (!Plotly) { this.note.textContent = "plotly.js did not load."; return; }
    if (!this.spec) {
      Plotly.purge(this.element);
      this.element.dataset.series = "0";
      this.note.textContent = this.columns.length ? "No chart fits this result: pick columns above." : "";
      return;
    }
    const { traces: data, truncated } = traces(this.columns, this.rows, this.spec);
    this.element.dataset.series = String(data.length);
    this.element.dataset.chartType = this.spec.type;
    this.note.textContent = `${data.length} series` + (truncated ? ` (first ${MAX_SERIES} shown)` : "");
    const layout = {
      margin: { t: 24, r: 16, b: 48, l: 64 },
      xaxis: { title: { text: this.columns[this.spec.x].name } },
      yaxis: { title: { text: this.columns[this.spec.y].name } },
      showlegend: data.length > 1,
      legend: { orientation: "v" },
      barmode: "group",
      autosize: true,
    };
    // topojsonURL: geo maps (never drawn here) would fetch from plotly's CDN by default.
    Plotly.react(this.element, data, layout, { responsive: true, displaylogo: false, scrollZoom: true, topojsonURL: "/static/" });
  }
}
