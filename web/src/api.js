// api.js: calls of the changewatch API from the pages. The session cookie authenticates;
// writes carry the CSRF token from the csrf cookie (double submit).

function csrf() {
  const m = document.cookie.match(/(?:^|;\s*)changewatch_csrf=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : '';
}

export class APIError extends Error {
  constructor(status, detail) {
    super(detail || `HTTP ${status}`);
    this.status = status;
  }
}

export async function api(path, { method = 'GET', body, type = 'application/json' } = {}) {
  const headers = { Accept: 'application/json' };
  const opts = { method, headers, credentials: 'same-origin' };
  if (method !== 'GET') headers['X-CSRF-Token'] = csrf();
  if (body !== undefined) {
    headers['Content-Type'] = type;
    opts.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const res = await fetch(path, opts);
  if (res.status === 401) {
    location.href = '/login';
    throw new APIError(401, 'log in');
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) throw new APIError(res.status, data && data.detail ? data.detail : text);
  return data;
}

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export async function whoami() {
  const me = await api('/api/v1/me');
  document.getElementById('who').textContent = `${me.name} (${me.role})`;
  return me;
}
