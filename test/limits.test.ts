// Each limit and pattern is stated once (ts/limits.ts); the native binding's mirror
// (native/binding/limits.hpp) must agree with it, and the codes native code reports must be codes
// of the package's one table (ErrorCode in ts/errors.ts).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ErrorCode } from '../ts/errors.js';
import * as limits from '../ts/limits.js';

const root = new URL('..', import.meta.url).pathname;
const read = (p: string) => readFileSync(join(root, p), 'utf8');

function filesUnder(dir: string, ext: RegExp): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, dir))) {
    const p = join(dir, name);
    if (statSync(join(root, p)).isDirectory()) out.push(...filesUnder(p, ext));
    else if (ext.test(name)) out.push(p);
  }
  return out;
}

/** Evaluates a C++ integer constant expression of the forms the header uses. */
function cppValue(expr: string): number {
  const shift = /^int64_t\{1\}\s*<<\s*(\d+)$/.exec(expr.trim());
  if (shift) return 2 ** Number(shift[1]);
  return Number(expr.trim());
}

describe('limits stated once', () => {
  it('native/binding/limits.hpp (and the readers\' native/storage/reader.hpp) mirror every numeric limit they name, with the same value', () => {
    const mirrored = (path: string) => [...read(path).matchAll(/constexpr int64_t (\w+) = ([^;]+);\s*\/\/ (\w+)/g)];
    assert.ok(mirrored('native/binding/limits.hpp').length >= 10, 'the header lists its limits');
    assert.ok(mirrored('native/storage/reader.hpp').some((m) => m[3] === 'MAX_DEFLATE_EXPANSION'), 'the readers mirror MAX_DEFLATE_EXPANSION');
    for (const [, cppName, expr, tsName] of [...mirrored('native/binding/limits.hpp'), ...mirrored('native/storage/reader.hpp')]) {
      const value = (limits as Record<string, unknown>)[tsName];
      assert.equal(typeof value, 'number', `${cppName} mirrors ${tsName}, which ts/limits.ts must export`);
      assert.equal(cppValue(expr), value, `${cppName} (${expr}) equals ${tsName} (${String(value)})`);
    }
  });

  it('no other TS module spells a limit or an input pattern again', () => {
    const spelled = [/1 << 24\b/, /1 << 16\b/, /\b16777216\b/, /\b1_000_000\b/, /\b4096\b/, /\[A-Z0-9\]\{2,32\}/, /\\d\{4\}\)?-\(/];
    for (const file of filesUnder('ts', /\.ts$/)) {
      if (file === join('ts', 'limits.ts')) continue;
      const text = read(file);
      for (const re of spelled) assert.doesNotMatch(text, re, `${file} restates a limit or pattern of ts/limits.ts (${re})`);
    }
  });

  it('the binding uses only error codes of the package table', () => {
    const codes = new Set<string>(Object.values(ErrorCode));
    const used = [...read('native/binding/failure.hpp').matchAll(/constexpr const char\* k\w+ = "([A-Z_]+)"/g)].map((m) => m[1]);
    assert.ok(used.length >= 5);
    for (const code of used) assert.ok(codes.has(code), `${code} (native/binding/failure.hpp) is in ErrorCode`);
    for (const file of filesUnder('native/binding', /\.(cpp|hpp)$/)) {
      for (const m of read(file).matchAll(/"(ERR_[A-Z_]+|ABORT_ERR)"/g)) assert.ok(codes.has(m[1]), `${file} uses ${m[1]}, not in ErrorCode`);
    }
  });

  it('the input patterns accept and refuse what the data layer documents', () => {
    for (const ok of ['BTCUSDT', '1000SHIBUSDT', 'BTCUSD_PERP', 'BTCUSDT_240628']) assert.match(ok, limits.SYMBOL_PATTERN);
    for (const bad of ['btcusdt', 'BTC/USDT', 'BTC.USDT', 'B', 'BTC_', '../X']) assert.doesNotMatch(bad, limits.SYMBOL_PATTERN);
    for (const ok of ['2024-01', '2024-01-31']) assert.match(ok, limits.DATE_PATTERN);
    for (const bad of ['2024-13', '2024-1', '2024-01-32', '24-01', '2024-01-01T00']) assert.doesNotMatch(bad, limits.DATE_PATTERN);
  });
});

describe('error codes documented', () => {
  it("the README's Errors table lists exactly the codes of ErrorCode", () => {
    const readme = read('README.md');
    const section = readme.slice(readme.indexOf('## Errors'), readme.indexOf('\n## ', readme.indexOf('## Errors') + 1));
    const documented = [...section.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]).sort();
    assert.deepEqual(documented, [...new Set(Object.values(ErrorCode))].sort());
  });
});
