// ohlc-native models save|export|list|show: any model file versioned in paths.models (or --dir),
// with its metrics and a link to the dataset it was trained on.
import { readFile, stat } from 'node:fs/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { ConfigError, ErrorCode, OhlcError } from '../../errors.js';
import { listModels, loadModel, saveModel, type SkippedModel } from '../../models/index.js';
import { datasetLink } from '../../pipeline/dataset-link.js';
import { checkOutputFile, checkRegularFile, writeFileAtomic } from '../../util/files.js';
import { readConfig, runCommand, withConfigOptions, type CommonOptions } from '../run.js';

interface ModelsOptions extends CommonOptions {
  dir?: string;
}

interface SaveOptions extends ModelsOptions {
  name?: string;
  metrics: Record<string, number | string | boolean>;
  dataset?: string;
}

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** --metrics k=v (repeatable): numbers and booleans as such, anything else as text. */
function metric(text: string, all: Record<string, number | string | boolean> = {}): Record<string, number | string | boolean> {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`expected key=value (e.g. val_accuracy=0.61), got ${JSON.stringify(text)}`);
  const key = text.slice(0, eq);
  const raw = text.slice(eq + 1);
  // Own keys only: 'constructor' or '__proto__' are metric names like any other, not given before.
  if (Object.hasOwn(all, key)) throw new InvalidArgumentError(`${key} is given twice`);
  // Decimal numbers only: Number() would also read '0x1f', '0b11' or ' 5' (a commit, a tag) as numbers.
  const n = DECIMAL.test(raw) ? Number(raw) : NaN;
  const value = Number.isFinite(n) ? n : raw === 'true' ? true : raw === 'false' ? false : raw;
  return { ...all, [key]: value };
}

/** The models folder (--dir, else paths.models); one that exists but is not a folder is refused naming where it came from. */
async function modelsDir(opts: ModelsOptions): Promise<string> {
  const dir = opts.dir ?? readConfig(opts).config.paths.models;
  const info = await stat(dir).catch(() => null);
  if (info && !info.isDirectory()) throw new OhlcError(ErrorCode.invalidArgument, `${opts.dir !== undefined ? '--dir' : 'paths.models'} ${dir} is not a folder`);
  return dir;
}

function withDirOptions(cmd: Command): Command {
  return withConfigOptions(cmd.option('-d, --dir <dir>', 'models directory (default: paths.models of the config)')).option('--json', 'print JSON');
}

export function registerModels(program: Command): void {
  const models = program.command('models').description('version, export, list and show models');

  withDirOptions(models.command('save <file>').description('version a model file (a PyTorch .pt, ONNX, ...): compressed, SHA-256 checked, with its metrics and dataset'))
    .option('-n, --name <name>', 'a label for the model (its versioned name stays time-ordered)')
    .option('-m, --metrics <key=value>', 'a metric to record (repeatable)', metric, {})
    .option('--dataset <path>', 'the dataset it was trained on: its content digest, config hash, splits and horizons are recorded')
    .action((file: string, opts: SaveOptions) =>
      runCommand(async () => {
        const dir = await modelsDir(opts);
        await checkRegularFile(file, 'Model file', ErrorCode.notFound).catch((err: NodeJS.ErrnoException) => {
          throw err.code === 'ENOENT' ? new OhlcError(ErrorCode.notFound, `Model file ${file} does not exist`) : err;
        });
        const bytes = await readFile(file);
        const dataset = opts.dataset === undefined ? undefined : await datasetLink(opts.dataset, { format: 'the path of a dataset (a file or folder with one of those names)' }).catch((err: Error) => {
          throw new ConfigError('--dataset', [`--dataset ${opts.dataset}: ${err.message}`]);
        });
        const path = await saveModel(bytes, dir, opts.metrics, {
          ...(opts.name !== undefined ? { label: opts.name } : {}),
          ...(dataset ? { dataset: { ...dataset } } : {}),
        });
        const saved = await loadModel(path);
        const out = { path, name: saved.name, label: opts.name ?? null, sha256: saved.metadata.sha256, bytes: saved.metadata.bytes, dataset: dataset ?? null };
        if (opts.json) process.stdout.write(`${JSON.stringify(out)}\n`);
        else process.stdout.write(`Saved ${file} as ${saved.name}${opts.name ? ` (${opts.name})` : ''} in ${dir}${dataset ? `, trained on ${dataset.path} (content ${dataset.content_sha256.slice(0, 12)})` : ''}\n`);
      }, { json: opts.json, verbose: opts.verbose }),
    );

  withDirOptions(models.command('export <name>').description("write a model's original bytes, verified ('latest', a model name, or a label: its newest model)"))
    .requiredOption('-o, --out <file>', 'where to write the model file')
    .action((name: string, opts: ModelsOptions & { out: string }) =>
      runCommand(async () => {
        const dir = await modelsDir(opts);
        await checkOutputFile(opts.out, '--out');
        const ref = name === 'latest' ? await newest(dir) : await modelOrLabel(dir, name);
        const loaded = await loadModel(ref, dir);
        const bytes = loaded.metadata.format === 'bytes' ? (loaded.model as Uint8Array) : Buffer.from(JSON.stringify(loaded.model), 'utf8');
        await writeFileAtomic(opts.out, bytes, { durable: true });
        if (opts.json) process.stdout.write(`${JSON.stringify({ out: opts.out, name: loaded.name, sha256: loaded.metadata.sha256, bytes: bytes.length })}\n`);
        else process.stdout.write(`Wrote ${loaded.name} (${bytes.length} bytes, SHA-256 verified) to ${opts.out}\n`);
      }, { json: opts.json, verbose: opts.verbose }),
    );

  withDirOptions(models.command('list').description('models, newest first')).action((opts: ModelsOptions) =>
    runCommand(async () => {
      const dir = await modelsDir(opts);
      const all = await listModels(dir, { onSkipped: warnSkipped });
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(all.map((m) => ({ path: m.path, ...m.metadata })))}\n`);
        return;
      }
      if (all.length === 0) process.stdout.write(`no models in ${dir}\n`);
      for (const m of all) {
        const metrics = Object.entries(m.metadata.metrics).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ');
        const label = m.metadata.label ? `  ${m.metadata.label}` : '';
        const data = m.metadata.dataset ? `  dataset ${String(m.metadata.dataset.path)} (${String(m.metadata.dataset.content_sha256).slice(0, 12)})` : '';
        process.stdout.write(`${m.name}${label}  ${m.metadata.created_at}  ${m.metadata.format}  ${m.metadata.bytes} bytes  ${metrics}${data}\n`);
      }
    }, { json: opts.json, verbose: opts.verbose }),
  );

  withDirOptions(models.command('show <name>').description("a model's metadata, after verifying its SHA-256 ('latest' for the newest)")).action(
    (name: string, opts: ModelsOptions) =>
      runCommand(async () => {
        const dir = await modelsDir(opts);
        const loaded = /[\\/]/.test(name) ? await loadModel(name) : await loadModel(name === 'latest' ? await newest(dir) : name, dir);
        const out = { path: loaded.path, verified: true, ...loaded.metadata };
        if (opts.json) process.stdout.write(`${JSON.stringify(out)}\n`);
        else process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      }, { json: opts.json, verbose: opts.verbose }),
  );
}

/** A damaged model left out of a listing, said on stderr: 'latest' may then be an older one. */
function warnSkipped(skipped: SkippedModel): void {
  process.stderr.write(`ohlc-native: warning: leaving out ${skipped.name}: ${skipped.reason}\n`);
}

/** The newest model ('latest'), saying which damaged ones were passed over. */
async function newest(dir: string): Promise<string> {
  const all = await listModels(dir, { onSkipped: warnSkipped });
  if (all.length === 0) return 'latest'; // loadModel says there is none, in its words
  return all[0].name;
}

/** A model's versioned name, or the newest model saved with this label (--name): either may look like the other. */
async function modelOrLabel(dir: string, name: string): Promise<string> {
  const all = await listModels(dir, { onSkipped: warnSkipped });
  const match = all.find((m) => m.name === name) ?? all.find((m) => m.metadata.label === name);
  if (!match) throw new OhlcError(ErrorCode.notFound, `no model named ${JSON.stringify(name)} in ${dir}: give 'latest', a model name (model_YYYYMMDD_HHMMSS_mmm) or a --name used with models save`);
  return match.name;
}
