// The SQL editor: a textarea over a highlighted copy of its text, and a completion menu fed
// by the server's completion endpoint (the REPL's completion code).

import { post } from "./api.js";

const KEYWORDS = new Set(`
ALL AND ANY AS ASC BETWEEN BY CASE CAST COPY CROSS CURRENT DESC DESCRIBE DISTINCT ELSE END
EXCEPT EXISTS EXPLAIN FALSE FILTER FIRST FOLLOWING FOR FROM FULL GROUP HAVING ILIKE IN INNER
INTERSECT INTERVAL INTO IS JOIN LAST LATERAL LEFT LIKE LIMIT NOT NULL NULLS OF OFFSET ON OR
ORDER OUTER OVER PARTITION PRECEDING QUALIFY RANGE RECURSIVE RIGHT ROW ROWS SELECT SET SHOW
TABLE TABLES THEN TO TRUE UNBOUNDED UNION USE USING VALUES VERSION WHEN WHERE WINDOW WITH
PROJECTS SCHEMAS DIMENSIONS COLUMNS TIMESTAMP DATE`.trim().split(/\s+/));

const TOKEN = /(--[^\n]*|\/\*[\s\S]*?(?:\*\/|$))|('(?:[^']|'')*'?)|("(?:[^"]|"")*"?)|(\b\d+(?:\.\d*)?(?:e[+-]?\d+)?\b)|([A-Za-z_][A-Za-z0-9_$]*)(\s*\()?|([\s\S])/gi;

function escapeHtml(text) {
  return text.replace(/[&<>]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;" })[c]);
}

// Highlighted HTML of `text`; characters [markStart, markEnd) are marked as an error.
export function highlight(text, markStart = -1, markEnd = -1) {
  const pieces = [];
  let match;
  TOKEN.lastIndex = 0;
  while ((match = TOKEN.exec(text)) !== null) {
    const [whole, comment, string, quoted, number, word, call] = match;
    let cls = "";
    let shown = whole;
    if (comment) cls = "tok-com";
    else if (string) cls = "tok-str";
    else if (quoted) cls = "tok-id";
    else if (number) cls = "tok-num";
    else if (word) {
      shown = word;
      if (call) cls = "tok-fn";
      else if (KEYWORDS.has(word.toUpperCase())) cls = "tok-kw";
    }
    pieces.push({ start: match.index, text: shown, cls });
    if (word && call) pieces.push({ start: match.index + word.length, text: call, cls: "" });
  }
  let html = "";
  for (const piece of pieces) {
    const end = piece.start + piece.text.length;
    if (markStart >= 0 && piece.start < markEnd && end > markStart) {
      // Split the piece around the marked range.
      const a = Math.max(markStart, piece.start) - piece.start;
      const b = Math.min(markEnd, end) - piece.start;
      const wrap = (t) => (piece.cls ? `<span class="${piece.cls}">${escapeHtml(t)}</span>` : escapeHtml(t));
      html += wrap(piece.text.slice(0, a));
      html += `<mark class="tok-err" data-testid="error-marker">${wrap(piece.text.slice(a, b))}</mark>`;
      html += wrap(piece.text.slice(b));
    } else {
      html += piece.cls ? `<span class="${piece.cls}">${escapeHtml(piece.text)}</span>` : escapeHtml(piece.text);
    }
  }
  return html + "\n"; // a trailing newline keeps the last line's height
}

// Offsets: the server counts code points, the browser UTF-16 units.
function codePoints(text) { return Array.from(text).length; }
function unitsBefore(text, end, points) {
  // UTF-16 length of the last `points` code points of text.slice(0, end).
  const before = Array.from(text.slice(0, end));
  return before.slice(before.length - points).join("").length;
}

export class Editor {
  constructor({ textarea, code, list, getSchema, onRun }) {
    this.textarea = textarea;
    this.code = code;
    this.list = list;
    this.getSchema = getSchema;
    this.onRun = onRun;
    this.matches = [];
    this.selected = 0;
    this.mark = null;
    this.request = 0;
    this.timer = null;
    textarea.addEventListener("input", (event) => this.onInput(event));
    textarea.addEventListener("scroll", () => this.syncScroll());
    textarea.addEventListener("keydown", (event) => this.onKey(event));
    textarea.addEventListener("blur", () => setTimeout(() => this.close(), 150));
    textarea.addEventListener("click", () => this.close());
    list.addEventListener("mousedown", (event) => {
      const item = event.target.closest("li");
      if (item) { event.preventDefault(); this.accept(Number(item.dataset.index)); }
    });
    this.render();
  }

  get value() { return this.textarea.value; }
  set value(text) { this.textarea.value = text; this.mark = null; this.render(); }

  // The text to run: the selection when there is one, else everything.
  statement() {
    const { selectionStart: a, selectionEnd: b, value } = this.textarea;
    if (b > a && value.slice(a, b).trim()) return { sql: value.slice(a, b), offset: a };
    return { sql: value, offset: 0 };
  }

  markError(start, end) { this.mark = start == null ? null : [start, Math.max(end, start + 1)]; this.render(); }

  render() {
    const [a, b] = this.mark || [-1, -1];
    this.code.innerHTML = highlight(this.textarea.value, a, b);
    this.syncScroll();
  }

  syncScroll() {
    const pre = this.code.parentElement;
    pre.scrollTop = this.textarea.scrollTop;
    pre.scrollLeft = this.textarea.scrollLeft;
  }

  insert(text) {
    const { selectionStart: a, selectionEnd: b, value } = this.textarea;
    const before = value.slice(0, a);
    const pad = before && !/[\s(,.]$/.test(before) ? " " : "";
    this.textarea.focus();
    this.textarea.setRangeText(pad + text, a, b, "end");
    this.mark = null;
    this.render();
  }

  onInput(event) {
    this.mark = null;
    this.render();
    const typed = event.data || "";
    // One typed character opens the menu (as the REPL does); a paste does not.
    if (event.inputType === "insertText" && typed.length === 1 && /[\w.'"]/.test(typed)) this.schedule(120);
    else if (!this.list.hidden) this.schedule(60);
  }

  schedule(delay) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.complete(false), delay);
  }

  async complete(explicit) {
    const text = this.textarea.value;
    const cursor = this.textarea.selectionStart;
    const id = ++this.request;
    let body;
    try {
      ({ body } = await post("/complete", {
        text,
        cursor: codePoints(text.slice(0, cursor)),
        schema: this.getSchema() || null,
      }));
    } catch {
      return;
    }
    if (id !== this.request || this.textarea.value !== text || this.textarea.selectionStart !== cursor) return;
    this.matches = body.matches;
    // Typing a complete word offers nothing new: do not pop up for an exact single match.
    const word = this.matches.length ? text.slice(cursor - unitsBefore(text, cursor, this.matches[0].replace), cursor) : "";
    if (!this.matches.length || (!explicit && this.matches.length === 1 && this.matches[0].text === word)) {
      this.close();
      return;
    }
    this.selected = 0;
    this.show();
  }

  show() {
    this.list.innerHTML = "";
    this.matches.forEach((match, index) => {
      const item = document.createElement("li");
      item.dataset.index = index;
      item.dataset.testid = "completion-item";
      item.setAttribute("data-testid", "completion-item");
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", String(index === this.selected));
      const label = document.createElement("span");
      label.textContent = match.display;
      const meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = match.meta;
      item.append(label, meta);
      this.list.append(item);
    });
    this.list.hidden = false;
    this.place();
  }

  place() {
    // Under the cursor: measure with a mirror of the text up to it.
    const mirror = document.createElement("div");
    const style = getComputedStyle(this.textarea);
    for (const p of ["font", "padding", "whiteSpace", "overflowWrap", "tabSize", "lineHeight", "letterSpacing"]) mirror.style[p] = style[p];
    mirror.style.position = "absolute";
    mirror.style.visibility = "hidden";
    mirror.style.width = this.textarea.clientWidth + "px";
    mirror.textContent = this.textarea.value.slice(0, this.textarea.selectionStart);
    const caret = document.createElement("span");
    caret.textContent = "\u200b";
    mirror.append(caret);
    this.textarea.parentElement.append(mirror);
    const top = caret.offsetTop - this.textarea.scrollTop + parseFloat(style.lineHeight || "20");
    const width = this.list.offsetWidth || 280;
    const left = Math.min(caret.offsetLeft - this.textarea.scrollLeft, this.textarea.clientWidth - width - 8);
    mirror.remove();
    const room = this.textarea.clientHeight - top;
    this.list.style.left = Math.max(0, left) + "px";
    if (room < 120 && top > 140) { this.list.style.top = ""; this.list.style.bottom = (this.textarea.clientHeight - top + 22) + "px"; }
    else { this.list.style.bottom = ""; this.list.style.top = top + "px"; }
  }

  move(step) {
    if (!this.matches.length) return;
    this.selected = (this.selected + step + this.matches.length) % this.matches.length;
    [...this.list.children].forEach((item, i) => item.setAttribute("aria-selected", String(i === this.selected)));
    this.list.children[this.selected].scrollIntoView({ block: "nearest" });
  }

  accept(index = this.selected) {
    const match = this.matches[index];
    if (!match) return;
    const cursor = this.textarea.selectionStart;
    const start = cursor - unitsBefore(this.textarea.value, cursor, match.replace);
    this.textarea.setRangeText(match.text, start, cursor, "end");
    this.close();
    this.mark = null;
    this.render();
    this.textarea.focus();
  }

  // Closing also drops a completion still on its way (a run must not be followed by a menu).
  close() { clearTimeout(this.timer); this.request++; this.list.hidden = true; this.matches = []; }

  onKey(event) {
    const mod = event.ctrlKey || event.metaKey;
    if (mod && event.key === "Enter") { event.preventDefault(); this.close(); this.onRun(); return; }
    if (mod && (event.key === " " || event.code === "Space")) { event.preventDefault(); this.complete(true); return; }
    if (!this.list.hidden) {
      if (event.key === "ArrowDown") { event.preventDefault(); this.move(1); return; }
      if (event.key === "ArrowUp") { event.preventDefault(); this.move(-1); return; }
      if (event.key === "Enter" || event.key === "Tab") { event.preventDefault(); this.accept(); return; }
      if (event.key === "Escape") { event.preventDefault(); this.close(); return; }
    }
    if (event.key === "Tab" && !event.shiftKey) {
      event.preventDefault();
      const { selectionStart: a, selectionEnd: b, value } = this.textarea;
      // Tab after a word completes it (as in the REPL); elsewhere it indents.
      if (a === b && /[\w.'"]$/.test(value.slice(0, a))) { this.complete(true); return; }
      this.textarea.setRangeText("    ", a, b, "end");
      this.render();
    }
  }
}
