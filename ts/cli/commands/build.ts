// ohlc-native build: the whole pipeline from the YAML config.
import type { Command } from 'commander';
import { isAbortError } from '../../errors.js';
import { createPipelineLogger } from '../../log/logger.js';
import { runBuild } from '../../pipeline/build.js';
import { createProgress } from '../progress.js';
import { interruptSignal, readConfig, runCommand, withConfigOptions, type CommonOptions } from '../run.js';

interface BuildCliOptions extends CommonOptions {
  out?: string;
  force?: boolean;
}

export function registerBuild(program: Command): void {
  withConfigOptions(program.command('build').description('download (cached) -> windows -> images -> storage, as the config says'))
    .option('-o, --out <file>', 'output path (file, or stem in batch mode) instead of paths.processed_data/<name>')
    .option('-f, --force', 'replace a dataset at the output path even when it was built from another config (never anything that is not a dataset)')
    .option('--json', 'print one JSON summary on stdout at the end')
    .option('-q, --quiet', 'no progress bars, only warnings and errors on the console (the log file is still complete)')
    .action((opts: BuildCliOptions) =>
      runCommand(async () => {
        const { config, file } = readConfig(opts);
        const log = createPipelineLogger({ logsDir: config.paths.logs, consoleLevel: opts.quiet ? 'warn' : 'info' });
        const progress = createProgress({ quiet: opts.quiet === true });
        const interrupt = interruptSignal(() => log.warn('Interrupt received: stopping (press Ctrl-C again to exit at once)'));
        log.info('Pipeline started', { config: file ?? 'built-in defaults', logFile: log.file });
        try {
          const summary = await runBuild({
            config,
            out: opts.out,
            force: opts.force === true,
            log,
            signal: interrupt.signal,
            onProgress: (p) => progress.update(p.phase, p.done, p.total),
          });
          progress.stop();
          if (opts.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
        } catch (err) {
          progress.stop();
          if (isAbortError(err)) log.warn('Pipeline interrupted: nothing half-written was left under a final name');
          else log.error('Pipeline failed', { error: (err as Error).message, code: (err as { code?: string }).code });
          throw err;
        } finally {
          interrupt.dispose();
          log.flush();
        }
      }),
    );
}
