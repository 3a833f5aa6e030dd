// Memory lent to native work must stay where it is until the work is done. Resizable and shared
// buffers are refused up front, naming the parameter; ordinary buffers lent to async work are made
// untransferable, so transferring one away mid-task copies it instead of freeing the memory under
// the worker. Each crash case runs in a child process, so a regression cannot take the test
// runner down with it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createDatasetWriter, rasterize, rasterizeAsync } from '../ts/index.js';
import { native } from '../ts/native/load.js';

const dir = mkdtempSync(join(tmpdir(), 'ohlc-buffers-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const index = fileURLToPath(new URL('../dist/index.js', import.meta.url));

const SEQ = 10;
const H = 20;
const N = 300;
function candles(make: (n: number) => Float64Array = (n) => new Float64Array(n)) {
  const c = { open: make(N), high: make(N), low: make(N), close: make(N) };
  for (let i = 0; i < N; i++) {
    const p = 100 + Math.sin(i / 5) * 3;
    c.open[i] = p;
    c.close[i] = p + 0.5;
    c.high[i] = p + 1;
    c.low[i] = p - 1;
  }
  return c;
}
/** A resizable ArrayBuffer (ES2024; the TS lib this project targets does not type the options yet). */
const ResizableArrayBuffer = ArrayBuffer as unknown as new (bytes: number, options: { maxByteLength: number }) => ArrayBuffer;
const onResizable = (n: number) => new Float64Array(new ResizableArrayBuffer(n * 8, { maxByteLength: n * 16 }));
const onShared = (n: number) => new Float64Array(new SharedArrayBuffer(n * 8));

/** Runs `body` (an ES module's text using `api`, the built package) in a child with --expose-gc. */
function child(body: string): { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string } {
  const file = join(dir, `child-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(file, `import * as api from ${JSON.stringify(index)};\n${body}`);
  const r = spawnSync(process.execPath, ['--expose-gc', file], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

describe('memory lent to native work', () => {
  it('refuses resizable buffers up front, naming the parameter', async () => {
    assert.throws(() => rasterize(candles(onResizable), { seqLen: SEQ, height: H }), (e: Error & { param?: string }) => e instanceof TypeError && e.param === 'candles.open' && /resizable/.test(e.message));
    const w = await createDatasetWriter(join(dir, 'resizable.h5'), { seqLen: SEQ, height: H });
    const images = new Uint8Array(new ResizableArrayBuffer(2 * H * 4 * SEQ, { maxByteLength: 4 * H * 4 * SEQ }));
    await assert.rejects(w.append({ images, sequences: new Float64Array(2 * SEQ * 4), timestamps: new Float64Array(2) }), (e: Error & { param?: string }) => e instanceof TypeError && e.param === 'batch.images');
    await assert.rejects(w.append({ candles: candles(onResizable), starts: Int32Array.of(0, 1), timestamps: new Float64Array(2) }), (e: Error & { param?: string }) => e.param === 'batch.candles.open');
    const out = new Uint8Array(new ResizableArrayBuffer(H * 4 * SEQ, { maxByteLength: 2 * H * 4 * SEQ }));
    await assert.rejects(rasterizeAsync(candles(), { seqLen: SEQ, height: H, starts: Int32Array.of(0), out }), (e: Error & { param?: string }) => e.param === 'out');
    await w.close();
  });

  it('refuses SharedArrayBuffer memory with a TypeError naming the parameter, in TS and in the addon', async () => {
    assert.throws(() => rasterize(candles(onShared), { seqLen: SEQ, height: H }), (e: Error & { param?: string }) => e instanceof TypeError && e.param === 'candles.open' && /SharedArrayBuffer/.test(e.message));
    const shared = new Uint8Array(new SharedArrayBuffer(H * 4 * SEQ));
    await assert.rejects(rasterizeAsync(candles(), { seqLen: SEQ, height: H, starts: Int32Array.of(0), out: shared }), (e: Error & { param?: string }) => e.param === 'out');
    // The addon itself, called around the TS checks: a TypeError with code and param, not "Invalid argument".
    const c = candles();
    const call = { ...c, open: onShared(N), starts: null, first: 0, stride: 1, count: 1, seqLen: SEQ, height: H, dtype: 0 as const, out: new Uint8Array(H * 4 * SEQ), threads: 1, device: 0 as const };
    assert.throws(() => native().rasterize(call), (e: Error & { code?: string; param?: string }) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG_VALUE' && e.param === 'open');
  });

  it('writer.append: images on a buffer resized right after the call never reach native code', () => {
    const r = child(`
const seqLen = 10, height = 20, n = 64;
const buf = new ArrayBuffer(n * height * 4 * seqLen, { maxByteLength: 2 * n * height * 4 * seqLen });
const w = await api.createDatasetWriter(${JSON.stringify(join(dir, 'resize.h5'))}, { seqLen, height, overwrite: true });
const p = w.append({ images: new Uint8Array(buf), sequences: new Float64Array(n * seqLen * 4).fill(1), timestamps: new Float64Array(n) });
buf.resize(0);
try { await p; console.log('appended'); } catch (e) { console.log(e.name, e.param); }
await w.abort();
`);
    assert.equal(r.signal, null, r.stderr);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'TypeError batch.images');
  });

  it('rasterizeAsync: an out buffer transferred away and collected mid-task is not freed under the worker', () => {
    const r = child(`
const seqLen = 100, height = 500, n = 200 + seqLen;
const c = Float64Array.from({ length: n }, (_, i) => 100 + Math.sin(i / 5) * 3);
const candles = { open: c, high: c.map((v) => v + 1), low: c.map((v) => v - 1), close: c };
const starts = Int32Array.from({ length: 200 }, (_, i) => i);
for (let round = 0; round < 5; round++) {
  const out = new Uint8Array(200 * height * 4 * seqLen);
  const p = api.rasterizeAsync(candles, { seqLen, height, starts, out });
  let moved = structuredClone(out.buffer, { transfer: [out.buffer] });
  moved = null;
  globalThis.gc();
  const r = await p;
  const again = api.rasterize(candles, { seqLen, height, starts });
  if (r.images.length !== again.images.length || !r.images.every((v, i) => v === again.images[i])) throw new Error('images differ');
}
console.log('ok');
`);
    assert.equal(r.signal, null, r.stderr);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'ok');
  });

  it('writer.append: candle columns transferred away mid-append are still read correctly', () => {
    const r = child(`
const seqLen = 50, height = 100, n = 3000;
const make = () => Float64Array.from({ length: n + seqLen }, (_, i) => 100 + Math.sin(i / 7) * 5);
const candles = { open: make(), high: make().map((v) => v + 1), low: make().map((v) => v - 1), close: make() };
const starts = Float64Array.from({ length: n }, (_, i) => i);
const w = await api.createDatasetWriter(${JSON.stringify(join(dir, 'transfer.h5'))}, { seqLen, height, overwrite: true });
const p = w.append({ candles, starts, timestamps: new Float64Array(n) });
for (const k of ['open', 'high', 'low', 'close']) structuredClone(candles[k].buffer, { transfer: [candles[k].buffer] });
globalThis.gc();
await p;
const { files } = await w.close();
const back = await api.loadImagesFromStorage(files[0], { indices: [0, n - 1] });
const drawn = api.rasterize(candles, { seqLen, height, starts: Int32Array.of(0, n - 1) });
console.log(back.images.every((v, i) => v === drawn.images[i]) ? 'ok' : 'differ');
`);
    assert.equal(r.signal, null, r.stderr);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'ok');
  });
});
