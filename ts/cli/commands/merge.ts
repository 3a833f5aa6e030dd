// ohlc-native merge: a sharded build's shards as one HDF5 master of virtual datasets (ts/pipeline/merge.ts).
import type { Command } from 'commander';
import { EXIT, readConfig, runCommand, withConfigOptions, type CommonOptions } from '../run.js';

interface MergeCliOptions extends CommonOptions {
  out?: string;
  buildOut?: string;
  force?: boolean;
}

export function registerMerge(program: Command): void {
  withConfigOptions(program.command('merge [shards...]').description('check that every shard of a sharded build is there, complete and of one config, then write one HDF5 master file mapping them (virtual datasets, no copy)'))
    .option('-o, --out <file>', 'the master file (default: the build\'s own output name, beside the shards)')
    .option('--build-out <path>', 'the --out the shards were built with (where to look for them)')
    .option('-f, --force', 'replace a dataset at --out that was built from another config')
    .option('--json', 'print the summary as JSON')
    .action((shards: string[], opts: MergeCliOptions) =>
      runCommand(
        async () => {
          const { mergeShards } = await import('../../pipeline/merge.js');
          // With shard files named and no --config, the shards are compared with each other only.
          const config = shards.length > 0 && opts.config === undefined ? undefined : readConfig(opts).config;
          const summary = await mergeShards({ config, files: shards, out: opts.out, buildOut: opts.buildOut, force: opts.force === true });
          if (opts.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
          else process.stderr.write(`Merged ${summary.shards.length} shards (${summary.images.toLocaleString('en-US')} images) into ${summary.master}; manifest ${summary.manifest}\n`);
          return EXIT.ok;
        },
        { json: opts.json },
      ),
    );
}
