// The manifest proves what was built: its fields, a content digest that does not depend on the
// thread count, and `verify` passing on a good dataset and naming each fault planted in a copy.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadImagesFromStorage } from '../ts/index.js';
import { findPython, runPython } from './helpers/python.js';
import { runCliAsync as runCli } from './helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'ohlc-manifest-'));
after(() => rmSync(root, { recursive: true, force: true }));

const CONFIG = `data: { symbols: [BTCUSDT, ETHUSDT], interval: 1h, start_date: "2024-01", end_date: "2024-02", source: sample }
image: { seq_len: 12, resolution: { height: 24 } }
labels: { horizons: [1, 4] }
splits: { method: chronological, fractions: [0.6, 0.2, 0.2] }
paths: { raw_data: raw, processed_data: out, logs: logs }
runtime: { device: cpu }
`;

async function build(name: string, ...args: string[]) {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.yaml'), CONFIG);
  const r = await runCli(['build', '--quiet', '--json', '--config', 'config.yaml', ...args], dir);
  assert.equal(r.status, 0, r.stderr);
  return { dir, summary: JSON.parse(r.stdout) as { outputs: string[]; manifests: string[]; contentSha256: string[]; images: number } };
}

describe('the manifest', () => {
  let built: Awaited<ReturnType<typeof build>>;
  before(async () => {
    built = await build('good');
  });

  it('records what the dataset was built from and holds', async () => {
    const manifest = JSON.parse(readFileSync(built.summary.manifests[0], 'utf8'));
    assert.equal(manifest.format, 'ohlc-native-manifest');
    assert.match(manifest.generator.native_source_hash, /^[0-9a-f]{64}$/);
    assert.equal(manifest.runtime.node, process.version);
    assert.equal(manifest.config.data.symbols.join(), 'BTCUSDT,ETHUSDT');
    assert.match(manifest.config_sha256, /^[0-9a-f]{64}$/);
    assert.equal(manifest.inputs.length, 4);
    for (const input of manifest.inputs) {
      const bytes = readFileSync(join(manifest.cache_dir, input.path));
      assert.equal(createHash('sha256').update(bytes).digest('hex'), input.sha256, input.name);
    }
    assert.equal(manifest.counts.images, built.summary.images);
    assert.deepEqual(Object.keys(manifest.counts.by_split), ['train', 'val', 'test']);
    assert.ok(manifest.counts.skipped.purged > 0);
    assert.equal(manifest.outputs[0].bytes, readFileSync(built.summary.outputs[0]).length);
    assert.equal(manifest.content_sha256, built.summary.contentSha256[0]);
    // The same JSON, but for the file sizes, in the dataset's metadata.
    const ds = await loadImagesFromStorage(built.summary.outputs[0], { indices: [] });
    const embedded = ds.metadata.manifest as typeof manifest;
    assert.equal(embedded.content_sha256, manifest.content_sha256);
    assert.deepEqual({ ...embedded, outputs: embedded.outputs.map(({ bytes: _b, ...o }: { bytes?: number }) => o) }, { ...manifest, outputs: manifest.outputs.map(({ bytes: _b, ...o }: { bytes?: number }) => o) });
  });

  it('gives the same content digest for the same config and archives, whatever the thread count', async () => {
    const one = await build('threads-1', '--set', 'runtime.threads=1');
    const two = await build('threads-2', '--set', 'runtime.threads=2');
    assert.equal(one.summary.contentSha256[0], built.summary.contentSha256[0]);
    assert.equal(two.summary.contentSha256[0], built.summary.contentSha256[0]);
  });

  it('verify passes on the dataset as built', async () => {
    const r = await runCli(['verify', built.summary.outputs[0], '--json'], built.dir);
    const report = JSON.parse(r.stdout);
    assert.equal(r.status, 0, report.problems?.join('\n'));
    assert.equal(report.checked.inputs, 4);
    assert.ok(report.checked.redrawn > 0 && report.checked.labels === 2 * built.summary.images);
  });

  it('verify names each fault: a flipped pixel, a changed label, a replaced cached archive', async (t) => {
    if (!findPython()) return t.skip('h5py is needed to damage the file');
    const copy = join(root, 'damaged.h5');
    copyFileSync(built.summary.outputs[0], copy);
    copyFileSync(built.summary.manifests[0], `${copy}.manifest.json`);
    const manifest = JSON.parse(readFileSync(`${copy}.manifest.json`, 'utf8'));
    manifest.outputs[0].file = 'damaged.h5';
    writeFileSync(`${copy}.manifest.json`, JSON.stringify(manifest));
    runPython(`import h5py, json, sys
f = h5py.File(sys.argv[1], "r+")
img = f["images"][7]
img[3, 5] ^= 1
f["images"][7] = img
lab = f["labels"][11]
lab[0] = 1 if lab[0] != 1 else 0
f["labels"][11] = lab
f.close()
print(json.dumps(True))`, [copy]);
    const cached = join(manifest.cache_dir, manifest.inputs[1].path);
    const original = readFileSync(cached);
    writeFileSync(cached, Buffer.concat([original, Buffer.from('tampered')]));
    try {
      const r = await runCli(['verify', copy, '--sample', '100000'], root);
      assert.equal(r.status, 1, r.stdout);
      assert.match(r.stdout, /damaged\.h5: images differs from the manifest/);
      assert.match(r.stdout, /damaged\.h5: labels differs from the manifest/);
      assert.match(r.stdout, /image 7 differs from its redrawing from the stored sequences at 1 pixel/);
      assert.match(r.stdout, /image 11: label \d for horizon 1, but its return .* says \d/);
      assert.match(r.stdout, new RegExp(`input ${manifest.inputs[1].name.replace(/\./g, '\\.')} in the cache .* the archive changed since the build`));
      assert.match(r.stdout, /FAILED: \d+ differences/);
    } finally {
      writeFileSync(cached, original);
    }
  });
});
