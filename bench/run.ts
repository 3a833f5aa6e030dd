// Every benchmark, one after another, each in its own process (so none inherits another's memory).
//   npm run bench [-- --quick] [-- raster storage geometry zarr baseline pipeline parse shards]
// --quick: smaller N (a smoke run, not for RESULTS.md). Names pick a subset. Prints markdown; keep
// it with `npm run bench | tee bench/latest.md`. Each benchmark waits for a quiet machine first.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { candleSeries, hasFlag, loadLine, machineLine, SEQ_LEN, waitForQuiet, writeCandlesFile } from './common.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const QUICK = hasFlag('--quick');
const BASELINE_COUNT = QUICK ? 2_000 : 10_000;

/** The baseline gets the very candles the Node benchmarks draw, as float64 columns. */
function writeCandles(dir: string): string {
  const file = join(dir, 'candles.f64');
  writeCandlesFile(file, candleSeries(BASELINE_COUNT + SEQ_LEN - 1 + 15));
  return file;
}

const quick = QUICK ? ['--quick'] : [];
const benchmarks: Record<string, (dir: string) => string[]> = {
  raster: () => [process.execPath, '--import', 'tsx', 'bench/raster.ts', ...quick],
  storage: () => [process.execPath, '--import', 'tsx', 'bench/storage.ts', ...quick],
  geometry: () => [process.execPath, '--import', 'tsx', 'bench/geometry.ts', ...quick],
  zarr: () => [process.execPath, '--import', 'tsx', 'bench/zarr.ts', ...quick],
  baseline: (dir) => ['/usr/bin/python3', 'bench/baseline_numpy_h5py.py', '--count', String(BASELINE_COUNT), '--candles', writeCandles(dir)],
  pipeline: () => [process.execPath, '--import', 'tsx', 'bench/pipeline.ts', ...quick],
  parse: () => [process.execPath, '--import', 'tsx', 'bench/parse.ts', QUICK ? '2' : '12'],
  shards: () => [process.execPath, '--import', 'tsx', 'bench/shards.ts', ...quick],
};

const picked = process.argv.slice(2).filter((a) => !a.startsWith('--'));
for (const name of picked) if (!(name in benchmarks)) throw new Error(`unknown benchmark ${name} (known: ${Object.keys(benchmarks).join(', ')})`);
const names = picked.length > 0 ? picked : Object.keys(benchmarks);

console.log(`# ohlc-native benchmarks${QUICK ? ' (--quick)' : ''}: ${new Date().toISOString()}, ${machineLine()}`);
const dir = mkdtempSync(join(tmpdir(), 'ohlc-bench-run-'));
let failed = 0;
try {
  for (const name of names) {
    await waitForQuiet();
    const [cmd, ...args] = benchmarks[name](dir);
    console.log(`\n<!-- ${name}: ${[cmd, ...args].join(' ')}; ${loadLine()} -->`);
    const t0 = performance.now();
    const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) {
      failed++;
      console.log(`\n**${name} failed** (${r.error?.message ?? `exit ${r.status ?? r.signal}`})`);
    }
    console.log(`\n<!-- ${name}: ${((performance.now() - t0) / 1000).toFixed(0)} s -->`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exitCode = failed > 0 ? 1 : 0;
