// ohlc-native verify DATASET: the dataset against its manifest (ts/pipeline/verify.ts).
import { stat } from 'node:fs/promises';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { ErrorCode, OhlcError } from '../../errors.js';
import { STORAGE_FORMATS, type StorageFormat } from '../../storage/formats.js';
import { EXIT, runCommand } from '../run.js';

function count(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`expected a number of images (0, 1, 2, ...), got ${JSON.stringify(value)}`);
  return Number(value);
}

export function registerVerify(program: Command): void {
  program
    .command('verify <dataset>')
    .description('check a dataset against its manifest: content digest, cached inputs, redrawn images, labels (exit 1 naming every difference)')
    .option('-n, --sample <n>', 'images to redraw from their stored prices', count, 64)
    .addOption(new Option('-f, --format <format>', 'the format, when the name does not say it (default: detected)').choices(STORAGE_FORMATS))
    .option('--cache <dir>', 'where the input archives are cached (default: the manifest\'s cache_dir)')
    .option('--json', 'print the report as JSON')
    .action((dataset: string, opts: { sample: number; format?: StorageFormat; cache?: string; json?: boolean }) =>
      runCommand(
        async () => {
          const { verifyDataset } = await import('../../pipeline/verify.js');
          // A mistyped --cache would only show as every input 'not in the cache'.
          if (opts.cache !== undefined && !(await stat(opts.cache).then((s) => s.isDirectory(), () => false))) {
            throw new OhlcError(ErrorCode.invalidArgument, `--cache ${opts.cache} is not a folder (it must be the cache folder the dataset's inputs were downloaded to, paths.raw_data)`);
          }
          const report = await verifyDataset(dataset, { sample: opts.sample, cacheDir: opts.cache, format: opts.format, formatTerm: '--format' });
          if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
          else {
            const c = report.checked;
            process.stdout.write(
              `manifest   ${report.manifest ?? 'none'}\ncontent    ${c.contentSha256 ?? 'not computed (see the problems)'}\ninputs     ${c.inputs} checked, ${c.inputsMissing} not in the cache\nredrawn    ${c.redrawn} images\nlabels     ${c.labels} checked\n`,
            );
            for (const p of report.problems) process.stdout.write(`problem    ${p}\n`);
            process.stdout.write(report.ok ? 'ok: the dataset is what its manifest says\n' : `FAILED: ${report.problems.length} difference${report.problems.length === 1 ? '' : 's'}\n`);
          }
          return report.ok ? EXIT.ok : EXIT.failed;
        },
        { json: opts.json },
      ),
    );
}
