// What the map's filters can ask of a vector tile's clusters and single tasks, read defensively:
// an attribute a tile leaves out makes the map list the tasks from the API rather than guess.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFeature, clusterCount, taskMatches, beyondClusters } from '../../web/js/tile-filters.js';

const none = { category: [], status: [], township: '', overdue: false, supervised: false, q: '' };
const cluster = readFeature({ cluster: true, category: 'watershed', count: 10, planned: 1, in_progress: 2,
  completed: 3, verified: 4, cancelled: 0, supervised: 3 });

test('a cluster answers family, status and supervision, and says when it cannot', () => {
  assert.equal(cluster.kind, 'cluster');
  assert.equal(clusterCount(cluster, none), 10);
  assert.equal(clusterCount(cluster, { ...none, category: ['village'] }), 0);
  assert.equal(clusterCount(cluster, { ...none, category: ['watershed'], status: ['completed', 'verified'] }), 7);
  assert.equal(clusterCount(cluster, { ...none, supervised: true }), 3);
  // Supervised tasks are not counted per status, nor anything per township or deadline.
  assert.equal(clusterCount(cluster, { ...none, supervised: true, status: ['planned'] }), null);
  assert.equal(clusterCount(cluster, { ...none, township: '330599101' }), null);
  assert.equal(clusterCount(cluster, { ...none, overdue: true }), null);
  assert.equal(beyondClusters({ ...none, overdue: true }), 'overdue');
  assert.equal(beyondClusters({ ...none, q: 'WS' }), 'search');
});

test('tile attributes are read defensively', () => {
  // Without counts per status, a status filter cannot be answered; a count alone marks a cluster.
  const bare = readFeature({ count: 5, category: 'energy' });
  assert.equal(bare.kind, 'cluster');
  assert.equal(clusterCount(bare, none), 5);
  assert.equal(clusterCount(bare, { ...none, status: ['planned'] }), null);
  // A feature that is neither a task with an id nor a count is left out.
  assert.equal(readFeature({ title: 'no id' }), null);
  // Single tasks, with booleans as a tile may encode them.
  const task = readFeature({ id: 'a1', code: 'WS-2026-0001', category: 'watershed', status: 'planned',
    township: '330599101', overdue: true, supervised: 'false', extra: 1 });
  assert.equal(task.kind, 'task');
  assert.equal(taskMatches(task.properties, { ...none, overdue: true, township: '330599101' }), true);
  assert.equal(taskMatches(task.properties, { ...none, supervised: true }), false);
  assert.equal(taskMatches(task.properties, { ...none, status: ['verified'] }), false);
  const noTownship = readFeature({ id: 'a2', status: 'planned' });
  assert.equal(taskMatches(noTownship.properties, { ...none, township: '330599101' }), null);
  assert.equal(taskMatches(task.properties, { ...none, q: 'WS' }), null);
});
