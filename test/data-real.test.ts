// Real Binance Vision files (../shared/data/binance-real, see its SOURCES.md) through the same
// ZIP and parser paths as downloads; skipped where that directory is absent. The files are read
// in place, never copied into the repository.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { csvByteLimit } from '../ts/data/archive.js';
import { computeGaps, mergeKlines } from '../ts/data/merge.js';
import { parseKlinesCsv, parseKlinesCsvAsync, type ParsedKlines } from '../ts/data/parse.js';
import { readCsvMember } from '../ts/data/zip.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const realDir = join(repoRoot, '..', 'shared', 'data', 'binance-real');
const present = existsSync(join(realDir, 'SOURCES.md'));
const HOUR = 3_600_000;
const MINUTE = 60_000;

function row(p: ParsedKlines, i: number): number[] {
  return [p.openTime[i], p.open[i], p.high[i], p.low[i], p.close[i], p.volume[i]];
}

/** Column 8 (quote_asset_volume) of every data row, read here with split and Number(). */
function assertQuoteVolume(p: ParsedKlines, csv: Buffer): void {
  const rows = csv.toString('latin1').split('\n').filter((l) => /^\d/.test(l));
  assert.equal(rows.length, p.rows);
  assert.deepEqual(Array.from(p.quoteVolume), rows.map((l) => Number(l.split(',')[7])));
}

async function fromZip(name: string): Promise<ParsedKlines> {
  const data = readFileSync(join(realDir, name));
  const member = await readCsvMember(name, data, csvByteLimit('1m', { granularity: 'daily' }));
  assert.equal(member.name, name.replace(/\.zip$/, '.csv'));
  const p = await parseKlinesCsvAsync(Buffer.from(member.csv), { name });
  assertQuoteVolume(p, member.csv);
  return p;
}

function fromCsv(name: string): ParsedKlines {
  const csv = readFileSync(join(realDir, name));
  const p = parseKlinesCsv(csv, { name });
  assertQuoteVolume(p, csv);
  return p;
}

function assertComplete(p: ParsedKlines, intervalMs: number): void {
  const merged = mergeKlines([p], -Infinity, Infinity);
  assert.equal(merged.duplicates, 0);
  assert.equal(merged.conflicts, 0);
  assert.deepEqual(computeGaps(merged.openTime, intervalMs), []);
}

describe('real Binance Vision files', () => {
  it('ETHUSDT-1m-2022-08-15.zip: spot daily, no header, ms, 1,440 complete rows', async (t) => {
    if (!present) return t.skip(`${realDir} is absent`);
    const p = await fromZip('ETHUSDT-1m-2022-08-15.zip');
    assert.equal(p.rows, 1440);
    assert.equal(p.header, false);
    assert.equal(p.microsecondRows, 0);
    assert.deepEqual(row(p, 0), [1660521600000, 1935.32, 1936.66, 1934.25, 1934.26, 764.9794]);
    assert.equal(p.openTime[1439], Date.UTC(2022, 7, 15, 23, 59));
    assertComplete(p, MINUTE);
  });

  it('BTCUSDT-1m-2022-09-05.zip: USD-M daily with a header row, 1,440 complete rows', async (t) => {
    if (!present) return t.skip(`${realDir} is absent`);
    const p = await fromZip('BTCUSDT-1m-2022-09-05.zip');
    assert.equal(p.header, true);
    assert.equal(p.rows, 1440);
    assert.deepEqual(row(p, 0), [1662336000000, 19992.7, 20000.0, 19988.1, 19996.8, 482.638]);
    assert.equal(p.openTime[1439], Date.UTC(2022, 8, 5, 23, 59));
    assertComplete(p, MINUTE);
  });

  it('BTCUSDT-1h-2021-Q1.csv: 2,158 rows and the two real maintenance gaps', (t) => {
    if (!present) return t.skip(`${realDir} is absent`);
    const p = fromCsv('BTCUSDT-1h-2021-Q1.csv');
    assert.equal(p.rows, 2158);
    assert.equal(p.header, false);
    assert.equal(p.openTime[0], Date.UTC(2021, 0, 1));
    assert.equal(p.open[0], 28923.63);
    assert.equal(p.openTime[p.rows - 1], Date.UTC(2021, 2, 31, 23));
    const merged = mergeKlines([p], Date.UTC(2021, 0, 1), Date.UTC(2021, 3, 1));
    assert.equal(merged.duplicates, 0);
    assert.equal(merged.openTime.length, 2158);
    assert.deepEqual(computeGaps(merged.openTime, HOUR), [
      { from: Date.UTC(2021, 1, 11, 3), to: Date.UTC(2021, 1, 11, 5), missing: 1 },
      { from: Date.UTC(2021, 2, 6, 1), to: Date.UTC(2021, 2, 6, 3), missing: 1 },
    ]);
  });

  it('BTCUSDT-1h-2025-01.csv: microsecond timestamps normalised to ms, 744 complete rows', (t) => {
    if (!present) return t.skip(`${realDir} is absent`);
    const p = fromCsv('BTCUSDT-1h-2025-01.csv');
    assert.equal(p.rows, 744);
    assert.equal(p.microsecondRows, 744);
    assert.deepEqual(row(p, 0), [1735689600000, 93576.0, 94509.42, 93489.03, 94401.14, 755.9901]);
    assert.equal(p.openTime[743], Date.UTC(2025, 0, 31, 23));
    assertComplete(p, HOUR);
  });
});
