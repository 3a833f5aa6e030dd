// Leakage-safe splits: the kept and purged windows of hand-built series, computed here by brute
// force from the rule's words; blocks reproducible by seed; no window of one split shares a candle
// (or a labelled candle) with a window of another; the split array and its balance in the files.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { validateConfig } from '../ts/config/load.js';
import { loadImagesFromStorage } from '../ts/index.js';
import { decideSplits, resolveSplits, splitAt } from '../ts/pipeline/splits.js';
import { runCliAsync as runCli } from './helpers/cli.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const root = mkdtempSync(join(tmpdir(), 'ohlc-splits-'));
after(() => rmSync(root, { recursive: true, force: true }));

const config = (splits: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  validateConfig({ data: { symbol: 'BTCUSDT', interval: '1h', start_date: '2024-01-01', end_date: '2024-01-31' }, image: { seq_len: 10 }, splits, ...extra }, 'test');

describe('splits, by the rule itself', () => {
  it('chronological: every kept and purged window, against a brute-force reading of the rule', () => {
    const cfg = config({ method: 'chronological', train_end: '2024-01-10', val_end: '2024-01-20', embargo: 5 });
    const rule = resolveSplits(cfg)!;
    const start = Date.UTC(2024, 0, 1);
    const openTime = Float64Array.from({ length: 30 * 24 }, (_, i) => start + i * HOUR);
    const seqLen = 10;
    const horizon = 6;
    const starts = Array.from({ length: openTime.length - seqLen + 1 }, (_, i) => i);
    const got = decideSplits(rule, openTime, starts, seqLen, horizon, HOUR);
    // The rule in words: split by the first candle's day; purge when any hour from the first candle
    // to the last one the labels look at is in another split; embargo the 5 hours after a change.
    const splitOfHour = (t: number) => (t < Date.UTC(2024, 0, 11) ? 0 : t < Date.UTC(2024, 0, 21) ? 1 : 2);
    let purged = 0;
    for (const s of starts) {
      const first = openTime[s];
      const own = splitOfHour(first);
      let leaks = false;
      for (let t = first; t <= openTime[s + seqLen - 1] + horizon * HOUR; t += HOUR) if (splitOfHour(t) !== own) leaks = true;
      let embargoed = false;
      for (let back = 0; back < 5; back++) if (first - back * HOUR > start && splitOfHour(first - back * HOUR - HOUR) !== splitOfHour(first - back * HOUR)) embargoed = true;
      const kept = !leaks && !embargoed;
      if (!kept) purged++;
      assert.equal(got.keep[s], kept ? 1 : 0, `window ${s} (${new Date(first).toISOString()})`);
      if (kept) assert.equal(got.split[s], own);
    }
    assert.equal(got.purged, purged);
    assert.ok(purged > 2 * (seqLen + horizon), 'both boundaries purge');
  });

  it('fractions cut the time span; train_end is an inclusive day', () => {
    const rule = resolveSplits(config({ method: 'chronological', fractions: [0.5, 0.25, 0.25] }))!;
    const mid = Date.UTC(2024, 0, 1) + 15.5 * DAY;
    assert.equal(splitAt(rule, mid - 1), 0);
    assert.equal(splitAt(rule, mid), 1);
    const inclusive = resolveSplits(config({ method: 'chronological', train_end: '2024-01-20', val_end: '2024-01-25' }))!;
    assert.equal(splitAt(inclusive, Date.UTC(2024, 0, 20, 23, 59)), 0);
    assert.equal(splitAt(inclusive, Date.UTC(2024, 0, 21)), 1);
  });

  it('blocks: reproducible by seed, about val_fraction of the in-sample blocks, test after in_sample_end', () => {
    const make = (seed: number) => resolveSplits(config({ method: 'blocks', block: '1d', val_fraction: 0.3, seed, in_sample_end: '2024-01-24' }))!;
    const days = Array.from({ length: 31 }, (_, d) => Date.UTC(2024, 0, 1) + d * DAY + HOUR);
    const a = days.map((t) => splitAt(make(7), t));
    assert.deepEqual(days.map((t) => splitAt(make(7), t)), a, 'same seed, same blocks');
    assert.notDeepEqual(days.map((t) => splitAt(make(8), t)), a, 'another seed, other blocks');
    assert.ok(a.slice(24).every((s) => s === 2));
    const val = a.slice(0, 24).filter((s) => s === 1).length;
    assert.ok(val >= 2 && val <= 14, `${val} of 24 blocks in validation`);
    // Within a block the split is one.
    assert.equal(splitAt(make(7), days[3]), splitAt(make(7), days[3] + 20 * HOUR));
  });

  it('config errors name the keys', () => {
    assert.throws(() => config({ method: 'chronological' }), /splits\.method: chronological splits need train_end and val_end, or fractions/);
    assert.throws(() => config({ method: 'chronological', fractions: [0.5, 0.5, 0.5] }), /splits\.fractions: must add up to 1/);
    assert.throws(() => config({ method: 'blocks' }), /splits\.in_sample_end: is needed for block splits/);
    assert.throws(() => config({ method: 'chronological', train_end: '2024-01-20', val_end: '2024-01-10' }), /splits\.val_end: must not be before splits\.train_end/);
    // Keys of the other method, and split_files without splits, are refused, not ignored.
    assert.throws(() => config({ method: 'blocks', in_sample_end: '2024-01-20', train_end: '2024-01-10' }), /splits\.train_end: applies to splits\.method chronological/);
    assert.throws(() => config({ method: 'blocks', in_sample_end: '2024-01-20', fractions: [0.6, 0.2, 0.2] }), /splits\.fractions: applies to splits\.method chronological/);
    assert.throws(() => config({ method: 'chronological', fractions: [0.6, 0.2, 0.2], in_sample_end: '2024-01-20' }), /splits\.in_sample_end: applies to splits\.method blocks/);
    assert.throws(
      () => validateConfig({ data: { symbol: 'BTCUSDT', interval: '1h', start_date: '2024-01-01', end_date: '2024-01-31' }, image: { storage: { split_files: true } } }, 'test'),
      /image\.storage\.split_files: needs splits:/,
    );
    // A month runs to its end: 2024-01 comes after 2024-01-15, though it sorts before it as text.
    assert.deepEqual(resolveSplits(config({ method: 'chronological', train_end: '2024-01-15', val_end: '2024-01' }))!.boundaries, [Date.UTC(2024, 0, 16), Date.UTC(2024, 1, 1)]);
    assert.throws(() => config({ method: 'chronological', train_end: '2024-01', val_end: '2024-01-15' }), /splits\.val_end: must not be before splits\.train_end \(2024-01\)/);
    // A bad date is said once, with no order complaint after it.
    for (const train_end of ['2024-13-20', '2024-02-30']) {
      assert.throws(
        () => config({ method: 'chronological', train_end, val_end: '2024-01-10' }),
        (err: Error & { problems: string[] }) => err.problems.length === 1 && /^splits\.train_end: /.test(err.problems[0]),
      );
    }
  });
});

describe('splits in a build', () => {
  const project = (name: string, yaml: string) => {
    const dir = join(root, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'config.yaml'),
      `data: { symbols: [BTCUSDT, ETHUSDT], interval: 1h, start_date: "2024-01", end_date: "2024-03", source: sample }
image: { seq_len: 12, resolution: { height: 24 } }
labels: { horizons: [1, 6] }
paths: { raw_data: raw, processed_data: out, logs: logs }
runtime: { device: cpu }
${yaml}`,
    );
    return dir;
  };

  for (const format of ['hdf5', 'npz', 'zarr'] as const) {
    it(`${format}: no window of one split shares a candle or a labelled candle with another; balance in metadata and summary`, async () => {
      const dir = project(`blocks-${format}`, `splits: { method: blocks, block: 1d, val_fraction: 0.3, seed: 3, in_sample_end: "2024-02-29" }\n`);
      const r = await runCli(['build', '--quiet', '--json', '--config', 'config.yaml', '--set', `image.storage.format=${format}`], dir);
      assert.equal(r.status, 0, r.stderr);
      const summary = JSON.parse(r.stdout) as { skipped: { purged: number }; splits: Record<string, { images: number; up: Record<string, number> }> };
      const ds = await loadImagesFromStorage(JSON.parse(r.stdout).outputs[0]);
      assert.ok(summary.skipped.purged > 0);
      assert.deepEqual(ds.metadata.split_balance, summary.splits);
      for (const name of ['train', 'val', 'test']) assert.ok(summary.splits[name].images > 0, name);
      // Each window's span: first candle .. last candle + 6 hours; per symbol, spans of two splits never meet.
      const spans = Array.from(ds.timestamps, (t, i) => ({ from: t - 11 * HOUR, to: t + 6 * HOUR, split: ds.split![i], symbol: ds.symbolIndex![i] }));
      for (const symbol of [0, 1]) {
        const mine = spans.filter((s) => s.symbol === symbol).sort((a, b) => a.from - b.from);
        let reach = -Infinity;
        let reachSplit = -1;
        for (const s of mine) {
          if (s.from <= reach) assert.equal(s.split, reachSplit, `windows of splits ${reachSplit} and ${s.split} share a candle at ${new Date(s.from).toISOString()}`);
          if (s.to > reach) {
            reach = s.to;
            reachSplit = s.split;
          }
        }
      }
      // Boundaries are the same instants for both symbols: a window's split depends on its time only.
      const byTime = new Map<number, number>();
      spans.forEach((s) => {
        if (byTime.has(s.from)) assert.equal(byTime.get(s.from), s.split);
        byTime.set(s.from, s.split);
      });
    });
  }

  it('split_files writes one dataset per split', async () => {
    const dir = project('files', `splits: { method: chronological, train_end: "2024-01-31", val_end: "2024-02-15" }\n`);
    const r = await runCli(['build', '--quiet', '--json', '--config', 'config.yaml', '--set', 'image.storage.split_files=true'], dir);
    assert.equal(r.status, 0, r.stderr);
    const outputs = JSON.parse(r.stdout).outputs as string[];
    assert.equal(outputs.length, 3);
    for (const [k, name] of ['train', 'val', 'test'].entries()) {
      assert.match(outputs[k], new RegExp(`_${name}\\.h5$`));
      const ds = await loadImagesFromStorage(outputs[k]);
      assert.ok(ds.split!.every((v) => v === k));
      assert.equal(ds.metadata.split_file, name);
    }
  });

  it('a split that ends up empty is said on the console with its cause, naming the keys', async () => {
    const dir = project('empty', `splits: { method: chronological, train_end: "2023-06-01", val_end: "2023-06-30" }\n`);
    const r = await runCli(['build', '--quiet', '--json', '--config', 'config.yaml'], dir);
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as { splits: Record<string, { images: number }> };
    assert.deepEqual([summary.splits.train.images, summary.splits.val.images], [0, 0]);
    assert.ok(summary.splits.test.images > 0);
    assert.match(r.stderr, /WARN: The train split holds no image: its period \(through 2023-06-01, by splits\.train_end\) lies outside the data, data\.start_date 2024-01 to data\.end_date 2024-03/);
    assert.match(r.stderr, /WARN: The val split holds no image: its period \(2023-06-02 through 2023-06-30, by splits\.train_end and splits\.val_end\)/);
    assert.doesNotMatch(r.stderr, /The test split/);

    const blockDir = project('empty-blocks', `splits: { method: blocks, in_sample_end: "2024-02-15", block: 2h }\n`);
    const blocks = await runCli(['build', '--quiet', '--json', '--config', 'config.yaml'], blockDir);
    assert.equal(blocks.status, 0, blocks.stderr);
    assert.match(blocks.stderr, /WARN: The val split holds no image: every window in it was purged: a splits\.block of 2h is too short for a window \(12 candles and 6 of labels/);
  });

  it('every window purged: exit 1 naming splits.embargo, nothing written', async () => {
    const dir = project('all-purged', `splits: { method: blocks, block: 1d, in_sample_end: "2024-02-29", embargo: 100000 }\n`);
    const r = await runCli(['build', '--quiet', '--config', 'config.yaml'], dir);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /none of the \d+ windows of 12 candles can be drawn \(\d+ skipped for purged\); a purged window crosses a split boundary or starts within splits\.embargo \(100000 bars\) after one: a shorter splits\.embargo or a longer splits\.block \(1d\) keeps some; nothing was written/);
    assert.equal(existsSync(join(dir, 'out')) ? readdirSync(join(dir, 'out')).length : 0, 0);
  });
});
