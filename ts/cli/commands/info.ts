// ohlc-native info: the installation (native build, threads, GPU).
import type { Command } from 'commander';
import { buildInfo } from '../../info.js';
import { runCommand } from '../run.js';

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('show the native build: source hash, OpenMP threads, CUDA device')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      runCommand(async () => {
        const info = buildInfo();
        if (opts.json) process.stdout.write(`${JSON.stringify(info)}\n`);
        else {
          process.stdout.write(`${info.name} ${info.version}\naddon     ${info.addonPath}\nsources   ${info.sourceHash}\n`);
          process.stdout.write(`cpu       ${info.openmp ? `OpenMP, ${info.threads} threads` : 'single-threaded (no OpenMP)'}\n`);
          const c = info.cuda;
          process.stdout.write(`cuda      ${c.available ? `${c.name} (compute ${c.computeCapability})` : `${c.compiled ? 'compiled, ' : ''}unavailable: ${c.reason}`}\n`);
        }
      }),
    );
}
