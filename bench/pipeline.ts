// `ohlc-native build` end to end, from a warm cache, beside the storage benchmark's rate.
//   node --import tsx bench/pipeline.ts [--quick]
// The shipped offline config (config/sample.yaml: synthetic BTCUSDT 1m, seqLen 100, height 500,
// uint8, HDF5 'fast', horizons [1, 5, 15]) over 2024-01..2024-03 (131,040 candles; --quick: one
// month), written to a temp dir with its cache, logs and output there; the dir is removed at the end.
// A first run writes the synthetic archives into the cache and is not counted; then the built CLI
// (dist/cli/main.js, as users run it) is timed from spawn to exit, interleaved with the storage
// benchmark's case of the same shape and image count in a fresh child (bench/storage.ts), so both
// see the same machine. The CLI's peak RSS and CPU time come from bench/rss-probe.mjs, preloaded
// into it. A run during which other processes used the CPU is repeated.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmtMB, fmtRate, FOREIGN_LIMIT, hasFlag, LoadMeter, loadLine, machineLine, median, waitForQuiet } from './common.js';
import { measureCase, type StorageCase } from './storage.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const PROBE = join(ROOT, 'bench', 'rss-probe.mjs');
const QUICK = hasFlag('--quick');
const END_DATE = QUICK ? '2024-01' : '2024-03';
const TIMED_RUNS = 2;

interface BuildSummary {
  images: number;
  seconds: number;
  imagesPerSecond: number;
  candles: number;
  archives: number;
  outputs: string[];
}

interface CliRun {
  wall: number;
  summary: BuildSummary;
  peakRss: number;
  cpuMs: number;
  foreign: number;
}

function configYaml(): string {
  const sample = readFileSync(join(ROOT, 'config', 'sample.yaml'), 'utf8');
  // The shipped config with a longer range and every path inside the temp dir.
  return sample
    .replace(/end_date: "[^"]*"/, `end_date: "${END_DATE}"`)
    .replace(/raw_data: .*/, 'raw_data: raw')
    .replace(/processed_data: .*/, 'processed_data: processed')
    .replace(/models: .*/, 'models: models')
    .replace(/logs: .*/, 'logs: logs');
}

function runCli(configFile: string, out: string, probeFile: string): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const meter = new LoadMeter();
    const t0 = performance.now();
    const child = spawn(process.execPath, ['--import', PROBE, CLI, 'build', '--config', configFile, '--out', out, '--json', '--quiet'], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, OHLC_BENCH_PROBE_FILE: probeFile },
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const wall = (performance.now() - t0) / 1000;
      if (code !== 0) return reject(new Error(`ohlc-native build exited with ${code}: ${stdout}`));
      const probe = JSON.parse(readFileSync(probeFile, 'utf8')) as { peakRss: number; cpuMs: number };
      const summary = JSON.parse(stdout.trim().split('\n').pop()!) as BuildSummary;
      resolve({ wall, summary, peakRss: probe.peakRss, cpuMs: probe.cpuMs, foreign: meter.foreignCores(probe.cpuMs) });
    });
  });
}

async function timedCli(configFile: string, out: string, probeFile: string): Promise<CliRun & { reruns: number }> {
  for (let attempt = 0; ; attempt++) {
    const r = await runCli(configFile, out, probeFile);
    if (r.foreign <= FOREIGN_LIMIT || attempt >= 3) return { ...r, reruns: attempt };
    await waitForQuiet();
  }
}

function row(cells: (string | number)[]): string {
  return `| ${cells.join(' | ')} |`;
}

if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build it first (npx tsc -p tsconfig.json)`);
const dir = mkdtempSync(join(tmpdir(), 'ohlc-bench-pipeline-'));
try {
  const configFile = join(dir, 'bench.yaml');
  writeFileSync(configFile, configYaml());
  const out = join(dir, 'processed', 'bench.h5');
  const probeFile = join(dir, 'probe.json');
  console.log(`# ohlc-native build, warm cache: config/sample.yaml over 2024-01..${END_DATE}, ${machineLine()}`);
  console.log(`Command: node dist/cli/main.js build --config <tmp>/bench.yaml --out <tmp>/processed/bench.h5 --json --quiet; ${loadLine()} at start`);

  const warm = await runCli(configFile, out, probeFile);
  const images = warm.summary.images;
  console.log(`Warm-up run (not counted; writes the synthetic archives): ${images} images from ${warm.summary.candles} candles in ${warm.summary.archives} archives, ${warm.wall.toFixed(2)} s`);

  const storageCase: StorageCase = { format: 'hdf5', dtype: 'uint8', compression: 'fast', source: 'candles', count: images };
  const cli: (CliRun & { reruns: number })[] = [];
  const storage: Awaited<ReturnType<typeof measureCase>>[] = [];
  for (let i = 0; i < TIMED_RUNS; i++) {
    storage.push(await measureCase(storageCase, false));
    cli.push(await timedCli(configFile, out, probeFile));
  }

  console.log(`\n## ${images.toLocaleString('en-US')} images, seqLen 100, height 500, uint8, HDF5 'fast', horizons [1, 5, 15]`);
  console.log(row(['run', 'wall s (spawn to exit)', 'images/s end to end', "CLI's own seconds (runBuild)", "CLI's images/s (draw + write phase)", 'peak RSS MB', 'cores used', 'other load']));
  console.log(row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:']));
  cli.forEach((r, i) => {
    console.log(row([`ohlc-native build #${i + 1}`, r.wall.toFixed(2), fmtRate(images / r.wall), r.summary.seconds.toFixed(2), fmtRate(r.summary.imagesPerSecond), fmtMB(r.peakRss), (r.cpuMs / 1000 / r.wall).toFixed(2), `${r.foreign.toFixed(2)}${r.reruns ? ` (${r.reruns} re-run)` : ''}`]));
  });
  storage.forEach((f, i) => {
    console.log(row([`bench/storage.ts case #${i + 1} (writer only: createDatasetWriter to close)`, f.seconds.toFixed(2), fmtRate(f.rate), '-', '-', fmtMB(f.peakRss), f.cpuCores.toFixed(2), `${f.foreign.toFixed(2)}${f.reruns ? ` (${f.reruns} re-run)` : ''}`]));
  });

  const cliRate = median(cli.map((r) => images / r.wall));
  const cliPhaseRate = median(cli.map((r) => r.summary.imagesPerSecond));
  const storageRate = median(storage.map((f) => f.rate));
  const loss = 1 - cliRate / storageRate;
  const phaseLoss = 1 - cliPhaseRate / storageRate;
  console.log(`\n## Target: the CLI loses at most 10% to the storage benchmark`);
  console.log(`- end to end (spawn to exit, incl. Node start-up, cached load and parse): ${fmtRate(cliRate)} vs ${fmtRate(storageRate)} images/s, ${(loss * 100).toFixed(1)}% slower: ${loss <= 0.1 ? 'MET' : 'MISSED'}`);
  console.log(`- draw + write phase as the CLI reports it: ${fmtRate(cliPhaseRate)} vs ${fmtRate(storageRate)} images/s, ${(phaseLoss * 100).toFixed(1)}% slower: ${phaseLoss <= 0.1 ? 'MET' : 'MISSED'}`);
  const setup = median(cli.map((r) => r.wall - r.summary.seconds));
  const load = median(cli.map((r) => r.summary.seconds - images / r.summary.imagesPerSecond));
  console.log(`- where the difference goes (medians): ${setup.toFixed(2)} s before runBuild starts or after it returns (Node start-up, module loading, config, exit), ${load.toFixed(2)} s in runBuild before drawing (cached archives: read, SHA-256, inflate, parse, merge; window plan)`);
  console.log(`${loadLine()} at end`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
