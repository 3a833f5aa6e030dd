// Sharded builds on one machine: N = 1, 2, 4 shard processes (`build --shard i/N`, run side by
// side) against the single build of the same config, as total images/s from the first spawn to
// the last exit; then the merge, and h5py's random single-image reads through the master's
// virtual datasets against reading the shards directly (bench/vds_read.py).
//   node --import tsx bench/shards.ts [--quick]
// On 2 cores this measures the overhead of cutting a build (processes, edge history, one file per
// shard), not a speed-up. Each process gets runtime.threads = max(1, cores / N), so N processes
// together use the machine's cores as one build does. Cache warm (one untimed build first); the
// built CLI (dist/cli/main.js) as users run it; rounds interleaved, median of them; a round during
// which other processes used more than FOREIGN_LIMIT cores is repeated (at most twice).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmtRate, FOREIGN_LIMIT, hasFlag, LoadMeter, loadLine, machineLine, median, waitForQuiet } from './common.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const PROBE = join(ROOT, 'bench', 'rss-probe.mjs');
const QUICK = hasFlag('--quick');
const ROUNDS = QUICK ? 1 : 3;
const CORES = cpus().length;

function configYaml(threads: number): string {
  return `data: { symbols: [BTCUSDT, ETHUSDT], interval: 1m, start_date: "2024-01", end_date: "2024-02", source: sample }
image: { seq_len: 100, resolution: { height: ${QUICK ? 100 : 500} } }
labels: { horizons: [1, 5, 15] }
paths: { raw_data: raw, processed_data: out, logs: logs }
runtime: { device: cpu, threads: ${threads} }
`;
}

let probes = 0;

/** The CLI in a child; its CPU time comes back through bench/rss-probe.mjs (preloaded). */
function run(args: string[], cwd: string): Promise<{ status: number | null; stdout: string; stderr: string; cpuMs: number }> {
  const probeFile = join(cwd, `probe-${probes++}.json`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', PROBE, CLI, ...args], { cwd, env: { ...process.env, OHLC_BENCH_PROBE_FILE: probeFile } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (status) => {
      let cpuMs = 0;
      try {
        cpuMs = (JSON.parse(readFileSync(probeFile, 'utf8')) as { cpuMs: number }).cpuMs;
      } catch {
        // a child that died before its exit handler: no figure
      }
      resolve({ status, stdout, stderr, cpuMs });
    });
  });
}

interface Round {
  seconds: number;
  images: number;
  foreign: number;
}

/** One build: the single one (n = 0) or n shard processes at once; fresh outputs each time. */
async function buildRound(dir: string, n: number): Promise<Round> {
  rmSync(join(dir, 'out'), { recursive: true, force: true });
  const threads = Math.max(1, Math.floor(CORES / Math.max(1, n)));
  writeFileSync(join(dir, 'config.yaml'), configYaml(threads));
  const meter = new LoadMeter();
  const t0 = performance.now();
  const jobs = n === 0 ? [run(['build', '--config', 'config.yaml', '--quiet', '--json', '--yes'], dir)] : Array.from({ length: n }, (_, i) => run(['build', '--config', 'config.yaml', '--shard', `${i}/${n}`, '--quiet', '--json'], dir));
  const results = await Promise.all(jobs);
  const seconds = (performance.now() - t0) / 1000;
  let images = 0;
  let childCpuMs = 0;
  for (const r of results) {
    childCpuMs += r.cpuMs;
    if (r.status !== 0) throw new Error(`build failed: ${r.stderr}`);
    images += (JSON.parse(r.stdout) as { images: number }).images;
  }
  return { seconds, images, foreign: meter.foreignCores(childCpuMs) };
}

async function measured(dir: string, n: number): Promise<Round> {
  let r = await buildRound(dir, n);
  for (let retry = 0; retry < 2 && r.foreign > FOREIGN_LIMIT; retry++) {
    await waitForQuiet();
    r = await buildRound(dir, n);
  }
  return r;
}

const dir = mkdtempSync(join(tmpdir(), 'ohlc-bench-shards-'));
try {
  console.log(`## Sharded builds (${QUICK ? '--quick, ' : ''}${new Date().toISOString()})\n\n${machineLine()}; ${loadLine()}\n`);
  writeFileSync(join(dir, 'config.yaml'), configYaml(CORES));
  const warm = await run(['build', '--config', 'config.yaml', '--quiet', '--yes'], dir);
  if (warm.status !== 0) throw new Error(warm.stderr);
  const cases = [0, 1, 2, 4];
  const rounds = new Map<number, Round[]>(cases.map((n) => [n, []]));
  for (let k = 0; k < ROUNDS; k++) {
    for (const n of cases) {
      await waitForQuiet(30_000);
      rounds.get(n)!.push(await measured(dir, n));
    }
  }
  const single = median(rounds.get(0)!.map((r) => r.images / r.seconds));
  console.log('| build | processes × threads | images | wall s (median) | total images/s | vs single | load (max) |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: |');
  for (const n of cases) {
    const rs = rounds.get(n)!;
    const rate = median(rs.map((r) => r.images / r.seconds));
    const label = n === 0 ? 'single build' : `--shard i/${n}`;
    const shape = `${Math.max(1, n)} × ${Math.max(1, Math.floor(CORES / Math.max(1, n)))}`;
    console.log(`| ${label} | ${shape} | ${rs[0].images.toLocaleString('en-US')} | ${median(rs.map((r) => r.seconds)).toFixed(2)} | ${fmtRate(rate)} | ${(rate / single).toFixed(2)} | ${Math.max(...rs.map((r) => r.foreign)).toFixed(2)} |`);
  }

  // The last round of 4 shards stands: merge it, then read through the master.
  const t0 = performance.now();
  const merged = await run(['merge', '--config', 'config.yaml', '--json'], dir);
  if (merged.status !== 0) throw new Error(merged.stderr);
  const summary = JSON.parse(merged.stdout) as { master: string; shards: string[]; images: number };
  console.log(`\nmerge of 4 shards (${summary.images.toLocaleString('en-US')} images): ${((performance.now() - t0) / 1000).toFixed(2)} s wall, CLI start-up included\n`);
  await waitForQuiet(30_000);
  const py = spawnSync('/usr/bin/python3', [join(ROOT, 'bench', 'vds_read.py'), summary.master, ...summary.shards, '--reads', QUICK ? '1000' : '5000', '--rounds', String(ROUNDS)], { encoding: 'utf8' });
  if (py.status !== 0) throw new Error(py.stderr);
  const v = JSON.parse(py.stdout) as { direct: number; master: number; direct_reopened: number; master_reopened: number; shape: number[]; h5py: string; hdf5: string; reads: number };
  console.log(`h5py ${v.h5py} on HDF5 ${v.hdf5}, ${v.reads.toLocaleString('en-US')} random single-image reads of ${v.shape.join('×')} (median of ${ROUNDS}):\n`);
  console.log('| read | images/s | vs direct |');
  console.log('| --- | ---: | ---: |');
  console.log(`| shard file directly, \`images[j]\` | ${fmtRate(v.direct)} | 1.00 |`);
  console.log(`| master (VDS), \`images[i]\` | ${fmtRate(v.master)} | ${(v.master / v.direct).toFixed(2)} |`);
  console.log(`| shard file opened per read | ${fmtRate(v.direct_reopened)} | ${(v.direct_reopened / v.direct).toFixed(2)} |`);
  console.log(`| master opened per read | ${fmtRate(v.master_reopened)} | ${(v.master_reopened / v.direct).toFixed(2)} |`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
