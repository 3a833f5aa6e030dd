// Model versioning: round trips of bytes and JSON, the sidecar's contents checked against
// independent computations, names that never collide (50 saves at once, 50 in one frozen
// millisecond, names taken by other writers), corruption and tampering refused with the file and
// both hashes named, path traversal, every bad argument, listing order, and no files left behind
// by a save that fails at any step.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { listModels, loadModel, ModelErrorCode, saveModel, type ModelMetadata } from '../ts/models/index.js';
import { runCli } from './helpers/cli.js';
import { hasCommand } from './helpers/python.js';
import { makeFifo, releaseFifo } from './helpers/special-files.js';

const NAME_RE = /^model_\d{8}_\d{6}_\d{3}(_[1-9]\d*)?$/;
const PKG = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'package.json'), 'utf8')) as { name: string; version: string };

const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function tempDir(): string {
  const root = mkdtempSync(join(tmpdir(), 'ohlc-models-'));
  roots.push(root);
  return root;
}

function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function files(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

function sidecarOf(modelPath: string): string {
  return modelPath.replace(/\.(bin|json)\.gz$/, '_metadata.json');
}

function readSidecar(modelPath: string): Record<string, unknown> {
  return JSON.parse(readFileSync(sidecarOf(modelPath), 'utf8')) as Record<string, unknown>;
}

function writeSidecar(modelPath: string, meta: Record<string, unknown>): void {
  writeFileSync(sidecarOf(modelPath), JSON.stringify(meta));
}

/** The name an instant must get, computed apart from the code under test. */
function expectedStem(date: Date): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return (
    `model_${date.getUTCFullYear()}${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}_` +
    `${p(date.getUTCHours())}${p(date.getUTCMinutes())}${p(date.getUTCSeconds())}_${p(date.getUTCMilliseconds(), 3)}`
  );
}

function escapeRe(text: string): RegExp {
  return new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
}

/** Rejects with OhlcError `code` whose message contains every string in `parts`. */
async function rejectsWith(promise: Promise<unknown>, code: string, ...parts: string[]): Promise<Error> {
  let caught: unknown;
  await assert.rejects(promise, (err: unknown) => {
    caught = err;
    return true;
  });
  const err = caught as Error & { code?: string };
  assert.equal(err.name, 'OhlcError', err.message);
  assert.equal(err.code, code, err.message);
  for (const part of parts) assert.match(err.message, escapeRe(part));
  return err;
}

/** Rejects with an argument error for `param`: TypeError or RangeError, naming it and the value. */
async function rejectsArg(promise: Promise<unknown>, param: string, kind: 'TypeError' | 'RangeError' | 'either' = 'either', detail?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: Error & { code?: string }) => {
    if (kind === 'either') assert.ok(err instanceof TypeError || err instanceof RangeError, `${err.name}: ${err.message}`);
    else assert.equal(err.name, kind, err.message);
    assert.equal(err.code, 'ERR_INVALID_ARG_VALUE');
    assert.match(err.message, new RegExp(`^Expected .+ for ${param.replace(/[.[\]$]/g, '\\$&')} but received `), err.message);
    if (detail) assert.match(err.message, detail);
    return true;
  });
}

describe('saveModel / loadModel: round trips', () => {
  it('stores bytes as gzip level 3 and returns them as a plain Uint8Array', async () => {
    const dir = tempDir();
    const input = new Uint8Array(randomBytes(1 << 20));
    input.set(new Uint8Array(200_000).fill(42), 1000); // something for the compressor to do
    const path = await saveModel(input, dir, { accuracy: 0.95, epochs: 100 });
    assert.ok(isAbsolute(path));
    assert.equal(dirname(path), dir);
    assert.match(basename(path), /^model_\d{8}_\d{6}_\d{3}\.bin\.gz$/);
    const onDisk = readFileSync(path);
    assert.deepEqual(new Uint8Array(gunzipSync(onDisk)), input);
    assert.deepEqual(onDisk, gzipSync(input, { level: 3 }));
    assert.ok(onDisk.length < input.length);

    const loaded = await loadModel(path);
    assert.equal(loaded.metadata.format, 'bytes');
    assert.equal(Object.getPrototypeOf(loaded.model), Uint8Array.prototype);
    assert.deepEqual(loaded.model, input);
    assert.equal(loaded.path, path);
    assert.equal(loaded.name, basename(path, '.bin.gz'));
  });

  it('accepts a Buffer and an empty array as bytes', async () => {
    const dir = tempDir();
    const buf = Buffer.from('onnx? not really');
    const loadedBuf = await loadModel(await saveModel(buf, dir));
    assert.deepEqual(loadedBuf.model, new Uint8Array(buf));
    const empty = await loadModel(await saveModel(new Uint8Array(0), dir));
    assert.equal(empty.metadata.format, 'bytes');
    assert.equal((empty.model as Uint8Array).length, 0);
    assert.equal(empty.metadata.sha256, sha256(''));
  });

  it('stores JSON objects and arrays and parses them back', async () => {
    const dir = tempDir();
    const shared = { w: [0.5, -1.25e-7, 3] };
    const model = {
      kind: 'logistic',
      layers: [shared, shared, { bias: null, on: true, off: false }],
      names: ['Ω', '日本', '🙂', 'quote " backslash \\'],
      nested: { deep: { deeper: [[1], [2, [3]]] } },
      skipped: undefined,
      big: 1e308,
      neg: -0.0001,
    };
    const path = await saveModel(model, dir, {});
    assert.match(basename(path), /^model_\d{8}_\d{6}_\d{3}\.json\.gz$/);
    const loaded = await loadModel(path);
    assert.equal(loaded.metadata.format, 'json');
    const { skipped: _, ...withoutUndefined } = model;
    assert.deepEqual(loaded.model, JSON.parse(JSON.stringify(withoutUndefined)));
    assert.equal(JSON.parse(gunzipSync(readFileSync(path)).toString('utf8')).kind, 'logistic');

    const arrayPath = await saveModel([1, 'two', [3]], dir);
    assert.deepEqual((await loadModel(arrayPath)).model, [1, 'two', [3]]);
  });

  it('copies the input: changing it while the save runs changes nothing stored', async () => {
    const dir = tempDir();
    const input = new Uint8Array(randomBytes(4096));
    const copy = input.slice();
    const pending = saveModel(input, dir);
    input.fill(0);
    const loaded = await loadModel(await pending);
    assert.deepEqual(loaded.model, copy);
  });
});

describe('saveModel: the metadata sidecar', () => {
  it('records name, time, format, sizes, hash, metrics, config, generator and file', async () => {
    const dir = tempDir();
    const input = new Uint8Array(randomBytes(10_000));
    const metrics = { accuracy: 0.95, epochs: 100, per_class: { up: 0.9, down: 0.97 }, history: [0.5, 0.8] };
    const config = { model: { lr: 0.001 }, data: { symbols: ['BTCUSDT'], interval: '1h' } };
    const before = Date.now();
    const path = await saveModel(input, dir, metrics, { config });
    const afterSave = Date.now();

    const meta = readSidecar(path);
    assert.deepEqual(Object.keys(meta).sort(), ['bytes', 'compressed_bytes', 'config', 'created_at', 'file', 'format', 'generator', 'metrics', 'name', 'sha256'].sort());
    const name = basename(path, '.bin.gz');
    assert.equal(meta.name, name);
    assert.match(name, NAME_RE);
    assert.equal(meta.file, basename(path));
    assert.equal(meta.format, 'bytes');
    assert.equal(meta.bytes, input.length);
    assert.equal(meta.compressed_bytes, readFileSync(path).length);
    assert.equal(meta.sha256, sha256(input));
    assert.deepEqual(meta.metrics, metrics);
    assert.deepEqual(meta.config, config);
    assert.deepEqual(meta.generator, { name: PKG.name, version: PKG.version });
    assert.match(meta.created_at as string, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    const created = new Date(meta.created_at as string);
    assert.ok(created.getTime() >= before && created.getTime() <= afterSave, `${meta.created_at} outside the save`);
    assert.equal(name, expectedStem(created), 'the name encodes created_at in UTC');

    const loaded = await loadModel(path);
    assert.deepEqual(loaded.metadata, meta);
  });

  it('records the UTF-8 JSON text for a JSON model and leaves out config when none is given', async () => {
    const dir = tempDir();
    const model = { w: [1.5, 2], label: 'ünïcode' };
    const path = await saveModel(model, dir, { loss: 0.1 });
    const meta = readSidecar(path);
    const text = JSON.stringify(model);
    assert.equal(meta.format, 'json');
    assert.equal(meta.bytes, Buffer.byteLength(text, 'utf8'));
    assert.equal(meta.sha256, sha256(text));
    assert.equal('config' in meta, false);
    assert.equal(meta.file, basename(path));
    // metrics default to {} when left out
    assert.deepEqual(readSidecar(await saveModel(model, dir)).metrics, {});
  });

  it('names the file after the exact UTC instant of the save', async (t) => {
    const dir = tempDir();
    t.mock.timers.enable({ apis: ['Date'], now: Date.UTC(2024, 1, 29, 23, 59, 58, 7) });
    const path = await saveModel({ a: 1 }, dir);
    assert.equal(basename(path), 'model_20240229_235958_007.json.gz');
    assert.equal(readSidecar(path).created_at, '2024-02-29T23:59:58.007Z');
  });
});

describe('saveModel: unique names', () => {
  it('gives 50 concurrent saves 50 distinct, loadable models', async () => {
    const dir = tempDir();
    const paths = await Promise.all(Array.from({ length: 50 }, (_, i) => saveModel(i % 2 ? { i } : Uint8Array.of(i, i, i), dir, { i })));
    assert.equal(new Set(paths).size, 50);
    for (const path of paths) assert.match(basename(path).replace(/\.(bin|json)\.gz$/, ''), NAME_RE);
    assert.equal(files(dir).length, 100, 'one model file and one sidecar each, nothing else');
    for (const [i, path] of paths.entries()) {
      const loaded = await loadModel(path);
      assert.deepEqual(loaded.model, i % 2 ? { i } : Uint8Array.of(i, i, i));
      assert.deepEqual(loaded.metadata.metrics, { i });
    }
    assert.equal((await listModels(dir)).length, 50);
  });

  it('numbers saves within one millisecond _1, _2, ... and orders them by that number', async (t) => {
    const dir = tempDir();
    const now = Date.UTC(2025, 0, 2, 3, 4, 5, 600);
    t.mock.timers.enable({ apis: ['Date'], now });
    const stem = expectedStem(new Date(now));
    const paths = await Promise.all(Array.from({ length: 50 }, (_, i) => saveModel({ i }, dir)));
    const names = paths.map((p) => basename(p, '.json.gz'));
    assert.deepEqual(names.slice().sort(), Array.from({ length: 50 }, (_, i) => (i === 0 ? stem : `${stem}_${i}`)).sort());
    const listed = await listModels(dir);
    assert.deepEqual(
      listed.map((e) => e.name),
      Array.from({ length: 50 }, (_, i) => (i === 49 ? stem : `${stem}_${49 - i}`)),
      'same created_at: newest first by counter, _10 after _9',
    );
    const latest = await loadModel('latest', dir);
    assert.equal(latest.name, `${stem}_49`);
    for (const [i, path] of paths.entries()) assert.deepEqual((await loadModel(path)).model, { i });
  });

  it('never takes a name another writer holds, and leaves that writer’s files alone', async (t) => {
    const dir = tempDir();
    const now = Date.UTC(2025, 5, 6, 7, 8, 9, 10);
    t.mock.timers.enable({ apis: ['Date'], now });
    const stem = expectedStem(new Date(now));
    // Another process is mid-save on the stem (its reserved sidecar), and a model under _1 lost
    // its sidecar: both names stay taken.
    writeFileSync(join(dir, `${stem}_metadata.json`), 'someone else');
    writeFileSync(join(dir, `${stem}_1.bin.gz`), 'orphan');
    const path = await saveModel(Uint8Array.of(1), dir);
    assert.equal(basename(path), `${stem}_2.bin.gz`);
    assert.equal(readFileSync(join(dir, `${stem}_metadata.json`), 'utf8'), 'someone else');
    assert.equal(readFileSync(join(dir, `${stem}_1.bin.gz`), 'utf8'), 'orphan');
    assert.deepEqual(files(dir), [`${stem}_1.bin.gz`, `${stem}_2.bin.gz`, `${stem}_2_metadata.json`, `${stem}_metadata.json`]);
    assert.deepEqual((await listModels(dir)).map((e) => e.name), [`${stem}_2`]);
  });
});

describe('loadModel: by path, by name, latest', () => {
  it('finds each model by name, by file name, by sidecar path and by relative path', async () => {
    const dir = tempDir();
    const paths = [];
    for (let i = 0; i < 3; i++) paths.push(await saveModel(i === 1 ? Uint8Array.of(9, 9) : { i }, dir));
    for (const path of paths) {
      const expected = (await loadModel(path)).model;
      const name = basename(path).replace(/\.(bin|json)\.gz$/, '');
      assert.deepEqual((await loadModel(name, dir)).model, expected);
      assert.deepEqual((await loadModel(basename(path), dir)).model, expected);
      assert.deepEqual((await loadModel(sidecarOf(path))).model, expected);
      assert.deepEqual((await loadModel(relative(process.cwd(), path))).model, expected);
      assert.equal((await loadModel(name, dir)).path, path);
    }
    const latest = await loadModel('latest', dir);
    assert.equal(latest.path, paths[2]);
    assert.deepEqual(latest.model, { i: 2 });
    // options in second place when there is no dir
    assert.deepEqual((await loadModel(paths[0], { signal: new AbortController().signal })).model, { i: 0 });
  });

  it("picks 'latest' by created_at, not by the order of names", async (t) => {
    const dir = tempDir();
    const times = [Date.UTC(2025, 2, 1), Date.UTC(2025, 2, 3), Date.UTC(2025, 2, 2)];
    for (const [i, now] of times.entries()) {
      t.mock.timers.enable({ apis: ['Date'], now });
      await saveModel({ i }, dir);
      t.mock.timers.reset();
    }
    assert.deepEqual((await loadModel('latest', dir)).model, { i: 1 });
    // A sidecar's created_at decides even when it disagrees with the name.
    const [newest, , oldest] = await listModels(dir);
    writeSidecar(oldest.path, { ...oldest.metadata, created_at: '2030-01-01T00:00:00.000Z' });
    assert.deepEqual((await loadModel('latest', dir)).model, { i: 0 });
    assert.deepEqual((await listModels(dir)).map((e) => e.name), [oldest.name, newest.name, expectedStem(new Date(times[2]))]);
  });

  it('reports a missing model, an empty directory and a missing directory', async () => {
    const dir = tempDir();
    await rejectsWith(loadModel('latest', dir), ModelErrorCode.notFound, dir);
    await rejectsWith(loadModel('latest', join(dir, 'nope')), ModelErrorCode.notFound, join(dir, 'nope'));
    await rejectsWith(loadModel('model_20250101_000000_000', dir), ModelErrorCode.notFound, join(dir, 'model_20250101_000000_000_metadata.json'));
    await rejectsWith(loadModel(join(dir, 'model_20250101_000000_000.bin.gz')), ModelErrorCode.notFound, 'model_20250101_000000_000_metadata.json');
  });
});

describe('loadModel: corrupt, truncated, missing and tampered files', () => {
  it('refuses a .gz with any byte flipped past the header, naming the file', async () => {
    const dir = tempDir();
    const path = await saveModel({ weights: [1, 2, 3, 4, 5, 6, 7, 8], label: 'flip me' }, dir);
    const good = readFileSync(path);
    // Bytes 0-9 are the gzip header (magic, flags, mtime, OS): from byte 10 on, every byte matters.
    for (let i = 10; i < good.length; i++) {
      const bad = Buffer.from(good);
      bad[i] ^= 0xff;
      writeFileSync(path, bad);
      await rejectsWith(loadModel(path), ModelErrorCode.corrupt, path, `expected sha256 ${sha256(JSON.stringify({ weights: [1, 2, 3, 4, 5, 6, 7, 8], label: 'flip me' }))}`);
    }
    writeFileSync(path, good);
    await loadModel(path);
  });

  it('refuses a file whose content inflates fine but hashes differently: expected vs actual', async () => {
    const dir = tempDir();
    const path = await saveModel(Uint8Array.of(1, 2, 3, 4), dir);
    const other = Uint8Array.of(1, 2, 3, 5);
    writeFileSync(path, gzipSync(other, { level: 3 }));
    const err = await rejectsWith(loadModel(path), ModelErrorCode.corrupt, path, `expected ${sha256(Uint8Array.of(1, 2, 3, 4))}`, `actual ${sha256(other)}`);
    assert.match(err.message, /SHA-256/);
  });

  it('refuses a truncated file and an empty file', async () => {
    const dir = tempDir();
    const path = await saveModel(new Uint8Array(randomBytes(50_000)), dir);
    const size = readFileSync(path).length;
    truncateSync(path, Math.floor(size / 2));
    await rejectsWith(loadModel(path), ModelErrorCode.corrupt, path, 'truncated', `the file has ${Math.floor(size / 2)} bytes, the metadata records ${size}`);
    truncateSync(path, 0);
    await rejectsWith(loadModel(path), ModelErrorCode.corrupt, path);
  });

  it('refuses a file that inflates to more or fewer bytes than recorded', async () => {
    const dir = tempDir();
    const path = await saveModel(new Uint8Array(1000).fill(3), dir);
    writeFileSync(path, gzipSync(new Uint8Array(1_000_000).fill(3)));
    await rejectsWith(loadModel(path), ModelErrorCode.corrupt, path, 'more than the 1000 bytes');
    writeFileSync(path, gzipSync(new Uint8Array(999).fill(3)));
    await rejectsWith(loadModel(path), ModelErrorCode.corrupt, path, 'inflates to 999 bytes', 'records 1000');
  });

  it('refuses a model whose file is gone, and does not list it', async () => {
    const dir = tempDir();
    const path = await saveModel({ a: 1 }, dir);
    unlinkSync(path);
    await rejectsWith(loadModel(path), ModelErrorCode.notFound, path);
    await rejectsWith(loadModel(basename(path, '.json.gz'), dir), ModelErrorCode.notFound, path);
    assert.deepEqual(await listModels(dir), []);
    await rejectsWith(loadModel('latest', dir), ModelErrorCode.notFound);
  });

  it('refuses a model whose sidecar is gone, and does not list it', async () => {
    const dir = tempDir();
    const path = await saveModel({ a: 1 }, dir);
    unlinkSync(sidecarOf(path));
    await rejectsWith(loadModel(path), ModelErrorCode.notFound, sidecarOf(path));
    assert.deepEqual(await listModels(dir), []);
  });

  it('refuses a tampered sha256 with expected (the sidecar) vs actual (the file)', async () => {
    const dir = tempDir();
    const input = new Uint8Array(randomBytes(3000));
    const path = await saveModel(input, dir);
    const forged = sha256('something else');
    writeSidecar(path, { ...readSidecar(path), sha256: forged });
    await rejectsWith(loadModel(path), ModelErrorCode.corrupt, path, `expected ${forged}`, `actual ${sha256(input)}`);
  });

  it('refuses malformed sidecars, naming the sidecar and the problem', async () => {
    const dir = tempDir();
    const path = await saveModel(Uint8Array.of(1, 2), dir);
    const good = readSidecar(path);
    const sidecar = sidecarOf(path);
    const cases: Array<[string | Record<string, unknown>, string]> = [
      ['', 'not valid JSON'],
      ['{"name": ', 'not valid JSON'],
      ['[]', 'not a JSON object'],
      [{ ...good, name: 'model_20000101_000000_000' }, 'its name is'],
      [{ ...good, created_at: 'yesterday' }, 'created_at'],
      [{ ...good, format: 'pickle' }, 'format'],
      [{ ...good, bytes: -1 }, 'bytes'],
      [{ ...good, compressed_bytes: '23' }, 'compressed_bytes'],
      [{ ...good, sha256: 'ABC' }, 'sha256'],
      [{ ...good, metrics: null }, 'metrics'],
      [{ ...good, config: 'x' }, 'config'],
      [{ ...good, generator: 'me' }, 'generator'],
      [{ ...good, file: '../../etc/passwd' }, 'file'],
      [{ ...good, file: basename(path).replace('.bin.gz', '.json.gz') }, 'file'],
      [{ ...good, format: 'json' }, 'file'],
    ];
    for (const [content, problem] of cases) {
      writeFileSync(sidecar, typeof content === 'string' ? content : JSON.stringify(content));
      await rejectsWith(loadModel(path), ModelErrorCode.badMetadata, sidecar, problem);
      assert.deepEqual(await listModels(dir), [], `listed with ${problem}`);
    }
    // format and file agree with each other but not with the file asked for
    writeSidecar(path, { ...good, format: 'json', file: basename(path).replace('.bin.gz', '.json.gz') });
    await rejectsWith(loadModel(path), ModelErrorCode.badMetadata, sidecar, 'format "json"');
    writeSidecar(path, good);
    assert.deepEqual((await loadModel(path)).model, Uint8Array.of(1, 2));
  });
});

// Opening a FIFO blocks until something writes to it: each test has a timeout, and every FIFO is
// released after, so code that opens one fails instead of hanging.
describe('loadModel / listModels: only regular files are read', () => {
  const fifos: string[] = [];
  const fifoInstead = (path: string) => {
    unlinkSync(path);
    fifos.push(makeFifo(path));
    return path;
  };
  after(() => fifos.forEach(releaseFifo));

  it('a FIFO as the sidecar or the model file fails at once, naming it, and is not listed', { timeout: 10_000 }, async (t) => {
    if (!hasCommand('mkfifo')) return t.skip('no mkfifo');
    const dir = tempDir();
    const sidecar = fifoInstead(sidecarOf(await saveModel({ a: 1 }, dir)));
    let started = Date.now();
    await rejectsWith(loadModel(sidecar.replace('_metadata.json', '.json.gz')), ModelErrorCode.notFound, `Metadata sidecar ${sidecar} is a FIFO (named pipe), not a regular file`);
    assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
    assert.deepEqual(await listModels(dir), []);
    await rejectsWith(loadModel('latest', dir), ModelErrorCode.notFound);

    const dir2 = tempDir();
    const model = fifoInstead(await saveModel(Uint8Array.of(1, 2, 3), dir2));
    started = Date.now();
    await rejectsWith(loadModel(model), ModelErrorCode.notFound, `Model file ${model} is a FIFO (named pipe), not a regular file`);
    assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
    assert.deepEqual(await listModels(dir2), []);
  });

  it('the CLI models show, on a directory whose sidecar is a FIFO, exits 1 at once', { timeout: 20_000 }, async (t) => {
    if (!hasCommand('mkfifo')) return t.skip('no mkfifo');
    const dir = tempDir();
    const sidecar = fifoInstead(sidecarOf(await saveModel({ a: 1 }, dir)));
    const started = Date.now();
    const r = runCli(['models', 'show', basename(sidecar, '_metadata.json'), '--dir', dir], dir, {}, 10_000);
    assert.equal(r.signal, null, 'not killed');
    assert.equal(r.status, 1, r.stderr);
    assert.ok(r.stderr.includes(`${sidecar} is a FIFO (named pipe), not a regular file`), r.stderr);
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
  });
});

describe('loadModel: names cannot leave the models directory', () => {
  it('refuses names with separators, dot segments or anything but a model name', async () => {
    const root = tempDir();
    const inside = join(root, 'inside');
    const outside = join(root, 'outside');
    const outsidePath = await saveModel({ secret: true }, outside);
    const outsideName = basename(outsidePath, '.json.gz');
    await saveModel({ ok: true }, inside);
    const refs = [
      `../outside/${outsideName}`,
      `../outside/${basename(outsidePath)}`,
      `..\\outside\\${outsideName}`,
      outsidePath,
      `${outsideName}/../../outside/${outsideName}`,
      `./${outsideName}`,
      '..',
      '.',
      '../',
      'latest/..',
      'model_2025',
      'model_20250101_000000_000.txt',
      'model_20250101_000000_000.gz',
      'model_20250101_000000_000_0',
      'model_20250101_000000_000.bin.gz.bin.gz',
      '/etc/passwd',
      'LATEST',
      ' model_20250101_000000_000',
    ];
    for (const ref of refs) await rejectsArg(loadModel(ref, inside), 'model', 'RangeError', /inside dir/);
  });

  it('refuses a path whose file name is not a model file', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'notes.json.gz'), gzipSync('{}'));
    for (const ref of [join(dir, 'notes.json.gz'), '/etc/passwd', dir, `${dir}/`, 'model_x.bin.gz']) {
      await rejectsArg(loadModel(ref), 'model', 'RangeError', /path of a model file/);
    }
  });
});

describe('arguments', () => {
  it('saveModel refuses a model that is neither bytes nor JSON-storable', async () => {
    const dir = join(tempDir(), 'never-created');
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const cyclicArray: unknown[] = [1];
    cyclicArray.push([cyclicArray]);
    class Weights {
      w = [1];
    }
    const bad: Array<[unknown, string, 'TypeError' | 'RangeError', RegExp?]> = [
      [undefined, 'model', 'TypeError'],
      [null, 'model', 'TypeError'],
      [42, 'model', 'TypeError'],
      ['models/net.onnx', 'model', 'TypeError'],
      [true, 'model', 'TypeError'],
      [10n, 'model', 'TypeError'],
      [Symbol('m'), 'model', 'TypeError'],
      [() => 1, 'model', 'TypeError', /a function/],
      [new Float32Array(4), 'model', 'TypeError', /Float32Array/],
      [new Uint8ClampedArray(4), 'model', 'TypeError'],
      [new ArrayBuffer(4), 'model', 'TypeError'],
      [new DataView(new ArrayBuffer(4)), 'model', 'TypeError'],
      [new Map([[1, 2]]), 'model', 'TypeError', /a Map/],
      [new Date(), 'model', 'TypeError'],
      [new Weights(), 'model', 'TypeError', /a Weights/],
      [{ a: () => 1 }, 'model.a', 'TypeError'],
      [{ a: { b: [1, 2, { c: 1n }] } }, 'model.a.b[2].c', 'TypeError', /1 \(bigint\)/],
      [{ s: Symbol('s') }, 'model.s', 'TypeError'],
      [{ 'odd key': NaN }, 'model["odd key"]', 'RangeError', /NaN/],
      [[1, Infinity], 'model[1]', 'RangeError'],
      [[1, undefined], 'model[1]', 'TypeError'],
      [[1, , 3], 'model[1]', 'TypeError'], // eslint-disable-line no-sparse-arrays
      [{ when: new Date() }, 'model.when', 'TypeError'],
      [{ m: new Map() }, 'model.m', 'TypeError'],
      [{ t: new Float64Array(2) }, 'model.t', 'TypeError'],
      [cyclic, 'model.self', 'TypeError', /circular/],
      [cyclicArray, 'model[1][0]', 'TypeError', /circular/],
    ];
    for (const [model, param, kind, detail] of bad) await rejectsArg(saveModel(model, dir), param, kind, detail);
    assert.equal(existsSync(dir), false, 'nothing is created for a refused model');
  });

  it('saveModel refuses bad dir, metrics and options', async () => {
    const dir = join(tempDir(), 'never-created');
    const ok = { a: 1 };
    await rejectsArg(saveModel(ok, undefined as unknown as string), 'dir', 'TypeError');
    await rejectsArg(saveModel(ok, 42 as unknown as string), 'dir', 'TypeError');
    await rejectsArg(saveModel(ok, ''), 'dir', 'RangeError');
    for (const metrics of [null, [], 'acc', 5, new Map(), new Date()]) {
      await rejectsArg(saveModel(ok, dir, metrics as unknown as Record<string, unknown>), 'metrics', 'TypeError');
    }
    await rejectsArg(saveModel(ok, dir, { loss: NaN }), 'metrics.loss', 'RangeError');
    await rejectsArg(saveModel(ok, dir, { f: () => 1 }), 'metrics.f', 'TypeError');
    await rejectsArg(saveModel(ok, dir, { nested: { b: 1n } }), 'metrics.nested.b', 'TypeError');
    await rejectsArg(saveModel(ok, dir, {}, 'fast' as never), 'options', 'TypeError');
    await rejectsArg(saveModel(ok, dir, {}, { sigal: new AbortController().signal } as never), 'options.sigal', 'TypeError', /known: config, label, dataset, signal/);
    await rejectsArg(saveModel(ok, dir, {}, { signal: 'stop' } as never), 'options.signal', 'TypeError');
    await rejectsArg(saveModel(ok, dir, {}, { config: [] as never }), 'options.config', 'TypeError');
    await rejectsArg(saveModel(ok, dir, {}, { config: { lr: () => 0.1 } }), 'options.config.lr', 'TypeError');
    assert.equal(existsSync(dir), false);
  });

  it('loadModel refuses bad model, dir and options', async () => {
    const dir = tempDir();
    const path = await saveModel({ a: 1 }, dir);
    await rejectsArg(loadModel(undefined as unknown as string), 'model', 'TypeError');
    await rejectsArg(loadModel(42 as unknown as string, dir), 'model', 'TypeError');
    await rejectsArg(loadModel(''), 'model', 'RangeError');
    await rejectsArg(loadModel('latest'), 'dir', 'TypeError', /latest/);
    await rejectsArg(loadModel('latest', 42 as unknown as string), 'dir', 'TypeError');
    await rejectsArg(loadModel('latest', ''), 'dir', 'RangeError');
    await rejectsArg(loadModel('latest', null as unknown as string), 'dir', 'TypeError');
    await rejectsArg(loadModel(path, undefined, 'x' as never), 'options', 'TypeError');
    await rejectsArg(loadModel(path, undefined, { signal: 1 } as never), 'options.signal', 'TypeError');
    await rejectsArg(loadModel('latest', dir, { verify: false } as never), 'options.verify', 'TypeError');
  });

  it('listModels refuses bad dir and options', async () => {
    await rejectsArg(listModels(undefined as unknown as string), 'dir', 'TypeError');
    await rejectsArg(listModels(7 as unknown as string), 'dir', 'TypeError');
    await rejectsArg(listModels(''), 'dir', 'RangeError');
    await rejectsArg(listModels(tempDir(), [] as never), 'options', 'TypeError');
    await rejectsArg(listModels(tempDir(), { signal: {} } as never), 'options.signal', 'TypeError');
    await rejectsArg(listModels(tempDir(), { limit: 3 } as never), 'options.limit', 'TypeError');
  });

  it('all three reject an aborted signal with an AbortError', async () => {
    const dir = tempDir();
    const path = await saveModel({ a: 1 }, dir);
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    const isAbort = (err: Error & { code?: string }): boolean => err.name === 'AbortError' && err.code === 'ABORT_ERR';
    await assert.rejects(saveModel({ b: 2 }, dir, {}, { signal: controller.signal }), isAbort);
    await assert.rejects(loadModel(path, { signal: controller.signal }), isAbort);
    await assert.rejects(loadModel('latest', dir, { signal: controller.signal }), isAbort);
    await assert.rejects(listModels(dir, { signal: controller.signal }), isAbort);
    assert.equal(files(dir).length, 2);
  });
});

describe('listModels', () => {
  it('gives [] for a missing or empty directory', async () => {
    const dir = tempDir();
    assert.deepEqual(await listModels(dir), []);
    assert.deepEqual(await listModels(join(dir, 'missing', 'deeper')), []);
  });

  it('lists newest first and skips everything that is not a complete model', async (t) => {
    const dir = tempDir();
    const times = [Date.UTC(2025, 3, 2, 12), Date.UTC(2025, 3, 1, 12), Date.UTC(2025, 3, 3, 12)];
    const saved: string[] = [];
    for (const now of times) {
      t.mock.timers.enable({ apis: ['Date'], now });
      saved.push(await saveModel({ now }, dir, { now }));
      t.mock.timers.reset();
    }
    const junk: Array<[string, string]> = [
      ['notes.txt', 'hello'],
      ['model_x.bin.gz', 'x'],
      ['model_20250101_000000_000.bin.gz', 'orphan model'],
      ['model_20250101_000000_001_metadata.json', '{'],
      ['model_20250101_000000_002_metadata.json', ''],
      ['model_20250101_000000_003_metadata.json', JSON.stringify({ ...readSidecar(saved[0]), name: 'model_20250101_000000_003', file: 'model_20250101_000000_003.json.gz' })],
      ['model_20250101_000000_004_metadata.json', JSON.stringify(readSidecar(saved[1]))],
      ['.model_20250101_000000_005.json.gz.123-abcdef.partial', 'temp'],
      ['model_metadata.json', '{}'],
    ];
    for (const [name, content] of junk) writeFileSync(join(dir, name), content);
    mkdirSync(join(dir, 'model_20250101_000000_006_metadata.json'));
    mkdirSync(join(dir, 'sub'));
    const listed = await listModels(dir);
    assert.deepEqual(
      listed.map((e) => e.path),
      [saved[2], saved[0], saved[1]],
    );
    for (const entry of listed) {
      assert.equal(entry.name, basename(entry.path, '.json.gz'));
      assert.deepEqual(entry.metadata, readSidecar(entry.path) as unknown as ModelMetadata);
    }
    assert.equal((await loadModel('latest', dir)).path, saved[2]);
  });

  it('rejects a directory path that is a file', async () => {
    const file = join(tempDir(), 'file');
    writeFileSync(file, 'x');
    await assert.rejects(listModels(file), { code: 'ENOTDIR' });
  });
});

describe('atomic saves', () => {
  it('leaves exactly the model file and its sidecar after a save', async () => {
    const dir = tempDir();
    const path = await saveModel(Uint8Array.of(1), dir);
    assert.deepEqual(files(dir), [basename(path), basename(sidecarOf(path))]);
  });

  it('removes everything it created when it fails at any step', async () => {
    const dir = tempDir();
    const first = await saveModel({ keep: true }, dir);
    const before = files(dir);
    const failedAt: number[] = [];
    // A signal that reads as aborted from its k-th check on: one run per check point of a save.
    for (let k = 1; k < 50; k++) {
      const controller = new AbortController();
      let reads = 0;
      Object.defineProperty(controller.signal, 'aborted', { get: () => ++reads >= k });
      try {
        const path = await saveModel(new Uint8Array(randomBytes(100_000)), dir, { k }, { signal: controller.signal });
        assert.deepEqual(files(dir), [...before, basename(path), basename(sidecarOf(path))].sort());
        break;
      } catch (err) {
        assert.equal((err as Error).name, 'AbortError');
        assert.deepEqual(files(dir), before, `after a failure at check ${k}`);
        failedAt.push(k);
      }
    }
    // validated, compressed, name reserved, temp model written, model renamed, temp sidecar written
    assert.deepEqual(failedAt, [1, 2, 3, 4, 5, 6]);
    assert.deepEqual((await listModels(dir)).length, 2);
    assert.deepEqual((await loadModel(first)).model, { keep: true });
  });

  it('stops hashing a large model when aborted midway and writes nothing', async () => {
    const dir = tempDir();
    const controller = new AbortController();
    const pending = saveModel(Buffer.alloc(32 << 20, 7), dir, {}, { signal: controller.signal });
    setImmediate(() => controller.abort());
    await assert.rejects(pending, { name: 'AbortError' });
    assert.deepEqual(files(dir), []);
  });
});

describe('event loop', () => {
  it('keeps timers running while a large model is saved and loaded', async () => {
    const dir = tempDir();
    const data = randomBytes(32 << 20);
    let last = performance.now();
    let maxGap = 0;
    let ticks = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      ticks++;
    }, 1);
    try {
      const path = await saveModel(data, dir);
      const loaded = await loadModel(path);
      assert.equal((loaded.model as Uint8Array).length, data.length);
    } finally {
      clearInterval(timer);
    }
    // Compression runs in the thread pool and hashing yields every 4 MiB: no long stall.
    assert.ok(ticks > 10, `${ticks} ticks`);
    assert.ok(maxGap < 250, `the event loop stalled for ${maxGap.toFixed(0)} ms`);
  });
});

describe('public exports', () => {
  it('exports saveModel, loadModel and listModels from the package entry', async () => {
    const entry = await import('../ts/index.js');
    assert.equal(entry.saveModel, saveModel);
    assert.equal(entry.loadModel, loadModel);
    assert.equal(entry.listModels, listModels);
  });
});
