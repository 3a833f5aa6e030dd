// ohlc-native plan --shards N: how a build's work splits into N shards (ts/pipeline/shards.ts),
// the same split every `build --shard I/N` computes for itself.
import type { Command } from 'commander';
import { configSha256 } from '../../config/hash.js';
import { selectionSegments, selectSymbols } from '../../pipeline/selection.js';
import { parseShardCount, planShards } from '../../pipeline/shards.js';
import { openSession, readConfig, runCommand, withConfigOptions, type CommonOptions } from '../run.js';

interface PlanCliOptions extends CommonOptions {
  shards: string;
}

export function registerPlan(program: Command): void {
  withConfigOptions(program.command('plan').description('print how the build splits into N shards by (symbol, month range), balanced by expected images'))
    .requiredOption('-n, --shards <n>', 'number of shards (the Indexed Job\'s completions)')
    .option('--json', 'print the plan as JSON')
    .action((opts: PlanCliOptions) =>
      runCommand(
        async () => {
          const count = parseShardCount(opts.shards);
          const loaded = readConfig(opts);
          const session = openSession('plan', { ...opts, quiet: true }, loaded);
          try {
            const selection = await selectSymbols(loaded.config, { log: session.log, signal: session.interrupt.signal });
            const plan = planShards(selectionSegments(loaded.config, selection), loaded.config, count);
            if (opts.json) {
              process.stdout.write(`${JSON.stringify({ config_sha256: configSha256(loaded.config), symbols: selection.symbols.length, ...plan })}\n`);
              return;
            }
            process.stdout.write(`${count} shard${count === 1 ? '' : 's'}, about ${plan.expected_images.toLocaleString('en-US')} images over ${selection.symbols.length} symbol${selection.symbols.length === 1 ? '' : 's'}\n`);
            for (const s of plan.shards) {
              const parts = s.parts.map((p) => `${p.symbol} ${p.from === p.to ? p.from : `${p.from}..${p.to}`}`).join(', ');
              process.stdout.write(`shard ${String(s.index).padStart(5)}  ~${s.expected_images.toLocaleString('en-US').padStart(12)} images  ${parts}\n`);
            }
          } finally {
            session.close();
          }
        },
        { json: opts.json },
      ),
    );
}
