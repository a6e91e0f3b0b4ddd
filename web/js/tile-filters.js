// What the map's filters mean for the contents of a vector tile. A single task carries the
// attributes every filter but search needs; a cluster (one cell and family) carries its family,
// its count per status and how many of it are under supervision, nothing per township and nothing
// about deadlines. So a cluster can answer family and status filters exactly, supervision only
// when no status is picked, and nothing else: those views are listed from the API instead.
// No DOM and no Leaflet here, so the rules can be checked outside a browser.

import { STATUSES } from './i18n.js';

/** The filter that no tile content can answer (search), or null. */
export function beyondTiles(filters) {
  return filters.q?.trim() ? 'search' : null;
}

/** The first filter clusters cannot answer, or null when they answer them all. */
export function beyondClusters(filters) {
  if (beyondTiles(filters)) return beyondTiles(filters);
  if (filters.township) return 'township';
  if (filters.overdue) return 'overdue';
  const someStatuses = filters.status.length && filters.status.length < STATUSES.length;
  if (filters.supervised && someStatuses) return 'supervised';
  return null;
}

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const bool = (v) => v === true || v === 'true' || v === 1;

/**
 * A tile feature's attributes as the map uses them. Read defensively: a tile server may add
 * attributes or leave some out, and then this says what it can still be used for.
 */
export function readFeature(props) {
  const id = typeof props.id === 'string' || typeof props.id === 'number' ? String(props.id) : null;
  const count = num(props.count);
  if (bool(props.cluster) || (id === null && count !== null)) {
    const byStatus = {};
    let known = true;
    for (const s of STATUSES) {
      const n = num(props[s]);
      if (n === null) known = false;
      byStatus[s] = n ?? 0;
    }
    return {
      kind: 'cluster',
      category: typeof props.category === 'string' ? props.category : null,
      count: count ?? 0,
      byStatus: known ? byStatus : null,
      supervised: num(props.supervised),
    };
  }
  if (id === null) return null;
  return {
    kind: 'task',
    id,
    properties: {
      code: props.code ?? '', title: props.title ?? '', category: props.category ?? null,
      status: props.status ?? null, progress: num(props.progress), township: props.township ?? null,
      overdue: props.overdue === undefined ? null : bool(props.overdue),
      supervised: props.supervised === undefined ? null : bool(props.supervised),
      due_date: props.due_date ?? null, visibility: props.visibility ?? null,
    },
  };
}

/** How many of a cluster's tasks pass the filters, or null when the filters ask what it cannot tell. */
export function clusterCount(c, filters) {
  if (beyondClusters(filters)) return null;
  if (filters.category.length && !filters.category.includes(c.category)) return 0;
  const allStatuses = !filters.status.length || filters.status.length >= STATUSES.length;
  let n = c.count;
  if (!allStatuses) {
    if (!c.byStatus) return null;
    n = filters.status.reduce((sum, s) => sum + (c.byStatus[s] ?? 0), 0);
  }
  if (filters.supervised) {
    if (c.supervised === null) return null;
    n = Math.min(n, c.supervised);
  }
  return n;
}

/**
 * Whether a single task from a tile passes the filters; null when the tile left out an attribute
 * a filter needs.
 */
export function taskMatches(p, filters) {
  if (beyondTiles(filters)) return null;
  const checks = [
    [filters.category.length, 'category', () => filters.category.includes(p.category)],
    [filters.status.length, 'status', () => filters.status.includes(p.status)],
    [filters.township, 'township', () => p.township === filters.township],
    [filters.overdue, 'overdue', () => p.overdue === true],
    [filters.supervised, 'supervised', () => p.supervised === true],
  ];
  for (const [active, key, test] of checks) {
    if (!active) continue;
    if (p[key] === null || p[key] === undefined) return null;
    if (!test()) return false;
  }
  return true;
}
