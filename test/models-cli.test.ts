// The models CLI as a researcher uses it after training: save a model file with its metrics and the
// dataset it was trained on, list it, export its bytes back by label or 'latest', and every bad
// argument refused naming the flag.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from './helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'ohlc-models-cli-'));
after(() => rmSync(root, { recursive: true, force: true }));

const CONFIG = `data: { symbols: [BTCUSDT, ETHUSDT], interval: 1h, start_date: "2024-01", end_date: "2024-01", source: sample }
image: { seq_len: 10, resolution: { height: 20 } }
labels: { horizons: [1, 3] }
splits: { method: chronological, fractions: [0.6, 0.2, 0.2] }
paths: { raw_data: raw, processed_data: out, logs: logs, models: models }
runtime: { device: cpu }
`;

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const json = <T>(stdout: string) => JSON.parse(stdout) as T;

describe('models CLI: save, list, export', () => {
  let dataset: string;
  let manifest: { content_sha256: string; config_sha256: string };
  const model = join(root, 'cnn.pt');
  const weights = randomBytes(50_000);

  before(() => {
    writeFileSync(join(root, 'config.yaml'), CONFIG);
    const r = runCli(['build', '--quiet', '--json', '--config', 'config.yaml'], root);
    assert.equal(r.status, 0, r.stderr);
    const summary = json<{ outputs: string[]; manifests: string[] }>(r.stdout);
    dataset = summary.outputs[0];
    manifest = JSON.parse(readFileSync(summary.manifests[0], 'utf8'));
    writeFileSync(model, weights);
  });

  it('saves with metrics and the dataset link (the digest recomputed from the stored bytes matches the manifest)', () => {
    const r = runCli(['models', 'save', model, '--config', 'config.yaml', '--name', 'cnn', '--metrics', 'val_accuracy=0.61', '--metrics', 'epochs=3', '--metrics', 'early=true', '--metrics', 'note=first try', '--dataset', dataset, '--json'], root);
    assert.equal(r.status, 0, r.stderr);
    const saved = json<{ name: string; label: string; sha256: string; bytes: number; dataset: Record<string, unknown> }>(r.stdout);
    assert.equal(saved.label, 'cnn');
    assert.equal(saved.sha256, sha256(weights));
    assert.equal(saved.bytes, weights.length);
    assert.equal(saved.dataset.path, resolve(dataset));
    assert.equal(saved.dataset.content_sha256, manifest.content_sha256);
    assert.equal(saved.dataset.config_sha256, manifest.config_sha256);
    assert.deepEqual(saved.dataset.symbols, ['BTCUSDT', 'ETHUSDT']);
    assert.deepEqual(saved.dataset.horizons, [1, 3]);
    assert.equal((saved.dataset.splits as { method: string }).method, 'chronological');
    assert.equal(saved.dataset.layout, 'ohlc-4px');

    const shown = json<{ verified: boolean; label: string; metrics: Record<string, unknown> }>(runCli(['models', 'show', saved.name, '--config', 'config.yaml', '--json'], root).stdout);
    assert.equal(shown.verified, true);
    assert.equal(shown.label, 'cnn');
    assert.deepEqual(shown.metrics, { val_accuracy: 0.61, epochs: 3, early: true, note: 'first try' });
  });

  it('lists newest first with the label and the dataset, and exports the original bytes by label and by latest', () => {
    const second = join(root, 'cnn2.pt');
    const weights2 = randomBytes(1000);
    writeFileSync(second, weights2);
    assert.equal(runCli(['models', 'save', second, '--config', 'config.yaml', '--name', 'resnet'], root).status, 0);
    const listed = runCli(['models', 'list', '--config', 'config.yaml'], root);
    assert.equal(listed.status, 0, listed.stderr);
    const lines = listed.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0], /\bresnet\b/);
    assert.match(lines[1], new RegExp(`\\bcnn\\b.*val_accuracy=0\\.61.*dataset ${resolve(dataset).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(${manifest.content_sha256.slice(0, 12)}\\)`));

    const byLabel = join(root, 'exported-cnn.pt');
    const e1 = runCli(['models', 'export', 'cnn', '--config', 'config.yaml', '--out', byLabel], root);
    assert.equal(e1.status, 0, e1.stderr);
    assert.deepEqual(readFileSync(byLabel), weights);
    const latest = join(root, 'exported-latest.pt');
    assert.equal(runCli(['models', 'export', 'latest', '--dir', join(root, 'models'), '--out', latest], root).status, 0);
    assert.deepEqual(readFileSync(latest), weights2);
  });

  it('exports by a label that looks like a model name', () => {
    const third = join(root, 'cnn3.pt');
    writeFileSync(third, 'third model');
    assert.equal(runCli(['models', 'save', third, '--config', 'config.yaml', '--name', 'model_20990101_x'], root).status, 0);
    const out = join(root, 'exported-third.pt');
    const r = runCli(['models', 'export', 'model_20990101_x', '--config', 'config.yaml', '--out', out], root);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(out, 'utf8'), 'third model');
  });

  it('refuses bad arguments naming the flag, and leaves nothing behind', () => {
    const before = readdirSync(join(root, 'models')).sort();
    // Exit 2 for a malformed command line or a flag naming what is not there, 1 for a model that is not there.
    const cases: Array<[string[], number, RegExp]> = [
      [['models', 'save', model, '--metrics', 'accuracy'], 2, /--metrics.*expected key=value/],
      [['models', 'save', model, '--metrics', 'a=1', '--metrics', 'a=2'], 2, /a is given twice/],
      [['models', 'save', join(root, 'missing.pt')], 1, /Model file .*missing\.pt does not exist/],
      [['models', 'save', model, '--dataset', join(root, 'nothing.h5')], 2, /--dataset .*nothing\.h5/],
      [['models', 'export', 'no-such-label', '--out', join(root, 'x.pt')], 1, /no model named "no-such-label"/],
    ];
    for (const [args, status, message] of cases) {
      const r = runCli([...args, '--config', 'config.yaml'], root);
      assert.equal(r.status, status, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
    }
    assert.deepEqual(readdirSync(join(root, 'models')).sort(), before);
    assert.ok(!readdirSync(root).some((f) => f.startsWith('x.pt') || f.includes('.partial')));
    // --json: a failure is also an error object on stdout.
    const failed = runCli(['models', 'export', 'no-such-label', '--out', join(root, 'x.pt'), '--config', 'config.yaml', '--json'], root);
    assert.equal(failed.status, 1);
    assert.equal((JSON.parse(failed.stdout) as { error: { code: string } }).error.code, 'ERR_OHLC_NOT_FOUND');
    mkdirSync(join(root, 'empty'));
    const none = runCli(['models', 'list', '--dir', join(root, 'empty')], root);
    assert.equal(none.status, 0);
    assert.match(none.stdout, /no models in/);
  });
});
