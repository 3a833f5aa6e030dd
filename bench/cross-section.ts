// Many symbols in one dataset: speed against a single symbol of the same image count, and peak RSS
// as symbols and months grow.
//   node --import tsx bench/cross-section.ts [--quick] [--raw <dir>]
// Every build is the built CLI (dist/cli/main.js) on the offline synthetic market, from a warm
// cache (a first, untimed run writes the archives), with bench/rss-probe.mjs preloaded for the
// child's peak RSS (VmHWM) and CPU time. Images are seqLen 20 × height 64, uint8, HDF5 'fast'
// (small images, so the per-symbol and per-month work is what shows).
// 1. 20 symbols × 1 month against 1 symbol × 20 months (about the same images), in turns, best of 2.
// 2. Peak RSS: the sample's whole spot universe (30 symbols) × 1 month; 50 symbols × 1 month;
//    1 symbol × 1 month and × 49 months (the README's real config's span); 1 symbol × 1 month of
//    1s candles, and × 12 months (a year, 31.5 M candles; stride 60, as memory is the candles').
// --raw <dir> keeps the archive cache there (a second run skips generating a year of 1s archives).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flagValue, fmtMB, fmtRate, hasFlag, LoadMeter, loadLine, machineLine } from './common.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const PROBE = join(ROOT, 'bench', 'rss-probe.mjs');
const QUICK = hasFlag('--quick');

interface Run {
  images: number;
  wall: number;
  peakRss: number;
  cpuMs: number;
  foreign: number;
}

const dir = mkdtempSync(join(tmpdir(), 'ohlc-bench-xs-'));

const RAW = flagValue('--raw') ?? join(dir, 'raw');

function build(name: string, data: string, stride = 1): Promise<Run> {
  const config = join(dir, `${name}.yaml`);
  writeFileSync(
    config,
    `data: { ${data}, source: sample }
image: { seq_len: 20, stride: ${stride}, resolution: { height: 64 } }
labels: { horizons: [1, 5] }
paths: { raw_data: ${RAW}, processed_data: ${join(dir, 'out')}, logs: ${join(dir, 'logs')} }
`,
  );
  const probeFile = join(dir, `${name}.probe.json`);
  return new Promise((resolve, reject) => {
    const meter = new LoadMeter();
    const t0 = performance.now();
    const child = spawn(process.execPath, ['--import', PROBE, CLI, 'build', '--config', config, '--out', join(dir, 'out', `${name}.h5`), '--json', '--quiet', '--force', '--yes'], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, OHLC_BENCH_PROBE_FILE: probeFile },
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${name}: exit ${code}: ${stdout}`));
      const wall = (performance.now() - t0) / 1000;
      const probe = JSON.parse(readFileSync(probeFile, 'utf8')) as { peakRss: number; cpuMs: number };
      const summary = JSON.parse(stdout.trim().split('\n').pop()!) as { images: number };
      resolve({ images: summary.images, wall, peakRss: probe.peakRss, cpuMs: probe.cpuMs, foreign: meter.foreignCores(probe.cpuMs) });
    });
  });
}

const TWENTY = ['BTCUSDT', 'ETHUSDT', 'BNBUSDT', 'SOLUSDT', 'XRPUSDT', 'ADAUSDT', 'DOGEUSDT', 'AVAXUSDT', 'DOTUSDT', 'LINKUSDT', 'LTCUSDT', 'TRXUSDT', 'ATOMUSDT', 'ETCUSDT', 'XLMUSDT', 'NEARUSDT', 'FILUSDT', 'APTUSDT', 'ARBUSDT', 'OPUSDT'];
const months = QUICK ? 4 : 20;
const symbols = TWENTY.slice(0, months);
const many = `symbols: [${symbols.join(', ')}], interval: 1m, start_date: "2024-01", end_date: "2024-01"`;
const lastMonth = `${2022 + Math.floor((months - 1) / 12)}-${String(((months - 1) % 12) + 1).padStart(2, '0')}`;
const one = `symbol: BTCUSDT, interval: 1m, start_date: "2022-01", end_date: "${lastMonth}"`;

try {
  console.log(`# Cross-section (${machineLine()})\n\n${loadLine()}\n`);
  await build('many', many); // warm the cache
  await build('one', one);
  const best: Record<string, Run> = {};
  for (let round = 0; round < 2; round++)
    for (const [name, data] of [['many', many], ['one', one]] as const) {
      const r = await build(name, data);
      if (!best[name] || r.wall < best[name].wall) best[name] = r;
    }
  console.log(`## 1. ${symbols.length} symbols × 1 month against 1 symbol × ${months} months (1m, 20×64 uint8, HDF5 'fast'), CLI wall time, best of 2 in turns\n`);
  console.log('| build | images | seconds | images/s | peak RSS (MB) | cores used | other load |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const [name, label] of [['many', `${symbols.length} symbols × 1 month`], ['one', `1 symbol × ${months} months`]] as const) {
    const r = best[name];
    console.log(`| ${label} | ${r.images.toLocaleString('en-US')} | ${r.wall.toFixed(2)} | ${fmtRate(r.images / r.wall)} | ${fmtMB(r.peakRss)} | ${(r.cpuMs / 1000 / r.wall).toFixed(2)} | ${r.foreign.toFixed(2)} |`);
  }
  const ratio = best.many.images / best.many.wall / (best.one.images / best.one.wall);
  console.log(`\nmany symbols ÷ one symbol, images/s: ${ratio.toFixed(3)}\n`);

  console.log('## 2. Peak RSS of the CLI (VmHWM), warm cache\n');
  console.log('| build | images | seconds | peak RSS (MB) |');
  console.log('| --- | --- | --- | --- |');
  const fifty = [...TWENTY, ...Array.from({ length: 30 }, (_, i) => `SYN${String(i).padStart(2, '0')}USDT`)];
  const cases: Array<[string, string, string, number?]> = [
    ['universe', 'universe: { quote: USDT }, interval: 1m, start_date: "2024-01", end_date: "2024-01"', 'the sample\'s spot universe (every USDT candidate) × 1 month, 1m'],
    ['x50', `symbols: [${fifty.join(', ')}], interval: 1m, start_date: "2024-01", end_date: "2024-01"`, '50 symbols × 1 month, 1m'],
    ['m1', 'symbol: BTCUSDT, interval: 1m, start_date: "2024-01", end_date: "2024-01"', '1 symbol × 1 month, 1m'],
    ['m49', `symbol: BTCUSDT, interval: 1m, start_date: "2020-01", end_date: "${QUICK ? '2020-06' : '2024-01'}"`, `1 symbol × ${QUICK ? 6 : 49} months, 1m`],
    ['s1', 'symbol: BTCUSDT, interval: 1s, start_date: "2024-01", end_date: "2024-01"', '1 symbol × 1 month, 1s'],
    ['y1s', 'symbol: BTCUSDT, interval: 1s, start_date: "2023-01", end_date: "2023-12"', '1 symbol × 12 months, 1s (stride 60)', 60],
  ];
  for (const [name, data, label, stride] of cases) {
    if (QUICK && (name === 's1' || name === 'y1s' || name === 'x50')) continue;
    await build(name, data, stride); // archives into the cache
    const r = await build(name, data, stride);
    console.log(`| ${label} | ${r.images.toLocaleString('en-US')} | ${r.wall.toFixed(1)} | ${fmtMB(r.peakRss)} |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
