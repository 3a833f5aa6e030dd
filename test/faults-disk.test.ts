// A disk that fills up mid-write: every format fails with the OS's words, leaves nothing behind,
// and the process carries on (API) or exits 1 (CLI), never by a signal. libhdf5 used to keep a
// file half-closed after a failed flush and crash in its exit handler (SIGSEGV, exit 139).
// Needs root to mount a small tmpfs; skips otherwise.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli } from './helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'ohlc-disk-full-'));
const disk = join(root, 'full');
const mounted = (() => {
  mkdirSync(disk);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', disk], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const skip = mounted ? false : 'needs root to mount a 3 MB tmpfs';

const emptyDisk = () => {
  for (const name of readdirSync(disk)) rmSync(join(disk, name), { recursive: true, force: true });
};

before(() => {
  mkdirSync(join(root, 'project', 'config'), { recursive: true });
  writeFileSync(
    join(root, 'project', 'config', 'config.yaml'),
    `data: { symbol: BTCUSDT, interval: 1m, start_date: "2024-01-01", end_date: "2024-01-04", source: sample }
image: { seq_len: 100, resolution: { height: 500 } }
labels: { horizons: [1, 5] }
paths: { raw_data: ../raw, processed_data: ${disk}, logs: ../logs }
runtime: { device: cpu }
`,
  );
});
after(() => {
  if (mounted) spawnSync('umount', [disk]);
  rmSync(root, { recursive: true, force: true });
});

describe('a disk that fills during a write', { skip }, () => {
  const cases: Array<[string, string[]]> = [
    ['hdf5, level 6 (the case that crashed at exit)', ['image.storage.compression=6', 'image.stride=4']],
    ['hdf5, fast', ['image.stride=2']],
    ['hdf5, none', ['image.storage.compression=none', 'image.stride=4']],
    ['npz', ['image.storage.format=npz']],
    ['zarr (format 3, shards)', ['image.storage.format=zarr']],
    ['zarr format 2', ['image.storage.format=zarr', 'image.storage.zarr_format=2']],
    ['png', ['image.storage.format=png']],
    ['jpeg', ['image.storage.format=jpeg']],
  ];
  for (const [name, sets] of cases) {
    it(`CLI ${name}: exit 1 naming the cause, nothing left on the disk`, () => {
      emptyDisk();
      const r = runCli(['build', '--quiet', ...sets.flatMap((s) => ['--set', s])], join(root, 'project'));
      assert.equal(r.signal ?? null, null, `killed by ${String(r.signal)}`);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /No space left on device/);
      assert.doesNotMatch(r.stderr, /buf = 0x|file descriptor =/, 'libhdf5 driver noise is not shown');
      assert.deepEqual(readdirSync(disk), []);
    });
  }

  it('API: every format fails cleanly, a later writer works, and the process exits 0', () => {
    emptyDisk();
    const script = join(root, 'api.mjs');
    const index = fileURLToPath(new URL('../dist/index.js', import.meta.url));
    writeFileSync(
      script,
      `import { createDatasetWriter } from ${JSON.stringify(index)};
const n = 2000, seqLen = 100, height = 500;
const c = Float64Array.from({ length: n + seqLen }, (_, i) => 100 + Math.sin(i / 7) * 5);
const candles = { open: c, high: c.map((v) => v + 1), low: c.map((v) => v - 1), close: c };
const starts = Float64Array.from({ length: n }, (_, i) => i);
const timestamps = Float64Array.from({ length: n }, (_, i) => i * 60000);
const failures = [];
for (const [format, compression] of [['hdf5', 6], ['hdf5', 'none'], ['npz', 'fast'], ['zarr', 'fast'], ['png', 'fast'], ['jpeg', 'fast']]) {
  const w = await createDatasetWriter(${JSON.stringify(disk)} + '/api-' + format, { format, compression, seqLen, height, overwrite: true });
  try { await w.append({ candles, starts, timestamps }); await w.close(); } catch (e) { failures.push(format + ':' + e.code + ':' + /No space left/.test(e.message)); await w.abort(); }
}
const w = await createDatasetWriter(${JSON.stringify(join(root, 'ok.h5'))}, { seqLen, height, overwrite: true });
await w.append({ candles, starts: starts.subarray(0, 10), timestamps: timestamps.subarray(0, 10) });
const { count } = await w.close();
console.log(JSON.stringify({ failures, count }));
`,
    );
    const r = spawnSync(process.execPath, [script], { encoding: 'utf8' });
    assert.equal(r.signal, null, `killed by ${String(r.signal)}: ${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { failures: string[]; count: number };
    assert.deepEqual(out.failures, ['hdf5:ERR_OHLC_STORAGE:true', 'hdf5:ERR_OHLC_STORAGE:true', 'npz:ERR_OHLC_STORAGE:true', 'zarr:ERR_OHLC_STORAGE:true', 'png:ERR_OHLC_STORAGE:true', 'jpeg:ERR_OHLC_STORAGE:true']);
    assert.equal(out.count, 10);
    assert.deepEqual(readdirSync(disk), []);
  });
});
