// ohlc-native models list|show: the versioned models in paths.models (or --dir).
import type { Command } from 'commander';
import { listModels, loadModel } from '../../models/index.js';
import { readConfig, runCommand, withConfigOptions, type CommonOptions } from '../run.js';

interface ModelsOptions extends CommonOptions {
  dir?: string;
}

function modelsDir(opts: ModelsOptions): string {
  return opts.dir ?? readConfig(opts).config.paths.models;
}

function withDirOptions(cmd: Command): Command {
  return withConfigOptions(cmd.option('-d, --dir <dir>', 'models directory (default: paths.models of the config)')).option('--json', 'print JSON');
}

export function registerModels(program: Command): void {
  const models = program.command('models').description('list and show versioned models');

  withDirOptions(models.command('list').description('models, newest first')).action((opts: ModelsOptions) =>
    runCommand(async () => {
      const dir = modelsDir(opts);
      const all = await listModels(dir);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(all.map((m) => ({ path: m.path, ...m.metadata })))}\n`);
        return;
      }
      if (all.length === 0) process.stdout.write(`no models in ${dir}\n`);
      for (const m of all) {
        const metrics = Object.entries(m.metadata.metrics).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ');
        process.stdout.write(`${m.name}  ${m.metadata.created_at}  ${m.metadata.format}  ${m.metadata.bytes} bytes  ${metrics}\n`);
      }
    }),
  );

  withDirOptions(models.command('show <name>').description("a model's metadata, after verifying its SHA-256 ('latest' for the newest)")).action(
    (name: string, opts: ModelsOptions) =>
      runCommand(async () => {
        const dir = modelsDir(opts);
        const loaded = /[\\/]/.test(name) ? await loadModel(name) : await loadModel(name, dir);
        const out = { path: loaded.path, verified: true, ...loaded.metadata };
        if (opts.json) process.stdout.write(`${JSON.stringify(out)}\n`);
        else process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      }),
  );
}
