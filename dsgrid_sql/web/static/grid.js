// A result table that renders only the rows in view (a million rows scroll as fast as ten),
// sortable by clicking a column's header.

const ROW = 24;
const OVERSCAN = 20;
const NUMERIC = /^(u?int|float|double|decimal|halffloat)/;

export function isNumericType(type) { return NUMERIC.test(type || ""); }

function cell(value) {
  if (value === null || value === undefined) return ["NULL", "null"];
  if (typeof value === "number") return [Number.isInteger(value) ? String(value) : String(+value.toPrecision(12)), "num"];
  if (typeof value === "object") return [JSON.stringify(value), ""];
  return [String(value), ""];
}

function compare(a, b) {
  if (a === b) return 0;
  if (a === null || a === undefined) return 1;
  if (b === null || b === undefined) return -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a) < String(b) ? -1 : 1;
}

export class Grid {
  constructor(element, { onCellClick } = {}) {
    this.element = element;
    this.onCellClick = onCellClick;
    this.columns = [];
    this.rows = [];
    this.order = [];
    this.sort = null; // [column index, 1 | -1]
    this.widths = [];
    element.addEventListener("scroll", () => this.paint());
    element.addEventListener("click", (event) => {
      const th = event.target.closest("th[data-col]");
      if (th) { this.sortBy(Number(th.dataset.col)); return; }
      const td = event.target.closest("td[data-col]");
      if (td && this.onCellClick) {
        const row = this.rows[this.order[Number(td.parentElement.dataset.row)]];
        this.onCellClick(row, Number(td.dataset.col), this.columns);
      }
    });
    new ResizeObserver(() => this.paint()).observe(element);
  }

  set(columns, rows, emptyText = "No rows.") {
    this.columns = columns;
    this.rows = rows;
    this.order = rows.map((_, i) => i);
    this.sort = null;
    this.emptyText = emptyText;
    this.widths = columns.map((column, c) => {
      let longest = column.name.length + (column.type ? column.type.length * 0.7 : 0) + 3;
      for (let r = 0; r < Math.min(rows.length, 200); r++) longest = Math.max(longest, cell(rows[r][c])[0].length);
      return Math.min(420, Math.max(60, Math.round(longest * 8 + 18)));
    });
    this.element.scrollTop = 0;
    this.build();
  }

  clear(text = "") {
    this.columns = []; this.rows = []; this.order = [];
    this.element.innerHTML = text ? `<div class="empty"></div>` : "";
    if (text) this.element.firstChild.textContent = text;
  }

  sortBy(col) {
    const direction = this.sort && this.sort[0] === col ? -this.sort[1] : 1;
    this.sort = [col, direction];
    this.order.sort((i, j) => direction * compare(this.rows[i][col], this.rows[j][col]) || i - j);
    this.build();
  }

  build() {
    const table = document.createElement("table");
    const colgroup = document.createElement("colgroup");
    const width = 56 + this.widths.reduce((a, b) => a + b, 0);
    table.style.width = width + "px";
    colgroup.innerHTML = `<col style="width:56px">` + this.widths.map((w) => `<col style="width:${w}px">`).join("");
    const head = document.createElement("thead");
    const tr = document.createElement("tr");
    const corner = document.createElement("th");
    corner.className = "rownum";
    corner.textContent = "#";
    tr.append(corner);
    this.columns.forEach((column, c) => {
      const th = document.createElement("th");
      th.dataset.col = c;
      th.title = `${column.name} (${column.type}) — click to sort`;
      th.textContent = column.name;
      const type = document.createElement("span");
      type.className = "type";
      type.textContent = column.type || "";
      th.append(type);
      if (this.sort && this.sort[0] === c) th.setAttribute("aria-sort", this.sort[1] > 0 ? "ascending" : "descending");
      tr.append(th);
    });
    head.append(tr);
    this.body = document.createElement("tbody");
    table.append(colgroup, head, this.body);
    this.element.innerHTML = "";
    this.element.append(table);
    if (!this.rows.length) {
      const empty = document.createElement("div");
      empty.className = "empty";
      empty.textContent = this.emptyText;
      this.element.append(empty);
    }
    this.painted = null;
    this.paint();
  }

  paint() {
    if (!this.body) return;
    const total = this.order.length;
    const first = Math.max(0, Math.floor(this.element.scrollTop / ROW) - OVERSCAN);
    const visible = Math.ceil((this.element.clientHeight || 600) / ROW) + 2 * OVERSCAN;
    const last = Math.min(total, first + visible);
    const key = `${first}:${last}:${total}`;
    if (this.painted === key) return;
    this.painted = key;
    const html = [];
    if (first > 0) html.push(`<tr style="height:${first * ROW}px"></tr>`);
    for (let i = first; i < last; i++) {
      const row = this.rows[this.order[i]];
      let tds = `<td class="rownum">${i + 1}</td>`;
      for (let c = 0; c < this.columns.length; c++) {
        const [text, cls] = cell(row[c]);
        const safe = text.replace(/[&<>"]/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[ch]);
        tds += `<td data-col="${c}" class="${cls}" title="${safe}">${safe}</td>`;
      }
      html.push(`<tr data-row="${i}">${tds}</tr>`);
    }
    if (last < total) html.push(`<tr style="height:${(total - last) * ROW}px"></tr>`);
    this.body.innerHTML = html.join("");
  }
}
