// The Python package (python/ohlc_native): its unittest suite, then H5Dataset and
// examples/pytorch/train.py on a dataset built by the real CLI. Skipped without a python3 that
// imports h5py, numpy and torch (Debian: apt install python3-h5py python3-numpy python3-torch).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli } from './helpers/cli.js';
import { findTorchPython } from './helpers/python.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SAMPLE = join(ROOT, 'config', 'sample.yaml');
const python = findTorchPython();
const skip = python ? false : 'no python3 with h5py, numpy and torch (apt install python3-h5py python3-numpy python3-torch)';

function runPy(args: string[], cwd = ROOT): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(python!, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, PYTHONPATH: join(ROOT, 'python') } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('python/ohlc_native', { skip }, () => {
  it('passes its unittest suite, with nothing skipped', () => {
    const r = runPy(['-m', 'unittest', 'discover', '-s', 'python/tests', '-v']);
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    const ran = /^Ran (\d+) tests? in /m.exec(r.stderr);
    assert.ok(ran && Number(ran[1]) > 0, r.stderr);
    assert.match(r.stderr, /^OK$/m, 'OK without skips (h5py and torch were found, so every test must run)');
  });

  describe('on a dataset built by `ohlc-native build`', () => {
    let dir: string;
    let data: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'ohlc-python-'));
      data = join(dir, 'ds.h5');
      const r = runCli(
        [
          'build', '--config', SAMPLE, '--quiet', '--out', data,
          '--set', 'data.start_date=2024-01-01', '--set', 'data.end_date=2024-01-02',
          '--set', 'image.seq_len=20', '--set', 'image.resolution.height=64', '--set', 'labels.horizons=[5, 15]',
          '--set', 'runtime.threads=2', '--set', `paths.raw_data=${join(dir, 'raw')}`, '--set', `paths.logs=${join(dir, 'logs')}`,
        ],
        dir,
      );
      assert.equal(r.status, 0, r.stderr);
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('H5Dataset reads its labels, images and metadata as h5py does', () => {
      const code = `
import json, sys, h5py, numpy as np, torch
from ohlc_native import H5Dataset
ds = H5Dataset(sys.argv[1], horizon=15)
with h5py.File(sys.argv[1], "r") as f:
    column = f["labels"][:, 1]
    image = f["images"][int(ds.indices[7])]
image7, label7 = ds[7]
print(json.dumps({
    "rows": len(ds), "known": int((column != -1).sum()),
    "labels_match": bool(np.array_equal(ds.labels, column[ds.indices])),
    "dtype": str(image7.dtype), "shape": list(image7.shape),
    "image_match": bool(np.array_equal(image7[0].numpy(), image)), "label7": label7,
    "horizons": ds.metadata["horizons"], "config_seq_len": ds.metadata["config"]["image"]["seq_len"],
    "symbol": ds.metadata["symbol"],
}))`;
      const r = runPy(['-c', code, data]);
      assert.equal(r.status, 0, r.stderr);
      const got = JSON.parse(r.stdout) as Record<string, unknown>;
      assert.equal(got.rows, got.known);
      assert.ok((got.rows as number) > 2000);
      assert.equal(got.labels_match, true);
      assert.equal(got.image_match, true);
      assert.equal(got.dtype, 'torch.uint8');
      assert.deepEqual(got.shape, [1, 64, 80]);
      assert.ok(got.label7 === 0 || got.label7 === 1);
      assert.deepEqual(got.horizons, [5, 15]);
      assert.equal(got.config_seq_len, 20);
      assert.equal(got.symbol, 'BTCUSDT');
    });

    it('examples/pytorch/train.py trains on it with two workers', () => {
      const model = join(dir, 'model.pt');
      const r = runPy([
        'examples/pytorch/train.py', '--data', data, '--horizon', '5', '--max-batches', '3', '--num-workers', '2', '--no-version',
        '--blocks', '2', '--channels', '8', '--batch-size', '32', '--max-val-batches', '4', '--lr', '1e-3', '--out', model,
      ]);
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
      const lines = r.stdout.trim().split('\n');
      const losses = lines.filter((l) => l.startsWith('epoch ')).map((l) => Number(l.split(' ').at(-1)));
      assert.equal(losses.length, 3, r.stdout);
      for (const loss of losses) assert.ok(Number.isFinite(loss), r.stdout);
      const summary = JSON.parse(lines.at(-1)!) as { train_batches: number; final_loss: number; val_accuracy: number; worker_pids: number[]; model: string };
      assert.equal(summary.train_batches, 3);
      assert.ok(Number.isFinite(summary.final_loss));
      assert.ok(summary.val_accuracy >= 0 && summary.val_accuracy <= 1);
      assert.equal(new Set(summary.worker_pids).size, 2, `two worker pids: ${JSON.stringify(summary.worker_pids)}`);
      assert.equal(summary.model, model);
      assert.ok(existsSync(model));
    });
  });
});
