// The one way the map talks to the service. Refusals arrive as RFC 9457 problem documents and
// leave here as ApiError, worded from the page's own tables (i18n.js) by their kind and code, so
// every form can show what went wrong and put each field's error next to its field.

import { t, lang, worded } from './i18n.js';
import { uuid } from './ui.js';

/** A field error's words, named by its field where the page has a name for it. */
function labelled(e) {
  const name = String(e.pointer || '').split('/').pop();
  const field = name ? t(`field.${name}`, {}, '') : '';
  return field ? t('problem.field', { field, message: e.message }) : e.message;
}

/** A refusal from the service, with its problem document and the words a form shows for it. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    this.kind = String(this.problem.type || '').replace(/^\/problems\//, '');
    // The service's own detail (written in the page's language, see `api`) only for what the
    // page's tables do not know.
    this.errors = (Array.isArray(this.problem.errors) ? this.problem.errors : [])
      .map((e) => ({ ...e, message: worded(e.code, e.params) ?? e.detail ?? '' }));
    this.lead = worded(this.problem.code, this.problem.params)
      ?? (this.kind ? t(`problem.${this.kind}`, {}, '') : '')
      ?? '';
    if (!this.lead && !this.errors.length) this.lead = this.problem.detail || `HTTP ${status}`;
  }

  /**
   * What to show above a form: the first of the field errors the form does not show beside their
   * fields (`placed(error)` says which it does) and how many more, after the refusal's lead when
   * some are beside their fields; the lead alone when all are, or when there are none.
   * @param {(error: object) => boolean} [placed]
   * @returns {string}
   */
  text(placed = () => false) {
    const rest = this.errors.filter((e) => !placed(e));
    if (!rest.length) return this.lead;
    const first = labelled(rest[0]);
    const said = rest.length > 1 ? t('problem.more', { detail: first, n: rest.length - 1 }) : first;
    return rest.length < this.errors.length && this.lead ? t('problem.show', { lead: this.lead, detail: said }) : said;
  }

  /** The whole refusal in one line, for places that show no field beside its error. */
  get detail() {
    return this.text();
  }
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
  // The service writes what it says (a refusal's detail) in the reader's language.
  const init = { method, headers: { 'Accept-Language': lang() === 'en' ? 'en' : 'zh-CN', ...headers }, signal,
    credentials: 'same-origin' };
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

/** Idempotency-Keys of creates whose answer never came, by what they sent. */
const unanswered = new Map();

/**
 * Sends a request that creates something (a task, a transition), with an Idempotency-Key: when
 * the answer does not come (the network dropped, the service answered 503), the same request sent
 * again carries the same key, so the service stores it once and gives the first answer again. A
 * changed request gets a new key.
 * @param {string} path
 * @param {object} opts as for `api`
 * @returns {Promise<{data: any, etag: string | null, headers: Headers, status: number}>}
 */
export async function create(path, opts) {
  const sent = `${opts.method || 'POST'} ${path} ${JSON.stringify(opts.json ?? null)} ${JSON.stringify(opts.headers ?? {})}`;
  const key = unanswered.get(sent) || uuid();
  unanswered.set(sent, key);
  try {
    const r = await api(path, { ...opts, headers: { ...opts.headers, 'Idempotency-Key': key } });
    unanswered.delete(sent);
    return r;
  } catch (e) {
    if (!(e instanceof NetworkError || e.status === 503)) unanswered.delete(sent);
    throw e;
  }
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
