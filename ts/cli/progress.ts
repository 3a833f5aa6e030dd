// Progress on stderr: cli-progress bars when stderr is a terminal, plain periodic lines otherwise
// (CI logs, pipes), nothing with --quiet.
import { createRequire } from 'node:module';
import type CliProgress from 'cli-progress';

const require = createRequire(import.meta.url);

export interface ProgressReporter {
  update(phase: string, done: number, total: number): void;
  stop(): void;
}

const LABELS: Record<string, string> = { download: 'archives', parse: 'parsed', images: 'images' };

export function createProgress(options: { quiet: boolean; stream?: NodeJS.WriteStream; intervalMs?: number }): ProgressReporter {
  const stream = options.stream ?? process.stderr;
  if (options.quiet) return { update() {}, stop() {} };

  if (stream.isTTY) {
    // Loaded only for a terminal.
    const cliProgress = require('cli-progress') as typeof CliProgress;
    const multi = new cliProgress.MultiBar(
      {
        stream,
        format: ' {label} |{bar}| {percentage}% {value}/{total} {rate}',
        barCompleteChar: '█',
        barIncompleteChar: '░',
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 50,
        fps: 10,
      },
      cliProgress.Presets.shades_classic,
    );
    const bars = new Map<string, { bar: CliProgress.SingleBar; start: number }>();
    return {
      update(phase, done, total) {
        let entry = bars.get(phase);
        if (!entry) {
          entry = { bar: multi.create(Math.max(total, 1), 0, { label: (LABELS[phase] ?? phase).padEnd(8), rate: '' }), start: Date.now() };
          bars.set(phase, entry);
        }
        const seconds = (Date.now() - entry.start) / 1000;
        const rate = phase === 'images' && seconds > 0.2 ? `${Math.round(done / seconds)}/s` : '';
        entry.bar.setTotal(Math.max(total, 1));
        entry.bar.update(done, { rate });
      },
      stop() {
        multi.stop();
      },
    };
  }

  // Not a terminal: a line per phase at most every intervalMs, plus the final one.
  const every = options.intervalMs ?? 5000;
  const last = new Map<string, { at: number; done: number }>();
  return {
    update(phase, done, total) {
      const prev = last.get(phase);
      const now = Date.now();
      const finished = done >= total;
      if (prev && (prev.done === done || (!finished && now - prev.at < every))) return;
      last.set(phase, { at: now, done });
      const pct = total > 0 ? Math.floor((100 * done) / total) : 100;
      stream.write(`progress: ${LABELS[phase] ?? phase} ${done}/${total} (${pct}%)\n`);
    },
    stop() {},
  };
}
