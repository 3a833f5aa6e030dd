// The console of a command (stderr): progress bars on a terminal, plain periodic lines otherwise,
// nothing with --quiet; and every log line goes through here too, so on a terminal it lands
// above the bars, whole, never glued to a bar line or cut at the terminal's width.
import { createRequire } from 'node:module';
import type CliProgress from 'cli-progress';

const require = createRequire(import.meta.url);

export interface ProgressUpdate {
  phase: string;
  done: number;
  total: number;
  /** Bytes received so far in this phase (downloads). */
  bytes?: number;
  /** What the phase is on now (the symbol being drawn). */
  detail?: string;
}

export interface Terminal {
  /** Whether stderr is a terminal (bars, a prompt), and whether to colour. */
  readonly tty: boolean;
  readonly color: boolean;
  /** Writes finished lines (ending in a newline) to the console, above any bars. */
  write(text: string): void;
  progress(update: ProgressUpdate): void;
  /**
   * A status line that changes in place (e.g. "retrying X: attempt 3 of 4"): on a terminal it is
   * kept below the bars and updated; elsewhere only its first text is printed. null removes it.
   */
  status(key: string, text: string | null): void;
  /** Removes the bars (the last state stays on screen). */
  stop(): void;
}

const LABELS: Record<string, string> = { download: 'archives', parse: 'parsed', symbols: 'symbols', images: 'images' };

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v >= 100 ? 0 : 1)} ${units[u]}`;
}

export { formatBytes };

function formatSeconds(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '--';
  if (s < 60) return `${Math.round(s)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** Rate, elapsed time and ETA of a phase, for bars and plain lines alike. */
function describe(u: ProgressUpdate, startedAt: number): { rate: string; elapsed: string; eta: string } {
  const seconds = (Date.now() - startedAt) / 1000;
  const perSecond = seconds > 0.2 ? u.done / seconds : 0;
  const eta = perSecond > 0 && u.total > u.done ? formatSeconds((u.total - u.done) / perSecond) : u.done >= u.total ? '0s' : '--';
  const rate =
    u.bytes !== undefined
      ? `${formatBytes(u.bytes)}${seconds > 0.2 ? ` ${formatBytes(Math.round(u.bytes / seconds))}/s` : ''}`
      : u.phase === 'images' && perSecond > 0
        ? `${Math.round(perSecond).toLocaleString('en-US')}/s`
        : '';
  return { rate, elapsed: formatSeconds(seconds), eta };
}

export function createTerminal(options: { quiet: boolean; stream?: NodeJS.WriteStream; intervalMs?: number }): Terminal {
  const stream = options.stream ?? process.stderr;
  const tty = stream.isTTY === true;
  // hasColors() honours NO_COLOR, FORCE_COLOR and TERM=dumb.
  const color = tty && typeof stream.hasColors === 'function' && stream.hasColors();
  if (options.quiet) {
    return { tty, color, write: (text) => stream.write(text), progress() {}, status() {}, stop() {} };
  }
  return tty ? barTerminal(stream, color) : plainTerminal(stream, options.intervalMs ?? 5000);
}

function barTerminal(stream: NodeJS.WriteStream, color: boolean): Terminal {
  // Loaded only for a terminal.
  const cliProgress = require('cli-progress') as typeof CliProgress;
  let multi: CliProgress.MultiBar | undefined;
  const bars = new Map<string, { bar: CliProgress.SingleBar; start: number }>();
  const statuses = new Map<string, CliProgress.SingleBar>();
  const ensureMulti = () =>
    (multi ??= new cliProgress.MultiBar(
      {
        stream,
        format: ' {label} |{bar}| {percentage}% {value}/{total} {rate} {time}{detail}',
        barCompleteChar: '█',
        barIncompleteChar: '░',
        hideCursor: true,
        clearOnComplete: false,
        // While bars are on screen the terminal's line wrapping is off (a bar wider than the
        // terminal is cut, never wrapped onto the next row); write() turns it on for log lines.
        linewrap: false,
        fps: 10,
      },
      cliProgress.Presets.shades_classic,
    ));
  return {
    tty: true,
    color,
    write(text) {
      if (!multi) stream.write(text);
      else {
        // The old bars below the cursor go first (rows a wrapped log line does not fill would keep
        // their remains); wrapping is on for the log line, so it wraps whole instead of being cut,
        // and off again for the bars, which are redrawn below it at once.
        multi.log(`\x1b[J\x1b[?7h${text}\x1b[?7l`);
        // Draw now: the line appears at once, and is on screen even if the bars stop next.
        (multi as unknown as { update(): void }).update();
      }
    },
    progress(u) {
      const m = ensureMulti();
      let entry = bars.get(u.phase);
      if (!entry) {
        entry = { bar: m.create(Math.max(u.total, 1), 0, { label: (LABELS[u.phase] ?? u.phase).padEnd(8), rate: '', time: '', detail: '' }), start: Date.now() };
        bars.set(u.phase, entry);
      }
      const d = describe(u, entry.start);
      entry.bar.setTotal(Math.max(u.total, 1));
      entry.bar.update(u.done, { rate: d.rate, time: `${d.elapsed} elapsed, eta ${d.eta}`, detail: u.detail ? ` ${u.detail}` : '' });
    },
    status(key, text) {
      const m = ensureMulti();
      const line = statuses.get(key);
      if (text === null) {
        if (line) m.remove(line);
        statuses.delete(key);
      } else if (line) line.update(0, { text });
      else statuses.set(key, m.create(1, 0, { text }, { format: ' {text}' }));
    },
    stop() {
      if (!multi) return;
      for (const line of statuses.values()) multi.remove(line);
      statuses.clear();
      (multi as unknown as { update(): void }).update();
      multi.stop();
      multi = undefined;
      bars.clear();
    },
  };
}

function plainTerminal(stream: NodeJS.WriteStream, every: number): Terminal {
  const last = new Map<string, { at: number; done: number; start: number }>();
  const shown = new Set<string>();
  return {
    tty: false,
    color: false,
    write: (text) => stream.write(text),
    progress(u) {
      const prev = last.get(u.phase);
      const now = Date.now();
      const finished = u.done >= u.total;
      if (prev && (prev.done === u.done || (!finished && now - prev.at < every))) return;
      const start = prev?.start ?? now;
      last.set(u.phase, { at: now, done: u.done, start });
      const pct = u.total > 0 ? Math.floor((100 * u.done) / u.total) : 100;
      const d = describe(u, start);
      stream.write(`progress: ${LABELS[u.phase] ?? u.phase} ${u.done}/${u.total} (${pct}%)${d.rate ? ` ${d.rate}` : ''}, ${d.elapsed} elapsed, eta ${d.eta}${u.detail ? ` ${u.detail}` : ''}\n`);
    },
    status(key, text) {
      if (text === null || shown.has(key)) return;
      shown.add(key);
      stream.write(`${text}\n`);
    },
    stop() {},
  };
}
