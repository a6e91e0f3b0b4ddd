// Every word of the interface is in both message tables, and every key the code asks for exists.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { MESSAGES, worded, setLang } from '../../web/js/i18n.js';

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

test('refusals are worded from their code and parameters, closed-list words translated', () => {
  // setLang fills the page's marked elements: a page with none will do.
  globalThis.document = { documentElement: {}, querySelectorAll: () => [], getElementById: () => null };
  try {
    setLang('zh');
    assert.equal(worded('range', { min: 0, max: 100, got: 120 }), '应在 0 到 100 之间，收到 120');
    assert.equal(worded('range', { min: 1, max: 5 }), '应在 1 到 5 之间');
    assert.equal(worded('wrong_state', { action: 'verify', status: 'planned' }), '任务为“未开始”，不能核验销号');
    assert.equal(worded('unknown_value', { got: 'done', allowed: ['planned', 'in_progress'] }),
      '“done”不在可选范围内，可选：planned、in_progress');
    assert.equal(worded('wrong_type', { expected: 'integer', type: 'string' }), '应为整数，收到的是文字');
    assert.equal(worded('required_with', { field: 'target_quantity' }), '填写了目标量时，此项必填');
    assert.equal(worded('no_such_code', {}), null);
    setLang('en');
    assert.equal(worded('range', { min: 0, max: 100, got: 120 }), 'Must be between 0 and 100 (120 given)');
    assert.equal(worded('format', { expected: 'date', got: '2026-13-01' }), '“2026-13-01” is not a date (YYYY-MM-DD)');
  } finally {
    setLang('zh');
    delete globalThis.document;
  }
});

test('the Chinese words of every refusal hold no Latin of their own', () => {
  const words = Object.entries(MESSAGES.zh).filter(([k]) => k.startsWith('code.') || k.startsWith('term.') || k.startsWith('problem.'));
  assert.ok(words.length > 100, `${words.length} refusal words`);
  for (const [k, v] of words) {
    if (k.startsWith('term.reason.') || k === 'problem.show' || k === 'problem.more' || k === 'problem.field') continue;
    assert.ok(!/[A-Za-z]/.test(v.replace(/\{[a-z_]+\}/g, '')), `${k}: ${v}`);
  }
});
