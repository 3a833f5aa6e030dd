// Which archives a date range needs, by the caller's clock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Interval } from '../ts/data/binance.js';
import { parseDateArg } from '../ts/data/dates.js';
import { planArchives, type PlanUnit } from '../ts/data/plan.js';

function plan(startDate: string, endDate: string, now: number, interval: Interval = '1m') {
  const range = { start: parseDateArg('startDate', startDate).start, end: parseDateArg('endDate', endDate).end };
  return planArchives({ market: 'spot', symbol: 'BTCUSDT', interval, range, now });
}

function names(units: PlanUnit[]): string[] {
  return units.map((u) => u.archive.name);
}

describe('planArchives', () => {
  const now = Date.UTC(2024, 2, 10, 12); // 2024-03-10 12:00

  it('uses monthly archives for whole finished months, with their days as a fallback', () => {
    const p = plan('2023-12', '2024-02', now);
    assert.deepEqual(names(p.units), ['BTCUSDT-1m-2023-12.zip', 'BTCUSDT-1m-2024-01.zip', 'BTCUSDT-1m-2024-02.zip']);
    const feb = p.units[2];
    assert.equal(feb.kind, 'month');
    assert.equal(feb.kind === 'month' && feb.days.length, 29);
    assert.equal(feb.archive.path, 'data/spot/monthly/klines/BTCUSDT/1m/BTCUSDT-1m-2024-02.zip');
    assert.deepEqual(p.notRequested, []);
  });

  it('uses daily archives for partial months', () => {
    const p = plan('2024-01-30', '2024-02-02', now);
    assert.deepEqual(names(p.units), ['BTCUSDT-1m-2024-01-30.zip', 'BTCUSDT-1m-2024-01-31.zip', 'BTCUSDT-1m-2024-02-01.zip', 'BTCUSDT-1m-2024-02-02.zip']);
    assert.equal(p.units[0].archive.path, 'data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2024-01-30.zip');
  });

  it('takes the month in progress day by day, up to yesterday', () => {
    const p = plan('2024-02', '2024-04', now);
    assert.deepEqual(names(p.units), ['BTCUSDT-1m-2024-02.zip', ...Array.from({ length: 9 }, (_, i) => `BTCUSDT-1m-2024-03-0${i + 1}.zip`)]);
    assert.deepEqual(p.notRequested, ['2024-03-10..2024-03-31', '2024-04-01..2024-04-30']);
  });

  it('requests nothing for today or the future', () => {
    assert.deepEqual(plan('2024-03-10', '2024-03-10', now).units, []);
    assert.deepEqual(plan('2025-01', '2025-12', now).units, []);
  });

  it('treats the 1st of a month as the month in progress until it ends', () => {
    const p = plan('2024-02', '2024-02', Date.UTC(2024, 2, 1, 0, 30));
    assert.deepEqual(names(p.units), ['BTCUSDT-1m-2024-02.zip']);
    const q = plan('2024-02', '2024-02', Date.UTC(2024, 1, 29, 23, 59));
    assert.equal(q.units.length, 28);
  });

  for (const interval of ['3d', '1w', '1mo'] as const) {
    it(`uses monthly archives only for ${interval}`, () => {
      const p = plan('2024-01-15', '2024-03', now, interval);
      assert.deepEqual(names(p.units), [`BTCUSDT-${interval}-2024-01.zip`, `BTCUSDT-${interval}-2024-02.zip`]);
      assert.ok(p.units.every((u) => u.kind === 'month' && u.days.length === 0));
      assert.deepEqual(p.notRequested, ['2024-03']);
    });
  }

  it('builds futures paths', () => {
    const range = { start: Date.UTC(2022, 9, 24), end: Date.UTC(2022, 9, 25) };
    const p = planArchives({ market: 'cm', symbol: 'BTCUSD_PERP', interval: '1m', range, now });
    assert.equal(p.units[0].archive.path, 'data/futures/cm/daily/klines/BTCUSD_PERP/1m/BTCUSD_PERP-1m-2022-10-24.zip');
  });
});
