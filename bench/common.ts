// What every benchmark here shares: the machine line, the load check, medians, rates, child
// processes that report one JSON line, and the candle series they all draw from.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { parseKlinesCsv } from '../ts/data/parse.js';
import { syntheticKlinesCsv } from '../ts/data/sample.js';

export const SEQ_LEN = 100;
export const HEIGHT = 500;
export const WIDTH = 4 * SEQ_LEN;
export const PIXELS = HEIGHT * WIDTH;
/** The pipeline's horizons (config/sample.yaml), so the storage and pipeline rows match in shape. */
export const HORIZONS = [1, 5, 15];

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function fmtRate(imagesPerSecond: number): string {
  return Math.round(imagesPerSecond).toLocaleString('en-US');
}

export function fmtMB(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

/** One line naming the machine, for every table's heading. */
export function machineLine(): string {
  const cpu = cpus();
  return `Node ${process.version}, ${cpu.length} x ${cpu[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM (${(freemem() / 2 ** 30).toFixed(1)} free)`;
}

export function loadLine(): string {
  return `load average ${loadavg().map((l) => l.toFixed(2)).join(' / ')} (1/5/15 min)`;
}

/** CPU time, in ms, every process on the machine has used so far (/proc/stat; 0 where missing). */
function machineBusyMs(): number {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: busy is everything but idle and iowait.
    const [user, nice, system, , , irq, softirq, steal] = f;
    return (user + nice + system + irq + softirq + steal) * 10;
  } catch {
    return 0;
  }
}

/**
 * Measures how much CPU other processes took while we measured: the machine's busy time minus our
 * own (this process, plus what children report), as cores. Other engineers share these 2 cores.
 */
export class LoadMeter {
  private busy0 = machineBusyMs();
  private own0 = cpuMs();
  private wall0 = performance.now();

  /** Cores used by other processes since construction; `childCpuMs` is CPU our children used. */
  foreignCores(childCpuMs = 0): number {
    const wall = performance.now() - this.wall0;
    const foreign = machineBusyMs() - this.busy0 - (cpuMs() - this.own0) - childCpuMs;
    return wall > 0 ? Math.max(0, foreign / wall) : 0;
  }
}

/** Other processes may use this much (cores) during a measurement before it is thrown away and re-run. */
export const FOREIGN_LIMIT = 0.15;

/** Waits (up to `maxMs`) until other processes leave the CPU alone for a second. */
export async function waitForQuiet(maxMs = 120_000): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < maxMs) {
    const meter = new LoadMeter();
    await new Promise((r) => setTimeout(r, 1000));
    if (meter.foreignCores() < FOREIGN_LIMIT) return;
  }
}

/** Peak resident set of this process in bytes (VmHWM; maxRSS where /proc is missing). */
export function peakRssBytes(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

export function currentRssBytes(): number {
  return process.memoryUsage.rss();
}

export function hasFlag(name: string): boolean {
  return process.argv.includes(name);
}

/** The value after `--name`, if given. */
export function flagValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

export interface CandleSeries {
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  /** Open time of each candle, ms UTC. */
  times: Float64Array;
  /** Base-asset volume of each candle (the jkx layout's strip); not in candle files. */
  volume?: Float64Array;
  length: number;
}

/**
 * One continuous series of `n` 1-minute candles from 2024-01-01: the synthetic sample's random walk
 * (ts/data/sample.ts, the same generator `ohlc-native build` reads with data.source: sample), drawn
 * as one period so there is no seam, and parsed by the addon as the pipeline does.
 */
export function candleSeries(n: number): CandleSeries {
  const start = Date.UTC(2024, 0, 1);
  const { csv } = syntheticKlinesCsv('spot', 'BTCUSDT', '1m', 'bench', start, start + n * 60_000);
  const k = parseKlinesCsv(Buffer.from(csv, 'latin1'), { name: 'bench' });
  return { open: k.open, high: k.high, low: k.low, close: k.close, times: k.openTime, volume: k.volume, length: k.rows };
}

/**
 * A candle file for the other processes (the storage child, the C++ loop, the NumPy baseline):
 * open, high, low, close and open time as 5 consecutive float64 columns of equal length.
 */
export function writeCandlesFile(path: string, c: CandleSeries): void {
  const columns = [c.open, c.high, c.low, c.close, c.times];
  writeFileSync(path, Buffer.concat(columns.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength))));
}

export function readCandlesFile(path: string): CandleSeries {
  const bytes = readFileSync(path);
  const all = new Float64Array(bytes.length / 8);
  new Uint8Array(all.buffer).set(bytes);
  const n = all.length / 5;
  const column = (i: number) => all.subarray(i * n, (i + 1) * n);
  return { open: column(0), high: column(1), low: column(2), close: column(3), times: column(4), length: n };
}

/**
 * Runs `node --import tsx <script> ...args` and returns the last line of its stdout parsed as JSON
 * (the child prints its figures there); stderr passes through.
 */
export function runNodeChild<T>(script: string, args: string[], env: Record<string, string> = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, ...env },
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`${script} ${args.join(' ')} exited with ${code ?? signal}: ${stdout.slice(-2000)}`));
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`${script} ${args.join(' ')} printed no JSON result: ${stdout.slice(-2000)}`));
      }
    });
  });
}

/** Process CPU time in ms (user + system, all threads): cpu / wall shows how many cores a case got. */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
