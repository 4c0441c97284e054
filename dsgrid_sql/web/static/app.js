// The console's page: wires the catalog, the editor, the results and sign-in together.

import { ApiError, Statement, blob, get, post, setToken, setUnauthorizedHandler, signIn, token } from "./api.js";
import { CatalogTree } from "./catalog.js";
import { Chart } from "./chart.js";
import { Editor } from "./editor.js";
import { Grid } from "./grid.js";

const $ = (id) => document.getElementById(id);
const HISTORY_KEY = "dsgrid-sql.history";
const SCHEMA_KEY = "dsgrid-sql.schema";
const MAX_HISTORY = 100;

const state = { statement: null, result: null, schema: null, started: 0 };

const grid = new Grid($("grid"));
const recordsGrid = new Grid($("records-grid"), {
  onCellClick: (row, col, columns) => {
    const id = columns.findIndex((c) => c.name === "id" || c.name === "from_id");
    const value = row[col === columns.findIndex((c) => c.name === "to_id") ? col : id];
    if (value != null) editor.insert(`'${String(value).replace(/'/g, "''")}'`);
  },
});
const chart = new Chart({
  element: $("chart"), type: $("chart-type"), x: $("chart-x"), y: $("chart-y"), series: $("chart-series"), note: $("chart-note"),
});
const editor = new Editor({
  textarea: $("sql"), code: $("highlight"), list: $("completions"),
  getSchema: () => state.schema, onRun: () => run(),
});
const tree = new CatalogTree($("catalog-tree"), {
  insert: (text) => editor.insert(text),
  currentSchema: () => state.schema,
  openDimension: (d) => openRecords(d.name, (search) => get(`/dimensions/${encodeURIComponent(d.dimension_id)}/records?limit=5000` + (search ? `&search=${encodeURIComponent(search)}` : ""))),
  openMapping: (m) => openRecords(`${m.from_dimension_name} → ${m.to_dimension_name}`, () => get(`/mappings/${encodeURIComponent(m.mapping_id)}/records`)),
  onError: (error) => showError(error),
});

// -- tabs --------------------------------------------------------------------------------

function showTab(name) {
  for (const tab of document.querySelectorAll("[role=tab]")) tab.setAttribute("aria-selected", String(tab.dataset.tab === name));
  for (const panel of document.querySelectorAll("[data-panel]")) panel.hidden = panel.dataset.panel !== name;
  if (name === "chart") chart.show(); else chart.hide();
}
for (const tab of document.querySelectorAll("[role=tab]")) tab.addEventListener("click", () => showTab(tab.dataset.tab));

// -- status and errors -------------------------------------------------------------------

function status(text) { $("status").textContent = text; }

function showError(error, offset = 0, sql = null) {
  if (error instanceof ApiError && error.status === 401 && signInNeeded) return;
  const body = error instanceof ApiError ? error.body : { message: String(error.message || error) };
  const box = $("error");
  box.innerHTML = "";
  const sentence = document.createElement("div");
  sentence.className = "sentence";
  sentence.textContent = body.message || "The query failed.";
  box.append(sentence);
  const position = body.position;
  if (position && sql != null) {
    const [start, end] = span(sql, position);
    const lines = sql.split("\n");
    const line = lines[position.line - 1];
    if (line !== undefined) {
      const pre = document.createElement("pre");
      const column = Math.max(0, position.col - 1);
      pre.textContent = `${line}\n${" ".repeat(column)}${"^".repeat(Math.max(1, Math.min(end - start, line.length - column)))}`;
      box.append(pre);
    }
    editor.markError(offset + start, offset + end);
  }
  if (body.hint) {
    const hint = document.createElement("div");
    hint.className = "hint";
    hint.textContent = body.hint;
    box.append(hint);
  }
  box.hidden = false;
}

// The characters an error's position covers. Positions from the binder end on the last
// character, the parser's after it (as the REPL's caret does): finish a name or a string.
function span(sql, position) {
  const start = Math.max(0, Math.min(position.start, sql.length));
  let end = Math.max(position.end ?? start, start + 1);
  const word = (i) => i >= 0 && i < sql.length && /[\w$]/.test(sql[i]);
  if (sql[start] === "'" || sql[start] === '"') {
    const close = sql.indexOf(sql[start], start + 1);
    if (close > 0) end = Math.max(end, close + 1);
  }
  while (word(end - 1) && word(end)) end += 1;
  return [start, Math.min(end, sql.length)];
}

function clearError() { $("error").hidden = true; $("error").innerHTML = ""; editor.markError(null); }

// -- running -----------------------------------------------------------------------------

function busy(running) {
  $("run").disabled = running;
  $("cancel").disabled = !running;
  $("progress").hidden = !running;
  if (!running) $("progress").removeAttribute("value");
}

async function run() {
  if (state.statement) return;
  editor.close();
  const { sql, offset } = editor.statement();
  if (!sql.trim()) return;
  clearError();
  remember(sql.trim());
  const statement = new Statement(sql, {
    schema: state.schema,
    onJob: (record) => {
      const progress = record.progress;
      if (progress != null) $("progress").value = progress; else $("progress").removeAttribute("value");
      status(`${record.state.toLowerCase()}${progress != null ? ` ${Math.round(progress * 100)}%` : ""} · job ${record.id}`);
    },
  });
  state.statement = statement;
  state.started = performance.now();
  busy(true);
  status("running…");
  const tick = setInterval(() => {
    if (!statement.id) status(`running… ${((performance.now() - state.started) / 1000).toFixed(1)} s`);
  }, 250);
  try {
    const result = await statement.run();
    const seconds = (performance.now() - state.started) / 1000;
    showResult(result, seconds);
    status("");
  } catch (error) {
    showError(error, offset, sql);
    $("row-count").textContent = "";
    status(error instanceof ApiError && error.body.code === "cancelled" ? "cancelled" : "failed");
    if (error instanceof ApiError && /cancel/i.test(error.body.message || "")) status("cancelled");
  } finally {
    clearInterval(tick);
    state.statement = null;
    busy(false);
  }
}

function showResult(result, seconds) {
  state.result = result;
  const columns = result.columns || [];
  const rows = result.rows || [];
  grid.set(columns, rows, columns.length ? "No rows." : "The statement returned nothing.");
  chart.set(columns, rows);
  const count = result.row_count ?? rows.length;
  const shown = result.truncated
    ? ` (the first ${rows.length.toLocaleString()} shown; download for all)`
    : "";
  $("row-count").textContent = `${count.toLocaleString()} row${count === 1 ? "" : "s"}${shown} · ${seconds.toFixed(2)} s`;
  $("row-count").dataset.rows = String(count);
  $("download-csv").disabled = $("download-parquet").disabled = !result.id;
  const current = document.querySelector("[role=tab][aria-selected=true]").dataset.tab;
  if (current === "records" || current === "explain") showTab("table");
}

$("run").addEventListener("click", () => run());
$("cancel").addEventListener("click", async () => {
  const statement = state.statement;
  if (!statement) return;
  status("cancelling…");
  try { await statement.cancel(); } catch (error) { showError(error); }
});

$("explain").addEventListener("click", async () => {
  const { sql, offset } = editor.statement();
  if (!sql.trim()) return;
  clearError();
  try {
    const { body } = await post("/explain", { sql, schema: state.schema });
    $("explain-text").textContent = body.text;
    showTab("explain");
  } catch (error) {
    showError(error, offset, sql);
  }
});

async function download(format) {
  const result = state.result;
  if (!result || !result.id) return;
  try {
    const data = await blob(`/statements/${encodeURIComponent(result.id)}/result?format=${format}`);
    const url = URL.createObjectURL(data);
    const link = document.createElement("a");
    link.href = url;
    link.download = `dsgrid-sql-${result.id}.${format}`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (error) {
    showError(error);
  }
}
$("download-csv").addEventListener("click", () => download("csv"));
$("download-parquet").addEventListener("click", () => download("parquet"));

// -- records -----------------------------------------------------------------------------

let recordsLoader = null;
let recordsTimer = null;
async function loadRecords() {
  const loader = recordsLoader;
  if (!loader) return;
  try {
    const { body } = await loader($("record-search").value.trim());
    if (loader !== recordsLoader) return;
    const rows = body.records;
    const names = rows.length ? Object.keys(rows[0]).filter((k) => !["dimension_id", "version", "dimension_name", "type", "mapping_id"].includes(k)) : [];
    recordsGrid.set(names.map((n) => ({ name: n, type: n === "from_fraction" ? "double" : "string" })), rows.map((r) => names.map((n) => r[n])));
    $("records-count").textContent = `${rows.length}${body.total != null && body.total !== rows.length ? ` of ${body.total}` : ""} records · click an id to insert it`;
  } catch (error) {
    showError(error);
  }
}
function openRecords(title, loader) {
  $("records-title").textContent = title;
  $("record-search").value = "";
  document.querySelector("[data-tab=records]").hidden = false;
  recordsLoader = loader;
  showTab("records");
  loadRecords();
}
$("record-search").addEventListener("input", () => { clearTimeout(recordsTimer); recordsTimer = setTimeout(loadRecords, 200); });

// -- history (kept in this browser only) ---------------------------------------------------

function history() {
  try { return JSON.parse(localStorage.getItem(HISTORY_KEY) || "[]"); } catch { return []; }
}
function remember(sql) {
  const items = [sql, ...history().filter((s) => s !== sql)].slice(0, MAX_HISTORY);
  localStorage.setItem(HISTORY_KEY, JSON.stringify(items));
  renderHistory();
}
function renderHistory() {
  const select = $("history");
  select.innerHTML = `<option value="">History…</option>`;
  history().forEach((sql, i) => {
    const option = document.createElement("option");
    option.value = String(i);
    option.textContent = sql.replace(/\s+/g, " ").slice(0, 90);
    option.title = sql;
    select.append(option);
  });
}
$("history").addEventListener("change", (event) => {
  const index = event.target.value;
  if (index !== "") { editor.value = history()[Number(index)] || ""; $("sql").focus(); }
  event.target.value = "";
});

// -- sign-in and start -----------------------------------------------------------------------

let signInNeeded = false;

function askSignIn() {
  setToken(null);
  $("sign-in").hidden = false;
  $("console").inert = true;
  $("sign-in-form").elements.user.focus();
}

setUnauthorizedHandler(() => { if (signInNeeded) askSignIn(); });

$("sign-in-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  $("sign-in-error").textContent = "";
  try {
    await signIn(form.elements.user.value, form.elements.password.value);
    form.reset();
    $("sign-in").hidden = true;
    $("console").inert = false;
    await start();
  } catch (error) {
    $("sign-in-error").textContent = error instanceof ApiError ? error.message : String(error);
  }
});

$("sign-out").addEventListener("click", () => { setToken(null); location.reload(); });

$("schema-select").addEventListener("change", (event) => {
  state.schema = event.target.value || null;
  localStorage.setItem(SCHEMA_KEY, state.schema || "");
  tree.load().catch(showError);
});
$("catalog-refresh").addEventListener("click", () => tree.load().catch(showError));

async function start() {
  const { body: session } = await get("/console/session");
  $("user").textContent = signInNeeded ? session.user : "";
  $("sign-out").hidden = !signInNeeded;
  const select = $("schema-select");
  select.innerHTML = "";
  for (const project of session.projects) {
    const option = document.createElement("option");
    option.value = option.textContent = project;
    select.append(option);
  }
  const saved = localStorage.getItem(SCHEMA_KEY);
  state.schema = session.projects.includes(saved) ? saved : session.schema || session.projects[0] || null;
  select.value = state.schema || "";
  await tree.load();
  document.body.dataset.ready = "true";
}

async function boot() {
  renderHistory();
  busy(false);
  grid.clear("Run a query to see its rows here.");
  try {
    const { body } = await get("/console");
    signInNeeded = body.auth;
    if (signInNeeded && !token()) { askSignIn(); return; }
    await start();
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) showError(error);
  }
}

boot();
