// Every word of the interface is in both message tables, and every key the code asks for exists.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { MESSAGES } from '../../web/js/i18n.js';

const web = new URL('../../web/', import.meta.url);

test('the Chinese and English tables have the same keys, none empty', () => {
  const zh = Object.keys(MESSAGES.zh).sort();
  const en = Object.keys(MESSAGES.en).sort();
  assert.deepEqual(en, zh);
  for (const l of ['zh', 'en']) {
    for (const [k, v] of Object.entries(MESSAGES[l])) assert.ok(v.trim(), `${l} ${k} is empty`);
  }
});

test('every message key used by the page and its modules is in the tables', () => {
  const sources = readdirSync(new URL('js/', web)).map((f) => readFileSync(new URL(`js/${f}`, web), 'utf8'));
  sources.push(readFileSync(new URL('index.html', web), 'utf8'));
  const used = new Set();
  for (const src of sources) {
    for (const m of src.matchAll(/\bt\('([a-zA-Z.]+)'/g)) used.add(m[1]);
    for (const m of src.matchAll(/data-i18n(?:-[a-z-]+)?="([a-zA-Z.]+)"/g)) used.add(m[1]);
    for (const m of src.matchAll(/(?:label|key): '([a-z]+\.[a-zA-Z.]+)'/g)) used.add(m[1]);
  }
  const missing = [...used].filter((k) => !(k in MESSAGES.zh));
  assert.deepEqual(missing, []);
  assert.ok(used.size > 100, `${used.size} keys found in the code`);
});
