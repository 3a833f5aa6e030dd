// ohlc-native download / sample: the data step alone.
import type { Command } from 'commander';
import { downloadOptionsFrom } from '../../config/data-options.js';
import { downloadCryptoData, writeSampleArchives } from '../../data/index.js';
import { openSession, readConfig, runCommand, withConfigOptions, withOutputOptions, type CommonOptions } from '../run.js';

export function registerData(program: Command): void {
  withOutputOptions(withConfigOptions(program.command('download').description('fetch and cache the configured archives (verified), then report candles and gaps'))).action((opts: CommonOptions) =>
    runCommand(
      async () => {
        const loaded = readConfig(opts);
        const { config } = loaded;
        const session = openSession('download', opts, loaded);
        const { log, terminal } = session;
        try {
          const candles = await downloadCryptoData(
            downloadOptionsFrom(config, { signal: session.interrupt.signal, logger: log, onProgress: (p) => terminal.progress(p) }),
          );
          session.close();
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
            logFile: log.file,
          };
          log.fileOnly('info', 'Downloaded', summary);
          if (opts.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
          else if (!opts.quiet) {
            process.stderr.write(
              `${summary.candles} candles ${summary.first} .. ${summary.last} from ${summary.archives} archives (${summary.cached} cached), ${summary.gaps.length} gaps, in ${summary.cacheDir}; log ${log.file}\n`,
            );
          }
        } finally {
          session.close();
        }
      },
      { json: opts.json, verbose: opts.verbose },
    ),
  );

  withOutputOptions(withConfigOptions(program.command('sample').description('write deterministic synthetic archives (Binance layout, marked synthetic) for the configured range; no network'))).action(
    (opts: CommonOptions) =>
      runCommand(
        async () => {
          const loaded = readConfig(opts);
          const session = openSession('sample', opts, loaded);
          const { log } = session;
          try {
            const { symbol, interval, startDate, endDate, market, cacheDir } = downloadOptionsFrom(loaded.config);
            const result = await writeSampleArchives({ symbol, interval, startDate, endDate, market, cacheDir, signal: session.interrupt.signal, logger: log });
            session.close();
            const written = result.archives.filter((a) => a.written).length;
            log.fileOnly('info', 'Synthetic archives ready', { root: result.root, archives: result.archives.length, written });
            if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
            else if (!opts.quiet) process.stderr.write(`${result.archives.length} synthetic archives in ${result.root} (${written} written, ${result.archives.length - written} already there); log ${log.file}\n`);
          } finally {
            session.close();
          }
        },
        { json: opts.json, verbose: opts.verbose },
      ),
  );
}
