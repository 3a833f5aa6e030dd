// ohlc-native universe: the point-in-time universe a config's data.universe resolves to, month by
// month, without building anything (what a build would draw, and why a symbol is not in it).
import type { Command } from 'commander';
import { universeOptionsFrom } from '../../config/data-options.js';
import { resolveUniverse } from '../../data/universe.js';
import type { Universe } from '../../data/types.js';
import { ConfigError } from '../../errors.js';
import { openSession, readConfig, runCommand, withConfigOptions, withOutputOptions, type CommonOptions } from '../run.js';

/** 1.23e9 as "1.23 G": ranking volumes span many orders of magnitude. */
function compact(v: number): string {
  const units: Array<[number, string]> = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  const [scale, unit] = units.find(([s]) => Math.abs(v) >= s) ?? [1, ''];
  return `${(v / scale).toPrecision(3)}${unit && ` ${unit}`}`;
}

function describe(u: Universe): string {
  const lines = [
    `${u.symbols.length} symbols over ${u.months.length} months from ${u.candidates.length} candidates (${u.excluded.length} excluded); ` +
      `listing ${u.listing.synthetic ? 'synthetic (data.source: sample)' : `${u.listing.url}${u.listing.fromCache ? ' (cached)' : ''}${u.listing.stale ? ' (stale: the bucket could not be listed)' : ''}`}`,
  ];
  for (const m of u.months) {
    const members = m.members.map((x) => (x.quoteVolume === undefined ? x.symbol : `${x.symbol} (${compact(x.quoteVolume)})`));
    lines.push(`${m.month}  ${m.members.length} members: ${members.join(', ') || '-'}`);
  }
  if (u.excluded.length) lines.push(`excluded: ${u.excluded.map((e) => `${e.symbol} (${e.reason})`).join(', ')}`);
  return `${lines.join('\n')}\n`;
}

export function registerUniverse(program: Command): void {
  withOutputOptions(withConfigOptions(program.command('universe').description("the point-in-time universe of data.universe: each month's members (with their ranking volume for top), candidates and exclusions"))).action(
    (opts: CommonOptions) =>
      runCommand(
        async () => {
          const loaded = readConfig(opts);
          const { config } = loaded;
          if (!config.data.universe) {
            throw new ConfigError('data.universe', ['ohlc-native universe needs data.universe in the config (e.g. --set "data.universe={quote: USDT, top: 50}"); this one names its symbols with data.symbol or data.symbols']);
          }
          const session = openSession('universe', opts, loaded);
          try {
            const u = await resolveUniverse(
              universeOptionsFrom(config, { signal: session.interrupt.signal, logger: session.log, onProgress: (p) => session.terminal.progress(p) }),
            );
            session.close();
            if (opts.json) process.stdout.write(`${JSON.stringify(u)}\n`);
            else process.stdout.write(describe(u));
          } finally {
            session.close();
          }
        },
        { json: opts.json, verbose: opts.verbose },
      ),
  );
}
