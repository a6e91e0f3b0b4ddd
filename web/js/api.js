// The one way the map talks to the service. Refusals arrive as RFC 9457 problem documents and
// leave here as ApiError, so every form can show `detail` and put `errors` next to their fields.

import { t } from './i18n.js';

/** Kinds of refusal the service's detail adds nothing to, beyond the map's own words. */
const SAID_ENOUGH = new Set(['wrong-credentials', 'unavailable', 'internal']);

/** A refusal from the service, with its problem document and the text a form shows for it. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    this.kind = String(this.problem.type || '').replace(/^\/problems\//, '');
    this.detail = shown(this.kind, this.problem.detail || '');
    this.errors = Array.isArray(this.problem.errors) ? this.problem.errors : [];
  }
}

/**
 * What a form shows for a refusal: the map's words for its kind, in the reader's language, then
 * the service's detail, which is English and precise (which field, which coordinate).
 */
function shown(kind, said) {
  const lead = kind ? t(`problem.${kind}`, {}, '') : '';
  if (!lead) return said;
  return said && !SAID_ENOUGH.has(kind) ? t('problem.show', { lead, detail: said }) : lead;
}

/** The request never reached the service (offline, or the connection dropped). */
export class NetworkError extends Error {
  constructor(cause) {
    super('network');
    this.cause = cause;
  }
}

/**
 * Sends a request and returns {data, etag, headers, status}. `json` is sent as JSON, `form` as
 * multipart. Same-origin fetch sends our Origin, which cookie-authenticated writes must carry.
 */
export async function api(path, { method = 'GET', json, form, headers = {}, signal, contentType } = {}) {
  const init = { method, headers: { ...headers }, signal, credentials: 'same-origin' };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers['Content-Type'] = contentType || 'application/json';
  } else if (form) {
    init.body = form;
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new NetworkError(e);
  }
  const type = res.headers.get('content-type') || '';
  let data = null;
  if (res.status !== 204 && res.status !== 304) {
    data = type.includes('json') ? await res.json().catch(() => null) : await res.text();
  }
  if (!res.ok && res.status !== 304) throw new ApiError(res.status, typeof data === 'object' ? data : { detail: data });
  return { data, etag: res.headers.get('etag'), headers: res.headers, status: res.status };
}

/**
 * GET `path` and its body.
 * @param {string} path
 * @param {object} [opts] as for `api`
 * @returns {Promise<any>}
 */
export const get = (path, opts) => api(path, opts).then((r) => r.data);

/** Query string from an object, leaving out empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '' || (Array.isArray(v) && !v.length)) continue;
    q.set(k, Array.isArray(v) ? v.join(',') : String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}
