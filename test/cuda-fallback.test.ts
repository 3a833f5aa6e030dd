// The GPU backend as this machine has it. Without a usable GPU: info() says why, 'auto' falls back
// to the CPU with the same pixels, 'cuda' fails clearly (API and CLI). With one: cuda and cpu
// agree byte for byte on random windows. Either way, the standalone raster_check built with the
// addon runs (its GPU part only where a GPU is present).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OhlcError } from '../ts/errors.js';
import { rasterize, rasterizeAsync } from '../ts/index.js';
import { loadedAddonPath, native, packageRoot } from '../ts/native/load.js';
import { runCliAsync as runCli } from './helpers/cli.js';
import { randomWalk, rng } from './helpers/random.js';

const cuda = native().info().cuda;

/** What the CMake cache beside the loaded addon says about CUDA; null when there is none (a prebuild). */
function builtWithCuda(): boolean | null {
  const addon = loadedAddonPath() ?? '';
  for (const dir of [dirname(dirname(addon)), dirname(addon)]) {
    const cache = join(dir, 'CMakeCache.txt');
    if (!existsSync(cache)) continue;
    const text = readFileSync(cache, 'utf8');
    const option = /^OHLC_WITH_CUDA:BOOL=(\S+)/m.exec(text)?.[1] ?? 'ON';
    const compiler = /^CMAKE_CUDA_COMPILER:[A-Z]+=(.*)$/m.exec(text)?.[1] ?? '';
    return !/^(OFF|FALSE|0|NO)$/i.test(option) && compiler !== '' && !compiler.endsWith('NOTFOUND');
  }
  return null;
}

function windows(seed: number) {
  const r = rng(seed);
  const c = randomWalk(400, r);
  // A malformed candle and a flat stretch, so both rules are exercised.
  [c.high[50], c.low[50]] = [c.low[50], c.high[50]];
  for (let i = 200; i < 230; i++) c.open[i] = c.high[i] = c.low[i] = c.close[i] = 123.25;
  return c;
}

describe('cuda: what info() reports', () => {
  it('compiled reflects the build; without a device, a reason', () => {
    const expected = builtWithCuda();
    if (expected !== null) assert.equal(cuda.compiled, expected, `CMake cache says CUDA ${expected ? 'on' : 'off'}`);
    assert.equal(typeof cuda.available, 'boolean');
    if (!cuda.compiled) {
      assert.equal(cuda.available, false);
      assert.match(cuda.reason, /built without CUDA/);
    }
    if (cuda.available) {
      assert.equal(cuda.reason, '');
      assert.ok(cuda.name.length > 0 && cuda.multiprocessors > 0 && cuda.memoryBytes > 0);
    } else {
      assert.ok(cuda.reason.length > 0, 'an unavailable device comes with a reason');
      if (cuda.compiled) assert.match(cuda.reason, /cuda[A-Za-z]+|no CUDA device|kernels for|no NVIDIA driver found/);
      // With no driver at all, the reason says so (not "driver version is insufficient").
      if (cuda.compiled && !existsSync('/proc/driver/nvidia')) assert.match(cuda.reason, /^no NVIDIA driver found/);
    }
  });
});

describe('cuda: without a usable GPU', { skip: cuda.available ? 'a GPU is present (see the GPU suite)' : false }, () => {
  it("device 'auto' draws on the CPU, pixel for pixel as device 'cpu'", async () => {
    const c = windows(7);
    for (const dtype of ['uint8', 'float32'] as const) {
      const cpu = rasterize(c, { seqLen: 40, height: 64, dtype, device: 'cpu' });
      const auto = rasterize(c, { seqLen: 40, height: 64, dtype, device: 'auto' });
      const implicit = await rasterizeAsync(c, { seqLen: 40, height: 64, dtype, stride: 3 });
      assert.equal(auto.device, 'cpu');
      assert.equal(implicit.device, 'cpu');
      assert.deepEqual(auto.images, cpu.images);
      assert.deepEqual(implicit.images, rasterize(c, { seqLen: 40, height: 64, dtype, stride: 3, device: 'cpu' }).images);
    }
  });

  it("device 'cuda' throws an OhlcError naming the reason", async () => {
    const c = windows(8);
    const check = (err: unknown) => {
      assert.ok(err instanceof OhlcError);
      assert.equal(err.code, 'ERR_OHLC_NO_CUDA');
      assert.match(err.message, /device 'cuda' was requested but no usable GPU is available/);
      assert.ok(err.message.includes(cuda.reason), err.message);
      return true;
    };
    assert.throws(() => rasterize(c, { seqLen: 10, height: 10, device: 'cuda' }), check);
    await assert.rejects(rasterizeAsync(c, { seqLen: 10, height: 10, device: 'cuda' }), check);
  });
});

describe('cuda: with a GPU', { skip: cuda.available ? false : `no usable GPU: ${cuda.reason}` }, () => {
  it('cuda and cpu agree byte for byte on random windows', async () => {
    const r = rng(42);
    for (let k = 0; k < 40; k++) {
      const c = randomWalk(300 + Math.floor(r() * 1500), r, 10 ** (r() * 8 - 4), 10 ** (-4 + 3 * r()));
      if (k % 5 === 0) [c.high[10], c.low[10]] = [c.low[10], c.high[10]];
      const seqLen = k === 0 ? 1100 : 1 + Math.floor(r() * 200);
      const height = 2 + Math.floor(r() * (k % 4 === 0 ? 2000 : 300));
      const dtype = k % 3 === 0 ? ('float32' as const) : ('uint8' as const);
      const stride = 1 + Math.floor(r() * 4);
      const opts = { seqLen, height, dtype, stride };
      const cpu = rasterize(c, { ...opts, device: 'cpu' });
      const gpu = k % 2 ? rasterize(c, { ...opts, device: 'cuda' }) : await rasterizeAsync(c, { ...opts, device: 'cuda' });
      assert.equal(gpu.device, 'cuda');
      assert.ok(Buffer.from(gpu.images.buffer, gpu.images.byteOffset, gpu.images.byteLength).equals(Buffer.from(cpu.images.buffer, cpu.images.byteOffset, cpu.images.byteLength)), `case ${k}: ${JSON.stringify(opts)}`);
    }
  });

  it('reports the same invalid window as the CPU', () => {
    const c = randomWalk(500, rng(3));
    c.low[321] = Number.NaN;
    c.close[400] = 0;
    const grab = (device: 'cpu' | 'cuda') => {
      try {
        rasterize(c, { seqLen: 50, height: 40, device });
      } catch (err) {
        return String((err as Error).message);
      }
      return 'no error';
    };
    assert.equal(grab('cuda'), grab('cpu'));
    assert.match(grab('cpu'), /window 272 .*candle 321 has low = NaN/);
  });
});

describe('cuda: the CLI', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'ohlc-cuda-'));
    mkdirSync(join(root, 'config'));
    writeFileSync(
      join(root, 'config', 'config.yaml'),
      `data:
  symbol: TESTUSDT
  interval: 1h
  start_date: "2024-01-01"
  end_date: "2024-01-03"
  source: sample
image:
  seq_len: 12
  resolution: { height: 24 }
  storage: { format: npz, mode: single }
  batch_size: 50
labels:
  horizons: [1]
paths:
  raw_data: ../data/raw
  processed_data: ../data/processed
  models: ../models
  logs: ../logs
runtime:
  device: auto
`,
    );
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it("runtime.device=cuda: exit code 1 naming the reason (or the GPU where there is one)", { skip: cuda.available ? 'a GPU is present: covered by the auto run' : false }, async () => {
    const r = await runCli(['build', '--set', 'runtime.device=cuda'], root);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /no usable GPU is available/);
    assert.ok(r.stderr.includes(cuda.reason), r.stderr);
    assert.equal(existsSync(join(root, 'data', 'processed')), false);
  });

  it("runtime.device=auto: says why there is no GPU and uses the CPU (or says which GPU)", async () => {
    const r = await runCli(['build', '--set', 'runtime.device=auto'], root);
    assert.equal(r.status, 0, r.stderr);
    if (cuda.available) {
      assert.match(r.stderr, /Image generator initialized with: CUDA \(/);
    } else {
      if (cuda.compiled) assert.match(r.stderr, /No usable GPU/);
      assert.match(r.stderr, /Image generator initialized with: CPU/);
    }
  });
});

describe('cuda: raster_check', () => {
  // The one built with the loaded addon (cmake-js builds native/tools/*.cpp into the same folder),
  // or OHLC_RASTER_CHECK.
  const addon = loadedAddonPath() ?? '';
  const beside = join(dirname(dirname(addon)), 'raster_check');
  const bin = process.env.OHLC_RASTER_CHECK ?? (addon.startsWith(join(packageRoot, 'build')) && existsSync(beside) ? beside : '');

  it('passes its checks (GPU vs CPU where a GPU is present)', { skip: bin ? false : 'raster_check was not built with this addon' }, () => {
    const r = spawnSync(bin, ['--quick'], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /layout emulation +ok/);
    assert.match(r.stdout, /cpu \(\d+ threads?\) +uint8/);
    if (cuda.available) {
      assert.match(r.stdout, /GPU vs CPU +ok/);
      assert.match(r.stdout, /gpu device-only +uint8/);
    } else {
      assert.ok(r.stdout.includes(`no usable CUDA device: ${cuda.reason}`), r.stdout);
      assert.match(r.stdout, /GPU vs CPU +skipped/);
      // A GPU machine's run must not pass without its GPU.
      const strict = spawnSync(bin, ['--require-gpu', '--no-bench'], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(strict.status, 4, strict.stdout);
    }
  });
});
