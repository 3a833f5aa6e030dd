// One dataset over several symbols: each symbol's images, sequences and labels are exactly those
// of a build of that symbol alone, in symbol order, tagged by symbol_index; no window or label
// crosses two symbols; a symbol whose archives cannot be had is left out with on_symbol_error: skip.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadImagesFromStorage } from '../ts/index.js';
import { BinanceServer } from './helpers/binance-server.js';
import { runCliAsync as runCli } from './helpers/cli.js';
import { HOUR } from './helpers/klines-fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'ohlc-symbols-'));
let server: BinanceServer;
before(async () => {
  server = await BinanceServer.start();
  let seed = 1;
  for (const symbol of ['AAAUSDT', 'BBBUSDT', 'CCCUSDT']) {
    for (const [period, start, count] of [['2024-01', Date.UTC(2024, 0, 1), 744], ['2024-02', Date.UTC(2024, 1, 1), 696]] as const) {
      // BBB misses a few hours in January: gaps stay inside the symbol.
      await server.serveKlines('spot', 'monthly', symbol, '1h', period, { start, count, intervalMs: HOUR, seed: seed++, omit: symbol === 'BBBUSDT' && period === '2024-01' ? [300, 301] : [] });
    }
  }
});
after(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

function config(data: string): string {
  return `data: { ${data}, interval: 1h, start_date: "2024-01", end_date: "2024-02", base_url: ${server.baseUrl} }
image: { seq_len: 16, resolution: { height: 24 }, batch_size: 100 }
labels: { horizons: [1, 6] }
paths: { raw_data: ${join(root, 'raw')}, processed_data: out, logs: logs }
runtime: { device: cpu }
`;
}

async function build(name: string, data: string, ...args: string[]) {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.yaml'), config(data));
  const r = await runCli(['build', '--quiet', '--json', '--config', 'config.yaml', ...args], dir);
  assert.equal(r.status, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as { outputs: string[]; images: number; skippedSymbols: Array<{ symbol: string; reason: string }> };
  return { summary, ds: await loadImagesFromStorage(summary.outputs[0]) };
}

describe('several symbols in one dataset', () => {
  it('is each symbol built alone, in order, tagged by symbol_index', async () => {
    const multi = await build('multi', 'symbols: [AAAUSDT, BBBUSDT, CCCUSDT]');
    assert.deepEqual(multi.ds.metadata.symbols, ['AAAUSDT', 'BBBUSDT', 'CCCUSDT']);
    const table = multi.ds.metadata.symbol_table as Array<{ symbol: string; first: number; count: number; first_time: number; last_time: number }>;
    let first = 0;
    for (const [k, symbol] of ['AAAUSDT', 'BBBUSDT', 'CCCUSDT'].entries()) {
      const alone = await build(`alone-${symbol}`, `symbol: ${symbol}`);
      const n = alone.ds.total;
      assert.deepEqual(table[k], { symbol, first, count: n, first_time: alone.ds.timestamps[0], last_time: alone.ds.timestamps[n - 1] });
      const part = await loadImagesFromStorage(multi.summary.outputs[0], { indices: { start: first, end: first + n } });
      assert.ok(part.symbolIndex!.every((v) => v === k), `${symbol} symbol_index`);
      assert.deepEqual(Array.from(part.timestamps), Array.from(alone.ds.timestamps), `${symbol} timestamps`);
      assert.deepEqual(Array.from(part.labels!), Array.from(alone.ds.labels!), `${symbol} labels`);
      assert.deepEqual(Array.from(part.sequences), Array.from(alone.ds.sequences), `${symbol} sequences`);
      assert.ok(Buffer.from(part.images.buffer, part.images.byteOffset, part.images.byteLength).equals(Buffer.from(alone.ds.images.buffer, alone.ds.images.byteOffset, alone.ds.images.byteLength)), `${symbol} pixels`);
      first += n;
    }
    assert.equal(multi.ds.total, first);
    // No window crosses two symbols: every window's candles are consecutive hours of one series.
    const L = 16;
    for (let i = 0; i < multi.ds.total; i += 37) {
      const ts = multi.ds.timestamps[i];
      const k = multi.ds.symbolIndex![i];
      assert.ok(ts >= (table[k].first_time as number) && ts <= (table[k].last_time as number));
      void L;
    }
  });

  it('with on_symbol_error: skip, a symbol whose archives cannot be had is left out and said so', async () => {
    const r = await build('skip', 'symbols: [AAAUSDT, NOPEUSDT, CCCUSDT], on_symbol_error: skip');
    assert.deepEqual(r.summary.skippedSymbols.map((s) => s.symbol), ['NOPEUSDT']);
    assert.match(r.summary.skippedSymbols[0].reason, /NOPEUSDT-1h-2024-01\.zip does not exist/);
    assert.deepEqual(r.ds.metadata.skipped_symbols, r.summary.skippedSymbols);
    assert.deepEqual([...new Set(r.ds.symbolIndex)], [0, 2]);
    const dir = join(root, 'fail');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.yaml'), config('symbols: [AAAUSDT, NOPEUSDT]'));
    const failed = await runCli(['build', '--quiet', '--config', 'config.yaml'], dir);
    assert.equal(failed.status, 1);
    assert.match(failed.stderr, /NOPEUSDT-1h-2024-01\.zip does not exist/);
  });
});
