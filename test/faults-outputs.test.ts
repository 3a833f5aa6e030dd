// Nothing of the user's is lost at the output path: only a dataset this package wrote is ever
// replaced, a dataset of another configuration only with --force, a batch set as a whole or not
// at all, and outputs of two formats never share a path. Temporaries of killed writers are swept.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadImagesFromStorage } from '../ts/index.js';
import { runCliAsync as runCli, startCli } from './helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'ohlc-outputs-'));
after(() => rmSync(root, { recursive: true, force: true }));

const CONFIG = `data: { symbol: BTCUSDT, interval: 1h, start_date: "2024-01", end_date: "2024-01", source: sample }
image: { seq_len: 20, resolution: { height: 32 } }
paths: { raw_data: ../raw, processed_data: ../out, logs: ../logs }
runtime: { device: cpu }
`;

function project(name: string, config = CONFIG): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'config'), { recursive: true });
  writeFileSync(join(dir, 'config', 'config.yaml'), config);
  return join(dir, 'config');
}

const build = (cwd: string, ...args: string[]) => runCli(['build', '--quiet', '--json', '--config', 'config.yaml', ...args], cwd);

describe('the output path', () => {
  it('never replaces a folder of the user’s files, nor a folder where a file would go', async () => {
    const cwd = project('foreign');
    const folder = join(cwd, '..', 'mine_png');
    mkdirSync(folder);
    writeFileSync(join(folder, 'NOTES.txt'), 'mine');
    let r = await build(cwd, '--set', 'image.storage.format=png', '--out', folder, '--force');
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /mine_png exists and is a folder that is not an ohlc-native dataset; it is never replaced/);
    assert.equal(readFileSync(join(folder, 'NOTES.txt'), 'utf8'), 'mine');

    const dirAsFile = join(cwd, '..', 'mine.h5');
    mkdirSync(dirAsFile);
    writeFileSync(join(dirAsFile, 'keep.txt'), 'mine');
    r = await build(cwd, '--out', dirAsFile, '--force');
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /mine\.h5 exists and is a folder; it is never replaced/);
    assert.deepEqual(readdirSync(dirAsFile), ['keep.txt']);
  });

  it('an --out that is a folder of other files gets the dataset inside it, leaving the rest alone', async () => {
    const cwd = project('into-folder');
    const before = readdirSync(cwd).sort();
    const r = await build(cwd, '--set', 'image.storage.format=png', '--out', '.');
    assert.equal(r.status, 0, r.stderr);
    const [out] = JSON.parse(r.stdout).outputs as string[];
    assert.match(out, /BTCUSDT_1h_2024-01_2024-01_L20_H32_synthetic_png$/);
    assert.deepEqual(readdirSync(cwd).filter((n) => !n.startsWith('BTCUSDT_1h_2024-01_2024-01_L20_H32_synthetic_png')).sort(), before);
    assert.ok(existsSync(join(cwd, 'config.yaml')));
  });

  it('png then jpeg of one config keep both; an --out suffix that contradicts the format is exit 2', async () => {
    const cwd = project('png-jpeg');
    const png = await build(cwd, '--set', 'image.storage.format=png');
    const jpeg = await build(cwd, '--set', 'image.storage.format=jpeg');
    assert.equal(png.status, 0, png.stderr);
    assert.equal(jpeg.status, 0, jpeg.stderr);
    const a = JSON.parse(png.stdout).outputs[0] as string;
    const b = JSON.parse(jpeg.stdout).outputs[0] as string;
    assert.notEqual(a, b);
    assert.ok(existsSync(a) && existsSync(b));
    assert.equal((await loadImagesFromStorage(a, { indices: [] })).format, 'png');
    assert.equal((await loadImagesFromStorage(b, { indices: [] })).format, 'jpeg');

    const bad = await build(cwd, '--out', 'y.npz');
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, /--out y\.npz names a npz output, but image\.storage\.format is hdf5/);
    assert.ok(!existsSync(join(cwd, 'y.npz')) && !existsSync(join(cwd, 'y.npz.h5')));
  });

  it('replaces its own output, refuses one of another config unless --force', async () => {
    const cwd = project('configs');
    const out = join(cwd, '..', 'ds');
    assert.equal((await build(cwd, '--out', out)).status, 0);
    const again = await build(cwd, '--out', out);
    assert.equal(again.status, 0, again.stderr);
    const other = await build(cwd, '--out', out, '--set', 'image.stride=2');
    assert.equal(other.status, 1);
    assert.match(other.stderr, /ds\.h5 holds a dataset built from another configuration .*pass --force \(or set image\.storage\.overwrite: true\)/);
    assert.equal((await loadImagesFromStorage(`${out}.h5`, { indices: [] })).metadata.stride, 1, 'the old dataset is untouched');
    const forced = await build(cwd, '--out', out, '--set', 'image.stride=2', '--force');
    assert.equal(forced.status, 0, forced.stderr);
    assert.equal((await loadImagesFromStorage(`${out}.h5`, { indices: [] })).metadata.stride, 2);
  });

  it('an interrupted batch rebuild leaves the old set whole; a mixed set is refused by the loader', async () => {
    const cwd = project('batch', CONFIG.replace('image: { seq_len: 20, resolution: { height: 32 } }', 'image: { seq_len: 20, resolution: { height: 32 }, storage: { mode: batch, images_per_file: 80 }, batch_size: 40 }'));
    const out = join(cwd, '..', 'set');
    const first = await build(cwd, '--out', out);
    assert.equal(first.status, 0, first.stderr);
    const oldFiles = JSON.parse(first.stdout).outputs as string[];
    assert.ok(oldFiles.length >= 8);
    const oldSet = await loadImagesFromStorage(oldFiles[0], { indices: [] });

    // Rebuild with labels (another config, so --force), bigger images so it takes a while, and
    // interrupt it once its second file is staged.
    const { child, exit } = await startCli(['build', '--config', 'config.yaml', '--out', out, '--force', '--set', 'labels.horizons=[1,5]', '--set', 'image.resolution.height=600', '--set', 'image.storage.images_per_file=40'], cwd, /Writing/);
    const dir = join(cwd, '..');
    for (let t = 0; t < 400 && !readdirSync(dir).some((n) => n.startsWith('.set_00001.h5.')); t++) await new Promise((r) => setTimeout(r, 25));
    child.kill('SIGINT');
    const r = await exit;
    assert.equal(r.status, 130, r.stderr);
    const now = readdirSync(dir).filter((n) => n.startsWith('set_') || n.startsWith('.set_'));
    assert.deepEqual(now.sort(), oldFiles.map((f) => f.slice(dir.length + 1)).sort(), 'exactly the old set, no temporaries');
    const back = await loadImagesFromStorage(oldFiles[0], { indices: [] });
    assert.equal(back.total, oldSet.total);
    assert.deepEqual(back.metadata.horizons, []);

    // A file of another build copied into the set: the loader names it.
    const otherCwd = project('batch-other', CONFIG.replace('image: { seq_len: 20, resolution: { height: 32 } }', 'image: { seq_len: 20, resolution: { height: 32 }, storage: { mode: batch, images_per_file: 80 } }\nlabels: { horizons: [1] }'));
    const other = await build(otherCwd, '--out', join(otherCwd, '..', 'other'));
    copyFileSync(JSON.parse(other.stdout).outputs[1], oldFiles[1]);
    await assert.rejects(loadImagesFromStorage(oldFiles[0]), /set_00001\.h5 does not belong to the batch set of .*set_00000\.h5: its set_id is/);
  });

  it('a successful build sweeps temporaries of killed writers of its output, and a stem naming two datasets is refused', async () => {
    const cwd = project('sweep');
    const out = join(cwd, '..', 'swept');
    const dir = join(cwd, '..');
    const dead = join(dir, '.swept.h5.999999-0123456789ab.partial');
    const live = join(dir, `.swept.h5.${process.pid}-0123456789ab.partial`);
    writeFileSync(dead, 'left by a killed writer');
    writeFileSync(live, 'another writer, still running');
    const r = await build(cwd, '--out', out);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!existsSync(dead), 'the dead writer’s temporary is gone');
    assert.ok(existsSync(live), 'a live writer’s temporary stays');

    copyFileSync(`${out}.h5`, join(dir, 'swept_00000.h5'));
    const inspect = await runCli(['inspect', out], cwd);
    assert.equal(inspect.status, 1);
    assert.match(inspect.stderr, /names 2 datasets: .*swept\.h5 and the batch set .*swept_00000\.h5/);
  });
});
