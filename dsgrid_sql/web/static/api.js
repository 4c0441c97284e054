// Talking to the HTTP API: JSON over fetch, the Bearer token from sessionStorage.
// Query text travels only in request bodies, never in a URL.

const TOKEN_KEY = "dsgrid-sql.token";
export const API = "/api/v1";

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `The server answered ${status}.`);
    this.status = status;
    this.body = body || {};
  }
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(handler) { onUnauthorized = handler; }

export function token() { return sessionStorage.getItem(TOKEN_KEY); }
export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value); else sessionStorage.removeItem(TOKEN_KEY);
}

function headers(extra = {}) {
  const result = { Accept: "application/json", ...extra };
  const current = token();
  if (current && !result.Authorization) result.Authorization = `Bearer ${current}`;
  return result;
}

async function answer(response) {
  let body = null;
  const type = response.headers.get("content-type") || "";
  if (type.includes("json")) {
    try { body = await response.json(); } catch { body = null; }
  }
  if (!response.ok && response.status !== 202) {
    if (response.status === 401) onUnauthorized();
    throw new ApiError(response.status, body);
  }
  return { status: response.status, body };
}

export async function get(path, options = {}) {
  return answer(await fetch(API + path, { headers: headers(), signal: options.signal }));
}

export async function post(path, data, options = {}) {
  const response = await fetch(API + path, {
    method: "POST",
    headers: headers({ "Content-Type": "application/json", ...(options.headers || {}) }),
    body: data === undefined ? undefined : JSON.stringify(data),
    signal: options.signal,
  });
  return answer(response);
}

export async function blob(path) {
  const response = await fetch(API + path, { headers: headers({ Accept: "*/*" }) });
  if (!response.ok) await answer(response);
  return response.blob();
}

function base64(text) {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

export async function signIn(user, password) {
  const { body } = await post("/token", undefined, {
    headers: { Authorization: `Basic ${base64(`${user}:${password}`)}` },
  });
  setToken(body.token);
  return body;
}

// -- statements --------------------------------------------------------------------------

const DONE = new Set(["SUCCEEDED", "FAILED", "CANCELLED", "EXPIRED"]);

// Runs one statement. Answers {result, job} when it succeeded; throws ApiError when it failed.
// Long statements become jobs: onJob(record) is called with each state seen while polling.
// Rows the page holds of one result: the table draws only the rows in view, but every row
// held is memory in the browser; the downloads carry the whole result.
export const MAX_ROWS = 100000;

export class Statement {
  constructor(sql, { schema, onJob } = {}) {
    this.sql = sql;
    this.schema = schema;
    this.onJob = onJob || (() => {});
    this.id = null;
    this.cancelled = false;
  }

  async run() {
    const request = { sql: this.sql, wait_timeout: 0.5, format: "json", max_rows: MAX_ROWS };
    if (this.schema) request.schema = this.schema;
    const { status, body } = await post("/statements", request);
    this.id = body.id;
    if (status === 200) return body;
    let record = body;
    if (this.cancelled) record = (await post(`/statements/${this.id}/cancel`)).body;
    while (!DONE.has(record.state)) {
      this.onJob(record);
      record = (await get(`/statements/${this.id}?wait_timeout=2`)).body;
    }
    this.onJob(record);
    if (record.state !== "SUCCEEDED") {
      const state = record.state.toLowerCase();
      const error = record.error || { code: state, message: `The query was ${state}.` };
      throw new ApiError(409, error);
    }
    const { body: result } = await get(
      `/statements/${this.id}/result?format=json&max_rows=${MAX_ROWS}`,
    );
    return { ...record, ...result };
  }

  async cancel() {
    this.cancelled = true;
    if (this.id) await post(`/statements/${this.id}/cancel`);
  }
}
