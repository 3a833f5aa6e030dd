// Parse speed of this build against another build of the addon, in one process and interleaved,
// so both see the same machine load (the figures of a change to the parser, before and after).
//   cp build/Release/ohlc_native.node /tmp/before.node    # before the change
//   npx cmake-js compile                                  # after it
//   node --import tsx bench/parse-compare.ts /tmp/before.node [rounds]
// The baseline is loaded straight from its file (no source-hash check: it is meant to differ).
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import type { NativeAddon } from '../ts/native/addon.js';
import { native } from '../ts/native/load.js';
import { syntheticKlinesCsv } from '../ts/data/sample.js';

const baselinePath = process.argv[2];
if (!baselinePath) {
  console.error('usage: node --import tsx bench/parse-compare.ts <baseline ohlc_native.node> [rounds]');
  process.exit(2);
}
const rounds = Number(process.argv[3] ?? 40);
const baseline = createRequire(import.meta.url)(resolve(baselinePath)) as NativeAddon;
const current = native();

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function timeOnce(addon: NativeAddon, csv: Buffer): number {
  const t0 = performance.now();
  const r = addon.parseKlines(csv, { name: 'bench', skipMalformed: false });
  const ms = performance.now() - t0;
  if (r.rows === 0) throw new Error('nothing parsed');
  return ms;
}

const cases = [
  { label: 'one month of 1m candles', ...syntheticKlinesCsv('spot', 'BTCUSDT', '1m', '2023-01', Date.UTC(2023, 0, 1), Date.UTC(2023, 1, 1)) },
  { label: 'one day of 1s candles', ...syntheticKlinesCsv('spot', 'BTCUSDT', '1s', '2023-01-01', Date.UTC(2023, 0, 1), Date.UTC(2023, 0, 2)) },
];

console.log(`# Parse speed, this build against ${baselinePath}: Node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, medians of ${rounds} interleaved rounds`);
console.log('| input | rows | baseline ms | this build ms | baseline M rows/s | this build M rows/s | change |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const c of cases) {
  const csv = Buffer.from(c.csv, 'latin1');
  for (let i = 0; i < 5; i++) {
    timeOnce(baseline, csv);
    timeOnce(current, csv);
  }
  const before: number[] = [];
  const after: number[] = [];
  for (let i = 0; i < rounds; i++) {
    // Each goes first every other round.
    if (i % 2 === 0) {
      before.push(timeOnce(baseline, csv));
      after.push(timeOnce(current, csv));
    } else {
      after.push(timeOnce(current, csv));
      before.push(timeOnce(baseline, csv));
    }
  }
  const b = median(before);
  const a = median(after);
  const rate = (ms: number) => (c.rows / ms / 1e3).toFixed(2);
  console.log(`| ${c.label} (${(csv.length / 1e6).toFixed(1)} MB) | ${c.rows} | ${b.toFixed(2)} | ${a.toFixed(2)} | ${rate(b)} | ${rate(a)} | ${(((a - b) / b) * 100).toFixed(1)}% |`);
}
