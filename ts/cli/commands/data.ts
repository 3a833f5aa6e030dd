// ohlc-native download / sample: the data step alone.
import type { Command } from 'commander';
import { downloadOptionsFrom } from '../../config/data-options.js';
import { downloadCryptoData, writeSampleArchives } from '../../data/index.js';
import { createPipelineLogger } from '../../log/logger.js';
import { createProgress } from '../progress.js';
import { interruptSignal, readConfig, runCommand, withConfigOptions, type CommonOptions } from '../run.js';

function dataCommand(cmd: Command): Command {
  return withConfigOptions(cmd)
    .option('--json', 'print one JSON summary on stdout at the end')
    .option('-q, --quiet', 'no progress bars, only warnings and errors on the console');
}

export function registerData(program: Command): void {
  dataCommand(program.command('download').description('fetch and cache the configured archives (verified), then report candles and gaps')).action((opts: CommonOptions) =>
    runCommand(async () => {
      const { config } = readConfig(opts);
      const log = createPipelineLogger({ logsDir: null, consoleLevel: opts.quiet ? 'warn' : 'info' });
      const progress = createProgress({ quiet: opts.quiet === true });
      const interrupt = interruptSignal(() => log.warn('Interrupt received: stopping'));
      try {
        const candles = await downloadCryptoData(
          downloadOptionsFrom(config, {
            signal: interrupt.signal,
            logger: log,
            onProgress: (p) => progress.update(p.phase, p.done, p.total),
          }),
        );
        progress.stop();
        const summary = {
          symbol: candles.symbol,
          interval: candles.interval,
          market: candles.market,
          candles: candles.length,
          first: candles.length ? new Date(candles.openTime[0]).toISOString() : null,
          last: candles.length ? new Date(candles.openTime[candles.length - 1]).toISOString() : null,
          archives: candles.sources.length,
          cached: candles.sources.filter((s) => s.cached).length,
          gaps: candles.gaps,
          duplicates: candles.duplicates,
          notPublished: candles.notPublished,
          cacheDir: config.paths.raw_data,
        };
        if (opts.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
        else log.info(`${summary.candles} candles ${summary.first} .. ${summary.last} from ${summary.archives} archives (${summary.cached} cached), ${summary.gaps.length} gaps`);
      } finally {
        progress.stop();
        interrupt.dispose();
      }
    }),
  );

  dataCommand(program.command('sample').description('write deterministic synthetic archives (Binance layout, marked synthetic) for the configured range; no network')).action(
    (opts: CommonOptions) =>
      runCommand(async () => {
        const { config } = readConfig(opts);
        const log = createPipelineLogger({ logsDir: null, consoleLevel: opts.quiet ? 'warn' : 'info' });
        const interrupt = interruptSignal();
        try {
          const { symbol, interval, startDate, endDate, market, cacheDir } = downloadOptionsFrom(config);
          const result = await writeSampleArchives({ symbol, interval, startDate, endDate, market, cacheDir, signal: interrupt.signal, logger: log });
          const written = result.archives.filter((a) => a.written).length;
          if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
          else log.info(`${result.archives.length} synthetic archives in ${result.root} (${written} written, ${result.archives.length - written} already there)`);
        } finally {
          interrupt.dispose();
        }
      }),
  );
}
