// `ohlc-native build` end to end, run as users run it (the built CLI in a fresh directory):
// against a local Binance Vision stand-in with gaps, for every format and mode; the offline
// sample; every config error; Ctrl-C mid-run; the log file; labels against a reference here.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadImagesFromStorage, rasterize, type StorageFormat } from '../ts/index.js';
import { BinanceServer } from './helpers/binance-server.js';
import { runCliAsync as runCli, startCli } from './helpers/cli.js';
import { HOUR, type FixtureRow } from './helpers/klines-fixtures.js';

const SEQ = 12;
const H = 24;
const HORIZONS = [1, 4];
const JAN = Date.UTC(2024, 0, 1);
const FEB = Date.UTC(2024, 1, 1);

let server: BinanceServer;
let rows: FixtureRow[];
let root: string;

before(async () => {
  server = await BinanceServer.start();
  // January with two maintenance gaps (one hour, then three), February complete.
  const jan = await server.serveKlines('spot', 'monthly', 'TESTUSDT', '1h', '2024-01', { start: JAN, count: 744, intervalMs: HOUR, seed: 11, omit: [100, 400, 401, 402] });
  const feb = await server.serveKlines('spot', 'monthly', 'TESTUSDT', '1h', '2024-02', { start: FEB, count: 696, intervalMs: HOUR, seed: 12 });
  rows = [...jan.rows, ...feb.rows];
  root = mkdtempSync(join(tmpdir(), 'ohlc-pipeline-'));
});
after(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

function project(name: string, config: string): string {
  const dir = join(root, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'config'), { recursive: true });
  writeFileSync(join(dir, 'config', 'config.yaml'), config);
  return dir;
}

function configYaml(overrides: { format?: StorageFormat; mode?: string; extra?: string; source?: string } = {}): string {
  return `data:
  symbol: TESTUSDT
  interval: 1h
  start_date: "2024-01"
  end_date: "2024-02"
  source: ${overrides.source ?? 'binance'}
  base_url: ${server.baseUrl}
image:
  seq_len: ${SEQ}
  resolution: { height: ${H} }
  storage: { format: ${overrides.format ?? 'hdf5'}, mode: ${overrides.mode ?? 'single'}, images_per_file: 500 }
  batch_size: 200
labels:
  horizons: [${HORIZONS.join(', ')}]
paths:
  raw_data: ../data/raw
  processed_data: ../data/processed
  models: ../models
  logs: ../logs
runtime:
  device: cpu
${overrides.extra ?? ''}`;
}

/** Windows, skips and labels computed here from the served rows, independently of ts/pipeline. */
function reference(stride = 1) {
  const n = rows.length;
  const contiguous = (a: number, b: number) => {
    for (let i = a; i < b; i++) if (rows[i + 1].openTime - rows[i].openTime !== HOUR) return false;
    return true;
  };
  const starts: number[] = [];
  let gaps = 0;
  for (let s = 0; s + SEQ <= n; s += stride) {
    if (contiguous(s, s + SEQ - 1)) starts.push(s);
    else gaps++;
  }
  const labels: number[] = [];
  const returns: number[] = [];
  for (const s of starts) {
    const e = s + SEQ - 1;
    for (const h of HORIZONS) {
      if (e + h >= n || !contiguous(e, e + h)) {
        labels.push(-1);
        returns.push(NaN);
      } else {
        const r = rows[e + h].close / rows[e].close - 1;
        returns.push(r);
        labels.push(r > 0 ? 1 : 0);
      }
    }
  }
  const timestamps = starts.map((s) => rows[s + SEQ - 1].openTime);
  return { starts, gaps, labels, returns, timestamps };
}

function candles() {
  return {
    open: Float64Array.from(rows, (r) => r.open),
    high: Float64Array.from(rows, (r) => r.high),
    low: Float64Array.from(rows, (r) => r.low),
    close: Float64Array.from(rows, (r) => r.close),
  };
}

describe('build: against a local Binance Vision', () => {
  let cachedRef: ReturnType<typeof reference> | undefined;
  const refOf = () => (cachedRef ??= reference());

  it('writes HDF5 whose images, labels, returns and timestamps match a reference computed here', async () => {
    const dir = project('hdf5', configYaml());
    const r = await runCli(['build', '--json'], dir);
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.images, refOf().starts.length);
    assert.deepEqual(summary.skipped, { gap: refOf().gaps, invalid_price: 0 });
    assert.equal(summary.outputs.length, 1);
    assert.ok(summary.outputs[0].startsWith(join(dir, 'data', 'processed')));
    assert.equal(typeof summary.seconds, 'number');

    const ds = await loadImagesFromStorage(summary.outputs[0]);
    assert.equal(ds.total, refOf().starts.length);
    assert.deepEqual(Array.from(ds.timestamps), refOf().timestamps);
    assert.deepEqual(Array.from(ds.labels!), refOf().labels);
    assert.deepEqual(Array.from(ds.returns!).map((v) => (Number.isNaN(v) ? 'NaN' : v)), refOf().returns.map((v) => (Number.isNaN(v) ? 'NaN' : v)));
    const expected = rasterize(candles(), { seqLen: SEQ, height: H, starts: Int32Array.from(refOf().starts) });
    assert.deepEqual(ds.images, expected.images);
    const m = ds.metadata;
    assert.equal(m.symbol, 'TESTUSDT');
    assert.equal(m.interval, '1h');
    assert.equal(m.synthetic, false);
    assert.deepEqual(m.skipped, { gap: refOf().gaps, invalid_price: 0 });
    assert.deepEqual((m.sources as Array<{ name: string }>).map((s) => s.name), ['TESTUSDT-1h-2024-01.zip', 'TESTUSDT-1h-2024-02.zip']);
    assert.equal((m.config as { image: { seq_len: number } }).image.seq_len, SEQ);
  });

  for (const format of ['npz', 'zarr', 'png', 'jpeg'] as const) {
    for (const mode of ['single', 'batch']) {
      it(`writes ${format} (${mode}) that loads back with the same arrays`, async () => {
        const dir = project(`${format}-${mode}`, configYaml({ format, mode }));
        const r = await runCli(['build', '--json', '--quiet'], dir);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stderr, '', '--quiet prints nothing on success');
        const summary = JSON.parse(r.stdout);
        assert.equal(summary.outputs.length, mode === 'batch' ? Math.ceil(refOf().starts.length / 500) : 1);
        const ds = await loadImagesFromStorage(summary.outputs[0]);
        assert.equal(ds.total, refOf().starts.length);
        assert.deepEqual(Array.from(ds.timestamps), refOf().timestamps);
        assert.deepEqual(Array.from(ds.labels!), refOf().labels);
        if (format !== 'jpeg') {
          const some = await loadImagesFromStorage(summary.outputs[0], { indices: [0, refOf().starts.length - 1] });
          const expected = rasterize(candles(), { seqLen: SEQ, height: H, starts: Int32Array.from([refOf().starts[0], refOf().starts.at(-1)!]) });
          assert.deepEqual(some.images, expected.images);
        }
      });
    }
  }

  it('re-runs from the cache without any request, and honours --set and --out', async () => {
    const dir = project('rerun', configYaml());
    assert.equal((await runCli(['build', '--quiet'], dir)).status, 0);
    server.resetCounts();
    const out = join(dir, 'custom', 'stride3');
    const r = await runCli(['build', '--json', '--quiet', '--set', 'image.stride=3', '--set', 'image.storage.format=npz', '--out', out], dir);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(server.requestCount(), 0, `requests: ${server.requests.join(', ')}`);
    const summary = JSON.parse(r.stdout);
    assert.deepEqual(summary.outputs, [`${out}.npz`]);
    assert.equal(summary.images, reference(3).starts.length);
    assert.deepEqual(summary.skipped, { gap: reference(3).gaps, invalid_price: 0 });
  });

  it('keeps gap-crossing windows with skip_gaps: false, labelling across gaps as unknown', async () => {
    const dir = project('keep-gaps', configYaml());
    const r = await runCli(['build', '--json', '--quiet', '--set', 'image.skip_gaps=false'], dir);
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.images, rows.length - SEQ + 1);
    assert.deepEqual(summary.skipped, { gap: 0, invalid_price: 0 });
  });

  it('writes the log file with each step, the device, cache decisions and counts', async () => {
    const dir = project('logs', configYaml());
    const r = await runCli(['build'], dir);
    assert.equal(r.status, 0, r.stderr);
    const logs = readdirSync(join(dir, 'logs'));
    assert.equal(logs.length, 1);
    assert.match(logs[0], /^pipeline_\d{8}_\d{6}\.log$/);
    const lines = readFileSync(join(dir, 'logs', logs[0]), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { msg: string; level: number });
    const text = lines.map((l) => l.msg).join('\n');
    assert.match(text, /Image generator initialized with: CPU \(OpenMP, \d+ threads?\)|Image generator initialized with: CPU \(single-threaded/);
    assert.match(text, /Loaded 1436 candles from 2 archives/);
    assert.match(text, new RegExp(`Planned ${refOf().starts.length} images from ${refOf().starts.length + refOf().gaps} windows`));
    assert.match(text, /Dataset written/);
    assert.ok(lines.every((l) => typeof l.level === 'number'));
    // The console got the same story.
    assert.match(r.stderr, /Image generator initialized with: CPU/);
    assert.match(r.stderr, /progress: images \d+\/\d+ \(100%\)/);
  });

  it('fails clearly on a 404 (naming the URL), leaving no dataset and exit code 1', async () => {
    const dir = project('missing', configYaml().replace('TESTUSDT', 'NOSUCHUSDT'));
    const r = await runCli(['build'], dir);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /NOSUCHUSDT-1h-2024-01\.zip/);
    assert.equal(existsSync(join(dir, 'data', 'processed')), false);
  });
});

describe('build: the offline sample', () => {
  it('builds from synthetic archives with no network, marked synthetic everywhere', async () => {
    const dir = project('sample', configYaml({ source: 'sample' }).replace(/\n *base_url: .*/, ''));
    server.resetCounts();
    const r = await runCli(['build', '--json'], dir);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(server.requestCount(), 0);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.synthetic, true);
    assert.match(summary.outputs[0], /_synthetic\.h5$/);
    const ds = await loadImagesFromStorage(summary.outputs[0], { indices: [] });
    assert.equal(ds.metadata.synthetic, true);
    assert.equal(ds.metadata.source, 'sample');
    assert.ok((ds.metadata.sources as Array<{ synthetic: boolean }>).every((s) => s.synthetic));
    // Synthetic archives live apart from real ones.
    assert.ok(existsSync(join(dir, 'data', 'raw', 'synthetic')));
    assert.deepEqual(readdirSync(join(dir, 'data', 'raw')), ['synthetic']);
    // Deterministic: a second project gets identical candles.
    const dir2 = project('sample2', configYaml({ source: 'sample' }).replace(/\n *base_url: .*/, ''));
    const r2 = await runCli(['build', '--json', '--quiet'], dir2);
    const ds2 = await loadImagesFromStorage(JSON.parse(r2.stdout).outputs[0], { indices: { start: 0, end: 50 } });
    const ds1 = await loadImagesFromStorage(summary.outputs[0], { indices: { start: 0, end: 50 } });
    assert.deepEqual(ds1.sequences, ds2.sequences);
  });

  it('runs the shipped config/sample.yaml from any directory', async () => {
    const shipped = readFileSync(new URL('../config/sample.yaml', import.meta.url), 'utf8');
    const dir = project('shipped', shipped.replace('start_date: "2024-01"', 'start_date: "2024-01-01"').replace('end_date: "2024-01"', 'end_date: "2024-01-02"'));
    const r = await runCli(['build', '--json', '--quiet'], dir);
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.images, 2 * 1440 - 100 + 1);
    assert.ok(statSync(summary.outputs[0]).size > 0);
  });
});

describe('build: configuration errors (exit code 2, nothing written)', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['an unknown key', 'image:\n  seq_len: 10\n  colour: red\n', /image\.colour: unknown key \(value "red"\)/],
    ['a wrong type', 'image:\n  seq_len: "ten"\n', /image\.seq_len: .*expected number.*\(got "ten"\)/],
    ['seq_len < 1', 'image:\n  seq_len: 0\n', /image\.seq_len: .*>=1.*\(got 0\)/],
    ['height < 2', 'image:\n  resolution: { height: 1 }\n', /image\.resolution\.height: .*>=2.*\(got 1\)/],
    ['end before start', 'data:\n  start_date: "2024-05"\n  end_date: "2024-01"\n', /data\.end_date: must not be before data\.start_date \(2024-05\) \(got "2024-01"\)/],
    ['an unknown interval', 'data:\n  interval: 7m\n', /data\.interval: .*expected one of .*\(got "7m"\)/],
    ['an unknown format', 'image:\n  storage: { format: tiff }\n', /image\.storage\.format: .*expected one of .*\(got "tiff"\)/],
    ['a bad date', 'data:\n  start_date: "2024-13"\n', /data\.start_date: must be a date "YYYY-MM" or "YYYY-MM-DD" \(got "2024-13"\)/],
    ['not YAML', 'data: [unclosed\n', /not valid YAML/],
    ['a day that does not exist', 'data:\n  start_date: "2021-02-30"\n', /data\.start_date: .*an existing day.* but received "2021-02-30"/],
    ['a futures symbol on spot', 'data:\n  symbol: BTCUSD_PERP\n', /data\.symbol: .*spot symbol without "_".* but received "BTCUSD_PERP"/],
  ];
  for (const [name, yaml, message] of cases) {
    it(name, async () => {
      const dir = project(`bad-${name.replace(/\W+/g, '-')}`, `${yaml}paths: { raw_data: ../data/raw, processed_data: ../data/processed, logs: ../logs }\n`);
      const r = await runCli(['build'], dir);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.deepEqual(readdirSync(dir), ['config'], 'nothing written');
    });
  }

  it('refuses credentials in data.base_url, saying why, and shows the password nowhere', async () => {
    const secret = 's3cretpw';
    const withCredentials = server.baseUrl.replace('http://', `http://user:${secret}@`);
    const dir = project('bad-credentials', configYaml().replace(`base_url: ${server.baseUrl}`, `base_url: ${withCredentials}`));
    server.resetCounts();
    for (const args of [['build'], ['download'], ['build', '--set', `data.base_url=${withCredentials}`], ['build', '--set', `data.mirror=${withCredentials}`]]) {
      const r = await runCli(args, dir);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, args.includes(`data.mirror=${withCredentials}`) ? /data\.mirror: unknown key \(value "http:\/\/\*\*\*@127/ : /data\.base_url: expected .*without a user name or password \(credentials in a URL end up in logs/);
      assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret), `${args.join(' ')} printed the password:\n${r.stdout}${r.stderr}`);
    }
    assert.deepEqual(readdirSync(dir), ['config'], 'nothing written (no log either)');
    assert.equal(server.requestCount(), 0);
  });

  it('reports every problem at once, and bad --set values too', async () => {
    const dir = project('bad-many', 'image:\n  seq_len: 0\n  resolution: { height: 1 }\ndata:\n  interval: 2x\n');
    const r = await runCli(['build', '--set', 'runtime.device=tpu'], dir);
    assert.equal(r.status, 2);
    for (const key of ['image.seq_len', 'image.resolution.height', 'data.interval', 'runtime.device']) assert.match(r.stderr, new RegExp(`- ${key.replace(/\./g, '\\.')}:`));
    assert.equal((await runCli(['build', '--set', 'novalue'], dir)).status, 2);
    assert.equal((await runCli(['build', '--config', 'missing.yaml'], dir)).status, 2);
    assert.equal((await runCli(['build', '--bogus'], dir)).status, 2);
  });
});

describe('build: Ctrl-C', () => {
  it('stops promptly on SIGINT with exit code 130, leaving no partial dataset and a usable cache', async () => {
    const dir = project('sigint', configYaml({ source: 'sample' }).replace(/\n *base_url: .*/, '').replace('end_date: "2024-02"', 'end_date: "2024-03"').replace(`seq_len: ${SEQ}`, 'seq_len: 100').replace(`height: ${H}`, 'height: 500').replace('interval: 1h', 'interval: 1m'));
    const { child, exit } = await startCli(['build'], dir, /Writing hdf5/);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    child.kill('SIGINT');
    const r = await exit;
    assert.equal(r.status, 130, r.stderr);
    assert.ok(Date.now() - t0 < 5000, 'stopped promptly');
    assert.match(r.stderr, /interrupted/i);
    const processed = join(dir, 'data', 'processed');
    const left = existsSync(processed) ? readdirSync(processed) : [];
    assert.deepEqual(left, [], `left behind: ${left.join(', ')}`);
    const log = readdirSync(join(dir, 'logs'));
    assert.match(readFileSync(join(dir, 'logs', log[0]), 'utf8'), /interrupted/i);
    // The cache is intact: a second run completes from it.
    const again = await runCli(['build', '--json', '--quiet', '--set', 'data.end_date=2024-01-03'], dir);
    assert.equal(again.status, 0, again.stderr);
    assert.ok(JSON.parse(again.stdout).images > 0);
  });
});

describe('inspect and info', () => {
  it('inspect prints shape and metadata, and writes a sample PNG', async () => {
    const dir = project('inspect', configYaml());
    const built = JSON.parse((await runCli(['build', '--json', '--quiet'], dir)).stdout);
    const r = await runCli(['inspect', built.outputs[0], '--json', '--png', 'one.png', '--index', '3'], dir);
    assert.equal(r.status, 0, r.stderr);
    const info = JSON.parse(r.stdout);
    assert.deepEqual(info.shape, [built.images, H, 4 * SEQ]);
    assert.equal(info.symbol, 'TESTUSDT');
    assert.deepEqual(info.horizons, HORIZONS);
    const { PNG } = await import('pngjs');
    const png = PNG.sync.read(readFileSync(join(dir, 'one.png')));
    assert.equal(png.width, 4 * SEQ);
    assert.equal(png.height, H);
    const ds = await loadImagesFromStorage(built.outputs[0], { indices: [3] });
    for (let p = 0; p < H * 4 * SEQ; p++) assert.equal(png.data[4 * p], ds.images[p] ? 255 : 0);
    const text = await runCli(['inspect', built.outputs[0]], dir);
    assert.match(text.stdout, /images\s+\d+/);
    assert.equal((await runCli(['inspect', join(dir, 'nope.h5')], dir)).status, 1);
  });

  it('info describes the build', async () => {
    const r = await runCli(['info', '--json'], root);
    assert.equal(r.status, 0, r.stderr);
    const info = JSON.parse(r.stdout);
    assert.match(info.sourceHash, /^[0-9a-f]{64}$/);
    assert.equal(typeof info.cuda.available, 'boolean');
  });
});

describe('models CLI', () => {
  it('lists models newest first and shows one after verifying it', async () => {
    const { saveModel } = await import('../ts/index.js');
    const dir = project('models', 'paths: { models: ../models }\n');
    const models = join(dir, 'models');
    const first = await saveModel(new Uint8Array([1, 2, 3]), models, { accuracy: 0.9 });
    const second = await saveModel({ weights: [0.5, -1] }, models, { accuracy: 0.95, epochs: 3 });
    const list = await runCli(['models', 'list', '--json'], dir);
    assert.equal(list.status, 0, list.stderr);
    assert.deepEqual(JSON.parse(list.stdout).map((m: { path: string }) => m.path), [second, first]);
    const show = await runCli(['models', 'show', 'latest', '--json'], dir);
    assert.equal(show.status, 0, show.stderr);
    const shown = JSON.parse(show.stdout);
    assert.equal(shown.path, second);
    assert.equal(shown.verified, true);
    assert.deepEqual(shown.metrics, { accuracy: 0.95, epochs: 3 });
    // A corrupt model fails to show, naming the file.
    const bytes = readFileSync(first);
    bytes[bytes.length - 5] ^= 0xff;
    writeFileSync(first, bytes);
    const bad = await runCli(['models', 'show', first], dir);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, new RegExp(first.split('/').pop()!.replace(/\./g, '\\.')));
  });
});

describe('download and sample commands', () => {
  it('download fetches and caches only, reporting candles and gaps', async () => {
    const dir = project('download-only', configYaml());
    const r = await runCli(['download', '--json', '--quiet'], dir);
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(r.stdout);
    assert.equal(s.candles, rows.length);
    assert.equal(s.archives, 2);
    assert.equal(s.gaps.length, 2);
    assert.deepEqual(s.gaps.map((g: { missing: number }) => g.missing), [1, 3]);
    assert.equal(existsSync(join(dir, 'data', 'processed')), false, 'no dataset written');
    assert.ok(existsSync(join(dir, 'data', 'raw', 'data', 'spot', 'monthly', 'klines', 'TESTUSDT', '1h', 'TESTUSDT-1h-2024-01.zip')));
  });

  it('sample writes the synthetic archives only', async () => {
    const dir = project('sample-only', configYaml({ source: 'sample' }).replace(/\n *base_url: .*/, ''));
    const r = await runCli(['sample', '--json', '--quiet'], dir);
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(r.stdout);
    assert.equal(s.archives.length, 2);
    assert.ok(s.archives.every((a: { path: string }) => a.path.includes(`${join('data', 'raw', 'synthetic')}`)));
    const again = JSON.parse((await runCli(['sample', '--json', '--quiet'], dir)).stdout);
    assert.ok(again.archives.every((a: { written: boolean }) => !a.written), 'identical archives are not rewritten');
  });
});
