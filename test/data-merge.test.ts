// Merging per-archive columns: order, exact duplicates, conflicts, the requested span, gaps.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeGaps, mergeKlines, type KlineColumns } from '../ts/data/merge.js';

const M = 60_000;

/** Rows [openTime, open, high, low, close, volume, quoteVolume?]; the quote volume defaults to volume × close. */
function cols(rows: number[][]): KlineColumns {
  const f = (k: number) => Float64Array.from(rows.map((r) => r[k]));
  return { openTime: f(0), open: f(1), high: f(2), low: f(3), close: f(4), volume: f(5), quoteVolume: Float64Array.from(rows.map((r) => r[6] ?? r[5] * r[4])) };
}

function rowsOf(c: KlineColumns): number[][] {
  return Array.from(c.openTime, (t, i) => [t, c.open[i], c.high[i], c.low[i], c.close[i], c.volume[i]]);
}

describe('mergeKlines', () => {
  it('sorts parts by open time, keeping the first of equal times', () => {
    const a = cols([
      [3 * M, 3, 3, 3, 3, 3],
      [1 * M, 1, 1, 1, 1, 1],
    ]);
    const b = cols([
      [2 * M, 2, 2, 2, 2, 2],
      [1 * M, 9, 9, 9, 9, 9],
      [0, 0.5, 0.5, 0.5, 0.5, 0.5],
    ]);
    const m = mergeKlines([a, b], -Infinity, Infinity);
    assert.deepEqual(rowsOf(m), [
      [0, 0.5, 0.5, 0.5, 0.5, 0.5],
      [1 * M, 1, 1, 1, 1, 1],
      [2 * M, 2, 2, 2, 2, 2],
      [3 * M, 3, 3, 3, 3, 3],
    ]);
    assert.equal(m.conflicts, 1);
    assert.equal(m.duplicates, 0);
  });

  it('drops exact duplicates (also across archives) and counts them', () => {
    const a = cols([
      [0, 1, 2, 0.5, 1.5, 10],
      [M, 1, 2, 0.5, 1.5, 10],
      [M, 1, 2, 0.5, 1.5, 10],
    ]);
    const b = cols([[M, 1, 2, 0.5, 1.5, 10], [2 * M, 1, 2, 0.5, 1.5, 11]]);
    const m = mergeKlines([a, b], -Infinity, Infinity);
    assert.deepEqual(Array.from(m.openTime), [0, M, 2 * M]);
    assert.equal(m.duplicates, 2);
    assert.equal(m.conflicts, 0);
  });

  it('carries the quote volume with its row; a row differing only there is a conflict', () => {
    const a = cols([
      [2 * M, 1, 2, 0.5, 1.5, 10, 15.5],
      [0, 1, 2, 0.5, 1.5, 10, 14],
    ]);
    const b = cols([[0, 1, 2, 0.5, 1.5, 10, 99], [M, 1, 2, 0.5, 1.5, 10, 16]]);
    const m = mergeKlines([a, b], -Infinity, Infinity);
    assert.deepEqual(Array.from(m.openTime), [0, M, 2 * M]);
    assert.deepEqual(Array.from(m.quoteVolume), [14, 16, 15.5]);
    assert.equal(m.conflicts, 1);
    assert.equal(m.duplicates, 0);
    const inRange = mergeKlines([a, b], M, Infinity);
    assert.deepEqual(Array.from(inRange.quoteVolume), [16, 15.5]);
  });

  it('keeps only rows within [start, end)', () => {
    const m = mergeKlines([cols([[0, 1, 1, 1, 1, 1], [M, 1, 1, 1, 1, 1], [2 * M, 1, 1, 1, 1, 1], [3 * M, 1, 1, 1, 1, 1]])], M, 3 * M);
    assert.deepEqual(Array.from(m.openTime), [M, 2 * M]);
    assert.equal(m.outOfRange, 2);
  });

  it('returns empty columns for no input', () => {
    const m = mergeKlines([], 0, 1);
    assert.equal(m.openTime.length, 0);
    assert.deepEqual(computeGaps(m.openTime, M), []);
  });
});

describe('computeGaps', () => {
  it('finds runs of missing fixed-length candles', () => {
    const t = Float64Array.from([0, M, 5 * M, 6 * M, 8 * M]);
    assert.deepEqual(computeGaps(t, M), [
      { from: M, to: 5 * M, missing: 3 },
      { from: 6 * M, to: 8 * M, missing: 1 },
    ]);
  });

  it('counts calendar months for 1mo', () => {
    const t = Float64Array.from([Date.UTC(2023, 0, 1), Date.UTC(2023, 1, 1), Date.UTC(2023, 3, 1), Date.UTC(2024, 0, 1)]);
    assert.deepEqual(computeGaps(t, null), [
      { from: Date.UTC(2023, 1, 1), to: Date.UTC(2023, 3, 1), missing: 1 },
      { from: Date.UTC(2023, 3, 1), to: Date.UTC(2024, 0, 1), missing: 8 },
    ]);
  });
});
