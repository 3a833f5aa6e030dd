// A hostile but ordinary user at the command line: output flags pointing at a missing folder or
// onto a directory, metric names that are also Object.prototype names, a models folder that is a
// file, datasets with a file deleted under verify. Each is refused or reported in the words of the
// flag typed, with exit code 1 or 2, and nothing is left under a final name.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { validateConfig } from '../ts/config/load.js';
import { runCli } from './helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'ohlc-faults-cli-'));
after(() => rmSync(root, { recursive: true, force: true }));

const CONFIG = (format: string) => `data: { symbol: BTCUSDT, interval: 1h, start_date: "2024-01", end_date: "2024-01", source: sample }
image: { seq_len: 5, layout: jkx, storage: { format: ${format}, zarr_shard_images: 128 } }
labels: { horizons: [1] }
paths: { raw_data: raw, processed_data: out_${format}, logs: logs, models: models }
runtime: { device: cpu }
`;

function build(format: string): string {
  writeFileSync(join(root, `${format}.yaml`), CONFIG(format));
  const r = runCli(['build', '--quiet', '--json', '--config', `${format}.yaml`], root);
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as { outputs: string[] }).outputs[0];
}

const noTemporaries = (dir: string) => assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.partial')), []);

describe('output flags: a missing folder or a directory is named by its flag', () => {
  let dataset: string;
  const model = join(root, 'net.pt');
  before(() => {
    dataset = build('hdf5');
    writeFileSync(model, randomBytes(3000));
    assert.equal(runCli(['models', 'save', model, '--dir', join(root, 'models')], root).status, 0);
    mkdirSync(join(root, 'a-folder'));
  });

  it('inspect --png and models export --out: exit 2 naming the flag, nothing written', () => {
    const cases: Array<[string[], RegExp]> = [
      [['inspect', dataset, '--png', join(root, 'missing', 'x.png')], /--png .*x\.png: the folder .*missing does not exist/],
      [['inspect', dataset, '--png', join(root, 'a-folder')], /--png .*a-folder is a directory/],
      [['models', 'export', 'latest', '--dir', join(root, 'models'), '--out', join(root, 'missing', 'x.pt')], /--out .*x\.pt: the folder .*missing does not exist/],
      [['models', 'export', 'latest', '--dir', join(root, 'models'), '--out', join(root, 'a-folder')], /--out .*a-folder is a directory/],
      [['models', 'export', 'latest', '--dir', join(root, 'models'), '--out', join(model, 'x.pt')], /--out .*x\.pt: .*net\.pt is a regular file, not a folder/],
    ];
    for (const [args, message] of cases) {
      const r = runCli(args, root);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
      assert.doesNotMatch(r.stderr, /ENOENT|EISDIR|ENOTDIR/);
    }
    assert.ok(!existsSync(join(root, 'missing')));
    assert.deepEqual(readdirSync(join(root, 'a-folder')), []);
    noTemporaries(root);
  });

  it('the PNG is written whole under its name', () => {
    const out = join(root, 'one.png');
    const r = runCli(['inspect', dataset, '--png', out, '--json'], root);
    assert.equal(r.status, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { png: string }).png, out);
    assert.deepEqual(readdirSync(root).filter((f) => f.startsWith('.one.png')), []);
  });

  it('models --dir onto a file: exit 2 naming --dir, not EEXIST or ENOTDIR', () => {
    for (const args of [['models', 'save', model, '--dir', model], ['models', 'list', '--dir', model]]) {
      const r = runCli(args, root);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /--dir .*net\.pt is not a folder/);
    }
  });

  it("--metrics named like Object.prototype's keys are metrics, each once", () => {
    const dir = join(root, 'models-proto');
    const r = runCli(['models', 'save', model, '--dir', dir, '-m', 'constructor=1', '-m', 'toString=x', '-m', '__proto__=2', '--json'], root);
    assert.equal(r.status, 0, r.stderr);
    const shown = runCli(['models', 'show', 'latest', '--dir', dir, '--json'], root);
    assert.equal(shown.status, 0, shown.stderr);
    const metrics = (JSON.parse(shown.stdout) as { metrics: Record<string, unknown> }).metrics;
    assert.deepEqual(Object.entries(metrics), [['constructor', 1], ['toString', 'x'], ['__proto__', 2]]);
    // Decimal numbers are numbers; hex, binary, padded or non-finite text stays text.
    const dir2 = join(root, 'models-numbers');
    const args = ['a=0x1f', 'b=0b11', 'c= 5', 'd=-1.5e3', 'e=.5', 'f=1e400', 'g=', 'h=NaN', 'i=7'].flatMap((m) => ['-m', m]);
    assert.equal(runCli(['models', 'save', model, '--dir', dir2, ...args], root).status, 0);
    const numbers = (JSON.parse(runCli(['models', 'show', 'latest', '--dir', dir2, '--json'], root).stdout) as { metrics: Record<string, unknown> }).metrics;
    assert.deepEqual(numbers, { a: '0x1f', b: '0b11', c: ' 5', d: -1500, e: 0.5, f: '1e400', g: '', h: 'NaN', i: 7 });
    // --dataset naming a file that is no dataset: the advice is one models save can follow.
    const notDataset = runCli(['models', 'save', model, '--dir', dir, '--dataset', model], root);
    assert.equal(notDataset.status, 2);
    assert.match(notDataset.stderr, /--dataset .*net\.pt: cannot tell the format .*; pass the path of a dataset/);
    const twice = runCli(['models', 'save', model, '--dir', dir, '-m', 'constructor=1', '-m', 'constructor=2'], root);
    assert.equal(twice.status, 2);
    assert.match(twice.stderr, /constructor is given twice/);
  });
});

describe('verify of a dataset with a file deleted: exit 1 naming the file, never a crash or ok', () => {
  const cases: Array<[string, (dataset: string) => string]> = [
    // A Zarr 3 store of 720 images in shards of 128: the second images shard goes.
    ['zarr', (d) => join(d, 'images', 'c', '1', '0', '0')],
    ['png', (d) => join(d, '000000010.png')],
  ];
  for (const [format, victim] of cases) {
    it(format, () => {
      const built = build(format);
      const copy = join(root, `tampered-${format}`, built.split('/').pop()!);
      mkdirSync(join(root, `tampered-${format}`));
      cpSync(built, copy, { recursive: true });
      cpSync(`${built}.manifest.json`, `${copy}.manifest.json`);
      assert.equal(runCli(['verify', copy], root).status, 0);
      const file = victim(copy);
      assert.ok(existsSync(file), file);
      rmSync(file);
      const r = runCli(['verify', copy], root);
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.equal(r.signal, null);
      assert.match(r.stdout, new RegExp(`problem +cannot read its content digest: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is missing`));
      assert.match(r.stdout, /^FAILED: \d+ difference/m);
      assert.doesNotMatch(r.stdout + r.stderr, /ENOENT|^ok:/m);
      const json = runCli(['verify', copy, '--json'], root);
      assert.equal(json.status, 1);
      const report = JSON.parse(json.stdout) as { ok: boolean; problems: string[] };
      assert.equal(report.ok, false);
      assert.ok(report.problems.some((p) => p.includes(file)));
    });
  }
});

describe('config: each bad image value said once, by the key that is wrong', () => {
  const problems = (image: Record<string, unknown>): string[] => {
    try {
      validateConfig({ image }, 'test');
    } catch (err) {
      return (err as { problems: string[] }).problems;
    }
    return [];
  };
  it('jkx with a seq_len it cannot draw names image.seq_len, not the height it has no default for', () => {
    for (const seq_len of [1]) {
      const p = problems({ layout: 'jkx', seq_len });
      assert.equal(p.length, 1, p.join('\n'));
      assert.match(p[0], /^image\.seq_len: expected 2\.\.\d+ bars with image\.layout 'jkx'/);
    }
    assert.match(problems({ layout: 'jkx', seq_len: 7 })[0], /^image\.resolution\.height: is needed with image\.layout jkx and seq_len 7/);
  });
  it('a value out of its range is one problem, not again by the layout check', () => {
    for (const [image, key] of [
      [{ layout: 'jkx', seq_len: 20, ma: -1 }, 'image.ma'],
      [{ layout: 'jkx', seq_len: 20, ma: 2.5 }, 'image.ma'],
      [{ layout: 'jkx', seq_len: 20, resolution: { height: 1 } }, 'image.resolution.height'],
      [{ seq_len: 0 }, 'image.seq_len'],
    ] as const) {
      const p = problems(image);
      assert.equal(p.length, 1, `${JSON.stringify(image)}: ${p.join('\n')}`);
      assert.ok(p[0].startsWith(`${key}: `), p[0]);
    }
  });
});

describe("verify with a sidecar manifest that is not the dataset's: exit 1 naming the manifest", () => {
  let h5: string;
  let npz: string;
  before(() => {
    h5 = build('hdf5');
    npz = build('npz');
  });
  const sidecars: Array<[string, () => string, RegExp]> = [
    ["another dataset's manifest", () => readFileSync(`${npz}.manifest.json`, 'utf8'), /the manifest .*\.h5\.manifest\.json is not the one in the dataset's metadata \(it describes .*\.npz/],
    ['a garbled manifest', () => '{"format": "ohlc-native-manifest", ', /the manifest .*\.h5\.manifest\.json is not valid JSON/],
    ['JSON that is no manifest', () => '{"outputs": []}', /the manifest .*\.h5\.manifest\.json is not a manifest of this package/],
  ];
  for (const [what, text, message] of sidecars) {
    it(what, () => {
      const dir = mkdtempSync(join(root, 'sidecar-'));
      const copy = join(dir, h5.split('/').pop()!);
      cpSync(h5, copy);
      writeFileSync(`${copy}.manifest.json`, text());
      const r = runCli(['verify', copy], root);
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.match(r.stdout, message);
      assert.match(r.stdout, /^FAILED: /m);
    });
  }
  it('a copy renamed with its sidecar still verifies (the file name alone is no difference)', () => {
    const dir = mkdtempSync(join(root, 'renamed-'));
    const copy = join(dir, 'mine.h5');
    cpSync(h5, copy);
    cpSync(`${h5}.manifest.json`, `${copy}.manifest.json`);
    const r = runCli(['verify', copy], root);
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
});

describe('Zarr 3: a chunk damaged inside a shard whose index is intact', () => {
  it('inspect --png of an image there exits 1 naming the array and the rows', () => {
    const built = build('zarr');
    const dir = mkdtempSync(join(root, 'chunk-'));
    const copy = join(dir, built.split('/').pop()!);
    cpSync(built, copy, { recursive: true });
    // Shards of 128 images: image 256 is the first chunk of the third shard, whose bytes start at 0.
    const shard = join(copy, 'images', 'c', '2', '0', '0');
    const bytes = readFileSync(shard);
    bytes.fill(0x58, 40, 72);
    writeFileSync(shard, bytes);
    const r = runCli(['inspect', copy, '--png', join(dir, 'x.png'), '--index', '256'], root);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /array 'images', rows 256\.\.256: .*\(the store is damaged there\)/);
    assert.ok(!existsSync(join(dir, 'x.png')));
  });
});

describe('models: a damaged sidecar is left out and said, never silently', () => {
  it("list, export latest and show latest warn naming the damaged model; a reserved (empty) sidecar is quiet", () => {
    const dir = join(root, 'models-damaged');
    const older = randomBytes(700);
    const newer = randomBytes(900);
    writeFileSync(join(root, 'older.pt'), older);
    writeFileSync(join(root, 'newer.pt'), newer);
    const names = ['older.pt', 'newer.pt'].map((f) => {
      const r = runCli(['models', 'save', join(root, f), '--dir', dir, '--json'], root);
      assert.equal(r.status, 0, r.stderr);
      return (JSON.parse(r.stdout) as { name: string }).name;
    });
    writeFileSync(join(dir, `${names[1]}_metadata.json`), '{"name": "cut short');
    // A save in progress: its name reserved by an empty sidecar, no model file yet.
    writeFileSync(join(dir, 'model_20991231_235959_999_metadata.json'), '');
    const warning = new RegExp(`warning: leaving out ${names[1]}: Metadata sidecar .*_metadata\\.json is not valid JSON`);
    const listed = runCli(['models', 'list', '--dir', dir], root);
    assert.equal(listed.status, 0, listed.stderr);
    assert.match(listed.stderr, warning);
    assert.doesNotMatch(listed.stderr, /model_20991231/);
    assert.deepEqual(listed.stdout.trim().split('\n').map((l) => l.split(' ')[0]), [names[0]]);
    const out = join(root, 'latest.pt');
    const exported = runCli(['models', 'export', 'latest', '--dir', dir, '--out', out], root);
    assert.equal(exported.status, 0, exported.stderr);
    assert.match(exported.stderr, warning);
    assert.deepEqual(readFileSync(out), older);
    const shown = runCli(['models', 'show', 'latest', '--dir', dir, '--json'], root);
    assert.equal(shown.status, 0, shown.stderr);
    assert.match(shown.stderr, warning);
    assert.equal((JSON.parse(shown.stdout) as { name: string }).name, names[0]);
  });
});

describe('jkx: an image.ma longer than the data', () => {
  it('builds, but warns that most images have no line, naming image.ma; the default ma is quiet', () => {
    writeFileSync(join(root, 'ma.yaml'), CONFIG('hdf5'));
    const long = runCli(['build', '--quiet', '--json', '--config', 'ma.yaml', '--set', 'image.ma=5000', '--out', join(root, 'ma-long.h5')], root);
    assert.equal(long.status, 0, long.stderr);
    const summary = JSON.parse(long.stdout) as { images: number; maUnavailable: number };
    assert.equal(summary.maUnavailable, summary.images);
    assert.match(long.stderr, new RegExp(`WARN: ${summary.images.toLocaleString('en-US')} of ${summary.images.toLocaleString('en-US')} images were drawn without their moving-average line: image\\.ma 5000 needs 4999 candles before each window`));
    const usual = runCli(['build', '--quiet', '--json', '--config', 'ma.yaml', '--out', join(root, 'ma-usual.h5')], root);
    assert.equal(usual.status, 0, usual.stderr);
    assert.doesNotMatch(usual.stderr, /moving-average line/);
  });
});

describe('verify flags', () => {
  it('--cache that is not a folder is exit 2 naming it; a name without a suffix asks for --format, which verify takes', () => {
    const h5 = build('hdf5');
    const missing = runCli(['verify', h5, '--cache', join(root, 'no-such-cache')], root);
    assert.equal(missing.status, 2, missing.stdout + missing.stderr);
    assert.match(missing.stderr, /--cache .*no-such-cache is not a folder/);
    const bare = join(mkdtempSync(join(root, 'bare-')), 'dataset');
    cpSync(h5, bare);
    const unnamed = runCli(['verify', bare], root);
    assert.equal(unnamed.status, 1);
    assert.match(unnamed.stderr, /cannot tell the format of .*dataset .*; pass --format/);
    const named = runCli(['verify', bare, '--format', 'hdf5'], root);
    assert.equal(named.status, 0, named.stdout + named.stderr);
    assert.match(named.stdout, /^ok: /m);
  });
});
