// ohlc-native build: the whole pipeline from the YAML config.
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { isAbortError } from '../../errors.js';
import { runBuild, type BuildSummary } from '../../pipeline/build.js';
import { parseShardArg } from '../../pipeline/shards.js';
import { estimateBuild, isLargeBuild, type BuildEstimate } from '../../pipeline/estimate.js';
import { formatBytes } from '../terminal.js';
import { EXIT, openSession, readConfig, runCommand, withConfigOptions, withOutputOptions, type CommonOptions } from '../run.js';

interface BuildCliOptions extends CommonOptions {
  out?: string;
  force?: boolean;
  yes?: boolean;
  shard?: string;
}

function describeEstimate(e: BuildEstimate): string {
  const minutes = e.seconds / 60;
  const time = minutes < 1 ? 'under a minute' : minutes < 90 ? `about ${Math.round(minutes)} minutes` : `about ${(minutes / 60).toFixed(1)} hours`;
  return `about ${e.images.toLocaleString('en-US')} images, about ${formatBytes(e.bytes)}, ${time} on this machine's CPU`;
}

/** Asks on the terminal before a large build. */
async function confirmLarge(estimate: BuildEstimate): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`This build makes ${describeEstimate(estimate)}. Continue? [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** The one line a person reads at the end: what was written where, how big, how long, the log. */
export function summaryLine(s: BuildSummary): string {
  const where = s.outputs.length === 1 ? s.outputs[0] : `${s.outputs.length} files, ${s.outputs[0]} … ${s.outputs.at(-1)}`;
  const log = s.logFile ? `; log ${s.logFile}` : '';
  if (s.shard?.alreadyComplete) return `Shard ${s.shard.index}/${s.shard.count} was already complete: ${s.images.toLocaleString('en-US')} images in ${where}, nothing built${log}\n`;
  return `Wrote ${s.images.toLocaleString('en-US')} images to ${where} (${formatBytes(s.bytes)}) in ${s.seconds.toFixed(1)} s${log}\n`;
}

export function registerBuild(program: Command): void {
  withOutputOptions(withConfigOptions(program.command('build').description('download (cached) -> windows -> images -> storage, as the config says')))
    .option('-o, --out <path>', 'output path (file, or stem in batch mode; a folder gets the default name inside) instead of paths.processed_data/<name>')
    .option('-f, --force', 'replace a dataset at the output path even when it was built from another config (never anything that is not a dataset)')
    .option('-y, --yes', 'start a large build (over 500,000 images or 1 GB) without asking')
    .option('--shard <I/N>', 'build only shard I of N (ohlc-native plan --shards N shows them) into <name>.shard-IIIII-of-NNNNN; auto/N takes I from JOB_COMPLETION_INDEX (Kubernetes Indexed Jobs)')
    .action((opts: BuildCliOptions) =>
      runCommand(
        async () => {
          const shard = opts.shard === undefined ? undefined : parseShardArg(opts.shard);
          const loaded = readConfig(opts);
          // A shard is a part of a large build whose size was weighed when it was planned: it never asks.
          const estimate = estimateBuild(loaded.config);
          if (shard) opts.yes = true;
          const interactive = process.stdin.isTTY === true && process.stderr.isTTY === true && !opts.json;
          if (isLargeBuild(estimate) && !opts.yes) {
            // Elsewhere than a terminal (CI, a pod) it only says so, and goes on.
            if (!interactive) process.stderr.write(`ohlc-native: this build makes ${describeEstimate(estimate)}\n`);
            else if (!(await confirmLarge(estimate))) {
              process.stderr.write('ohlc-native: not started (pass --yes to skip this question)\n');
              return EXIT.ok;
            }
          }
          const session = openSession('pipeline', opts, loaded);
          const { log, terminal } = session;
          log.info('Pipeline started', { config: loaded.file ?? 'built-in defaults', logFile: log.file });
          log.fileOnly('info', 'Estimated from the config', { ...estimate });
          try {
            const summary = await runBuild({
              config: loaded.config,
              out: opts.out,
              force: opts.force === true,
              shard,
              log,
              signal: session.interrupt.signal,
              onProgress: (p) => terminal.progress(p),
            });
            session.close();
            if (opts.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
            if (!opts.quiet) process.stderr.write(summaryLine(summary));
          } catch (err) {
            terminal.stop();
            if (isAbortError(err)) log.warn('Pipeline interrupted: nothing half-written was left under a final name');
            else log.fileOnly('error', 'Pipeline failed', { error: (err as Error).message, code: (err as { code?: string }).code });
            throw err;
          } finally {
            session.close();
          }
        },
        { json: opts.json, verbose: opts.verbose },
      ),
    );
}
