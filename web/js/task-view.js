// What the task panel shows of a task, built from its data alone: its summary (title, family,
// badges, progress, fields), its history and its reports.

import { t, statusName, catName, fmtDate, fmtDateTime, fmtMoney, actionName } from './i18n.js';
import { h, progressBar } from './ui.js';
import { departmentName } from './departments.js';

function field(label, value) {
  if (value === null || value === undefined || value === '') return null;
  return [h('dt', {}, t(label)), h('dd', {}, value)];
}

function badges(p) {
  return h('p', { class: 'badges' },
    h('span', { class: `badge st-${p.status}`, id: 'task-status' }, statusName(p.status)),
    p.supervised ? h('span', { class: 'badge sup' }, t('task.supervised')) : null,
    p.overdue ? h('span', { class: 'badge od' }, t('task.overdue')) : null,
    p.visibility === 'internal' ? h('span', { class: 'badge internal' }, t('visibility.internal')) : null);
}

/**
 * The task's history, newest first.
 * @param {object[] | null} entries GET /api/tasks/{id}/history; null while loading
 */
export function historyList(entries) {
  if (!entries) return h('p', { class: 'note' }, t('common.loading'));
  if (!entries.length) return h('p', { class: 'note' }, t('history.empty'));
  return h('ol', { class: 'history', id: 'task-history' }, entries.slice().reverse().map((e) => h('li', {},
    h('time', { datetime: e.at }, fmtDateTime(e.at)), ' ',
    h('strong', {}, e.action ? actionName(e.action) : t(`history.kind.${e.kind}`)),
    e.status_before && e.status_after && e.status_before !== e.status_after
      ? ` ${statusName(e.status_before)} → ${statusName(e.status_after)}` : '',
    e.actor_name ? h('span', { class: 'actor' }, ` · ${e.actor_name}`) : '',
    e.reason ? h('div', { class: 'reason' }, `${t(e.kind === 'chased' ? 'history.chaseMessage' : 'history.reason')}: ${e.reason}`) : null,
    e.changes ? h('div', { class: 'changes' }, changeText(e)) : null)));
}

function changeText(e) {
  const c = e.changes;
  if (e.kind === 'reported') {
    return [c.progress?.after !== undefined ? `${c.progress.after}%` : '', c.note || '',
      c.photos ? t('reports.photos', { n: c.photos }) : ''].filter(Boolean).join(' · ');
  }
  if (e.kind === 'chased') return t('history.chasedTo', { n: (c.units || []).length });
  // A creation snapshots every field; an edit lists what changed.
  if (e.kind === 'created') return '';
  return `${t('history.changed')}: ${Object.keys(c).map((k) => t(`field.${k}`, {}, k)).join(', ')}`;
}

/**
 * The task's reports with their photos, for those who may read them.
 * @param {object[] | null} reports GET /api/tasks/{id}/reports; null shows nothing
 */
export function reportList(reports) {
  if (!reports) return null;
  return h('section', {}, h('h3', {}, t('reports.title')),
    reports.length ? h('ul', { class: 'reports', id: 'task-reports' }, reports.map((r) => h('li', {},
      h('time', { datetime: r.created_at }, fmtDateTime(r.created_at)), ' ', r.author_name || r.author,
      r.action ? h('strong', {}, ` · ${actionName(r.action)}`) : '',
      r.progress !== null && r.progress !== undefined ? ` · ${r.progress}%` : '',
      r.note ? h('p', {}, r.note) : null,
      reportEvidence(r),
      r.photos?.length ? h('div', { class: 'photos' }, r.photos.map((ph, i) => h('figure', { class: 'photo', dataset: { stage: ph.stage } },
        h('a', { href: ph.url, target: '_blank', rel: 'noopener' },
          h('img', { src: ph.thumbnail_url || ph.url, alt: t('reports.photo', { n: i + 1 }), loading: 'lazy' })),
        ph.stage ? h('figcaption', { class: 'stage' }, t(`stage.${ph.stage}`)) : null,
        evidenceNote(ph.evidence)))) : null)))
      : h('p', { class: 'note' }, t('reports.empty')));
}

/**
 * A verified task's photos before and after the work, side by side (GET /api/tasks/{id}/photos):
 * thumbnails, each a link to the picture. Nothing when there is no pair to show.
 * @param {{url: string, thumbnail_url: string, stage: string}[] | null} photos
 */
export function beforeAfter(photos) {
  const of = (stage) => (photos || []).filter((p) => p.stage === stage);
  const [before, after] = [of('before'), of('after')];
  if (!before.length || !after.length) return null;
  const column = (stage, list) => h('div', { class: `ba-${stage}` }, h('h4', {}, t(`stage.${stage}`)),
    list.slice(0, 2).map((p) => h('a', { href: p.url, target: '_blank', rel: 'noopener' },
      h('img', { src: p.thumbnail_url, alt: t(`stage.${stage}`), loading: 'lazy' }))));
  return h('section', { class: 'before-after', id: 'before-after' }, h('h3', {}, t('photos.beforeAfter')),
    h('div', { class: 'ba-pair' }, column('before', before), column('after', after)));
}

/**
 * One evidence flag of a photo or a report (GET /api/tasks/{id}/reports), in the reader's words,
 * with its numbers.
 * @param {{flag: string}} f
 * @returns {string}
 */
export function flagText(f) {
  const params = { ...f };
  if (f.taken_at) params.taken = fmtDateTime(f.taken_at);
  if (f.device_time) {
    params.time = fmtDateTime(f.device_time);
    params.minutes = Math.abs(f.minutes_off);
  }
  if (f.flag === 'clock') return t(f.minutes_off < 0 ? 'evidence.flag.clockBehind' : 'evidence.flag.clockAhead', params);
  return t(f.by === 'likeness' ? 'evidence.flag.reusedLikeness' : `evidence.flag.${f.flag}`, params);
}

/**
 * What a report photo says about itself (GET /api/tasks/{id}/reports, `evidence`): when and how
 * far from the task it was taken, on what, and the verifier's flags. Nothing for photos filed
 * before the service read them.
 * @param {object | null | undefined} ev
 */
function evidenceNote(ev) {
  if (!ev) return null;
  const facts = [
    ev.taken_at ? t('evidence.taken', { time: fmtDateTime(ev.taken_at) }) : null,
    ev.distance_m !== null && ev.distance_m !== undefined ? t('evidence.distance', { m: Math.round(ev.distance_m) }) : null,
    ev.camera,
  ].filter(Boolean).join(' · ');
  const flags = ev.flags || [];
  return h('figcaption', { class: 'evidence' }, facts ? h('span', {}, facts) : null,
    flags.length ? h('ul', { class: 'flags' }, flags.map((f) => h('li', { class: `flag flag-${f.flag}` }, flagText(f)))) : null);
}

/** Where the phone was when the report was written and the report's own flags (far, clock). */
function reportEvidence(r) {
  const d = r.sent_from?.distance_m;
  const where = r.sent_from ? t('evidence.sentFrom', { m: d === null || d === undefined ? '?' : Math.round(d) }) : null;
  const flags = r.flags || [];
  if (!where && !flags.length) return null;
  return h('div', { class: 'evidence report-evidence' }, where ? h('span', {}, where) : null,
    flags.length ? h('ul', { class: 'flags' }, flags.map((f) => h('li', { class: `flag flag-${f.flag}` },
      f.flag === 'far' ? t('evidence.flag.sentFar', f) : flagText(f)))) : null);
}

/** The task's public and (for those entitled) private fields, as a definition list; its version,
 * which only matters to those who edit it, for the bureau. */
function fields(p, staff) {
  return h('dl', { class: 'fields', id: 'task-fields' },
    field('task.township', p.township_name),
    field('task.leadUnit', p.lead_unit),
    field('task.leadDepartment', p.lead_department ? departmentName(p.lead_department) : null),
    field('task.supportDepartments', (p.support_departments || []).map(departmentName).join('、') || null),
    field('task.dueDate', p.due_date ? fmtDate(p.due_date) : null),
    field('task.planned', p.planned_investment !== null ? fmtMoney(p.planned_investment) : null),
    field('task.actual', p.actual_investment !== null ? fmtMoney(p.actual_investment) : null),
    field('task.target', p.target_quantity !== null && p.target_quantity !== undefined ? `${p.target_quantity} ${p.target_unit || ''}` : null),
    field('task.contactPerson', p.contact_person),
    field('task.contactPhone', p.contact_phone),
    field('task.completedAt', p.completed_at ? fmtDateTime(p.completed_at) : null),
    field('task.verifiedAt', p.verified_at ? fmtDateTime(p.verified_at) : null),
    field('task.lastReport', p.last_report_at ? fmtDateTime(p.last_report_at) : null),
    staff ? field('task.version', String(p.version)) : null);
}

/**
 * The top of the panel: the message of what just happened, the title, family, badges, progress,
 * reasons, description and fields.
 * @param {object} p the task's properties
 * @param {object | undefined} cat its family (GET /api/categories)
 * @param {{message?: string, messageKind?: string, staff?: boolean}} shown the message to show,
 *   'ok', 'error' or 'stale' (data from the phone), and whether the reader is bureau staff
 * @returns {Node[]}
 */
export function taskSummary(p, cat, { message, messageKind, staff }) {
  return [
    message ? h('p', { class: messageKind === 'ok' ? 'ok' : messageKind, role: 'status', id: 'task-message' }, message) : null,
    h('h2', { id: 'task-title' }, p.title),
    h('p', { class: 'family' }, h('i', { class: 'swatch', style: { background: cat?.color || '#888' }, 'aria-hidden': 'true' }),
      cat ? catName(cat) : p.category),
    badges(p),
    progressBar(p.progress, t('task.progress')),
    p.return_reason ? h('p', { class: 'returned', id: 'task-return-reason' }, `${t('task.returnReason')}: ${p.return_reason}`) : null,
    p.cancel_reason ? h('p', { class: 'note' }, `${t('task.cancelReason')}: ${p.cancel_reason}`) : null,
    p.description ? h('p', { class: 'description' }, p.description) : null,
    fields(p, staff),
  ];
}
