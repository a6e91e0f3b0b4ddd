#!/usr/bin/env node
// Checks web/js as a whole, which no browser test sees at once: every export is imported somewhere
// (by a module, the page, a test or a script), every export carries a JSDoc block, no `///`
// comments remain, and every bare module name resolves through the page's import map.
// Plain Node, no dependencies: the modules are read as text with the few shapes of import and
// export this code base writes; a shape it does not know is reported, not passed over.
//
// Usage: node scripts/check-js.mjs [repo root]; exits 1 listing what is wrong.

import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, dirname, resolve, relative } from 'node:path';

const root = resolve(process.argv[2] || join(dirname(new URL(import.meta.url).pathname), '..'));
const WEB = join(root, 'web');
const JS = join(WEB, 'js');

/** Files below `dir` whose names end with one of `exts`, skipping node_modules. */
function filesUnder(dir, exts) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : filesUnder(p, exts);
    return exts.some((x) => e.name.endsWith(x)) ? [p] : [];
  });
}

/** The source with comments blanked (same length and lines), so their text is never read as code. */
function withoutComments(src) {
  return src.replace(/\/\*[\s\S]*?\*\/|(^|[^:'"`\\])\/\/.*$/gm, (m, pre = '') => pre + m.slice(pre.length).replace(/[^\n]/g, ' '));
}

const lineOf = (src, index) => src.slice(0, index).split('\n').length;

/** `{ a, b as c }` → [['a', 'a'], ['b', 'c']] (name in the module, local name). */
function namesIn(list) {
  return list.split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
    const [name, local = name] = s.split(/\s+as\s+/).map((x) => x.trim());
    return [name, local];
  });
}

/** Every export of a module: [{name, line, kind}], and the shapes it could not read. */
function exportsOf(code) {
  const found = [];
  const unknown = [];
  for (const m of code.matchAll(/^export\s+(.*)$/gm)) {
    const line = lineOf(code, m.index);
    const rest = m[1];
    let d;
    if ((d = rest.match(/^(?:async\s+)?function\s*\*?\s*([\w$]+)/))) found.push({ name: d[1], line, kind: 'function' });
    else if ((d = rest.match(/^class\s+([\w$]+)/))) found.push({ name: d[1], line, kind: 'class' });
    else if ((d = rest.match(/^(?:const|let|var)\s+([\w$]+)\s*=\s*(.*)$/))) {
      const fn = /^(?:async\s+)?(?:function\b|\([^)]*\)\s*=>|[\w$]+\s*=>)/.test(d[2]);
      found.push({ name: d[1], line, kind: fn ? 'function' : 'value' });
    } else if (/^default\b/.test(rest)) found.push({ name: 'default', line, kind: 'value' });
    else if ((d = code.slice(m.index).match(/^export\s*\{([^}]*)\}\s*(?:from\s*['"]([^'"]+)['"])?/))) {
      for (const [, exported] of namesIn(d[1])) found.push({ name: exported, line, kind: 'list' });
    } else unknown.push(`line ${line}: export ${rest.slice(0, 40)}`);
  }
  return { found, unknown };
}

/**
 * Every import of a module: [{spec, names: [..] | '*'}]. A namespace import counts the names read
 * from it (`ns.name`); a dynamic import the names destructured from it, else all of them.
 */
function importsOf(code) {
  const out = [];
  // The clause between the keyword and `from`: names, `* as ns`, `{ a, b as c }`, nothing else.
  const staticImport = /(?:^|[;\n])\s*(import|export)\s*((?:[\w$*\s,]|\{[^}]*\})*?)\s*from\s*['"]([^'"]+)['"]/g;
  for (const m of code.matchAll(staticImport)) {
    const [, kind, clause, spec] = m;
    const names = [];
    const braces = clause.match(/\{([^}]*)\}/);
    if (braces) names.push(...namesIn(braces[1]).map(([n]) => n));
    if (kind === 'export' && /^\*/.test(clause)) {
      out.push({ spec, names: '*' });
      continue;
    }
    const ns = clause.match(/\*\s*as\s+([\w$]+)/);
    if (ns) for (const u of code.matchAll(new RegExp(`\\b${ns[1].replace('$', '\\$')}\\.([\\w$]+)`, 'g'))) names.push(u[1]);
    const def = clause.match(/^([\w$]+)\s*(?:,|$)/);
    if (kind === 'import' && def) names.push('default');
    out.push({ spec, names });
  }
  for (const m of code.matchAll(/(?:^|[;\n])\s*import\s*['"]([^'"]+)['"]/g)) out.push({ spec: m[1], names: [] });
  for (const m of code.matchAll(/(?:\{([^}]*)\}\s*=\s*await\s+)?\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    out.push({ spec: m[2], names: m[1] ? namesIn(m[1].replace(/:\s*[\w$]+/g, '')).map(([n]) => n) : '*' });
  }
  return out;
}

/** The page's module entries (script type=module, modulepreload) and its import map. */
function pageOf(html) {
  const entries = [...html.matchAll(/<script[^>]*type="module"[^>]*src="([^"]+)"/g)].map((m) => m[1]);
  const preloads = [...html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g)].map((m) => m[1]);
  const map = html.match(/<script type="importmap">([\s\S]*?)<\/script>/);
  return { entries, preloads, importMap: map ? JSON.parse(map[1]).imports || {} : {} };
}

/** Where a specifier written in `from` points: an absolute file, or null for a bare name. */
function resolveSpec(spec, from) {
  if (spec.startsWith('/')) return join(WEB, spec);
  if (spec.startsWith('.')) return resolve(dirname(from), spec);
  return null;
}

/** Whether the lines just above line index `i` are a block comment opened with `/**`. */
function jsdocAbove(lines, i) {
  let j = i - 1;
  if (j < 0 || !/\*\/\s*$/.test(lines[j])) return false;
  while (j > 0 && !lines[j].includes('/*')) j -= 1;
  return /^\s*\/\*\*(?!\*)/.test(lines[j]);
}

/** The problems found, as lines to print. */
function check() {
  const problems = [];
  const rel = (p) => relative(root, p);
  const modules = filesUnder(JS, ['.js', '.mjs']);
  const page = pageOf(readFileSync(join(WEB, 'index.html'), 'utf8'));
  const used = new Map(modules.map((f) => [f, new Set()]));
  const reached = new Set(page.entries.map((s) => resolveSpec(s, WEB)));
  for (const s of [...page.entries, ...page.preloads]) {
    if (!existsSync(resolveSpec(s, WEB))) problems.push(`web/index.html: ${s} does not exist`);
  }
  const worker = [join(WEB, 'sw.js')].filter(existsSync);
  const readers = [...modules, ...worker, ...filesUnder(join(root, 'tests'), ['.mjs', '.js']), ...filesUnder(join(root, 'scripts'), ['.mjs'])];
  for (const file of readers) {
    const code = withoutComments(readFileSync(file, 'utf8'));
    for (const { spec, names } of importsOf(code)) {
      const target = resolveSpec(spec, file);
      if (target === null) {
        if (modules.includes(file) && !(spec in page.importMap)) problems.push(`${rel(file)}: '${spec}' is not in web/index.html's import map`);
        continue;
      }
      if (!used.has(target)) {
        if (modules.includes(file) && !existsSync(target)) problems.push(`${rel(file)}: imports ${spec}, which does not exist`);
        continue;
      }
      reached.add(target);
      if (names === '*') used.get(target).add('*');
      else for (const n of names) used.get(target).add(n);
    }
  }
  for (const file of modules) {
    const src = readFileSync(file, 'utf8');
    const code = withoutComments(src);
    const lines = src.split('\n');
    lines.forEach((l, i) => /^\s*\/\/\//.test(l) && problems.push(`${rel(file)}:${i + 1}: a /// comment: write JSDoc (/** ... */)`));
    if (!reached.has(file)) problems.push(`${rel(file)}: no page, module, test or script imports this module`);
    const { found, unknown } = exportsOf(code);
    for (const u of unknown) problems.push(`${rel(file)}: an export this check cannot read (${u})`);
    for (const e of found) {
      const names = used.get(file);
      if (reached.has(file) && !names.has(e.name) && !names.has('*')) problems.push(`${rel(file)}:${e.line}: export '${e.name}' is imported nowhere`);
      if (e.kind !== 'list' && !jsdocAbove(lines, e.line - 1)) {
        problems.push(`${rel(file)}:${e.line}: export '${e.name}' has no JSDoc block (/** ... */) above it`);
      }
    }
  }
  return problems;
}

const problems = check();
if (problems.length) {
  console.error(`check-js: ${problems.length} problem(s) in web/js:`);
  for (const p of problems) console.error(`  ${p}`);
  process.exit(1);
}
console.log('check-js: every export of web/js is imported and documented');
