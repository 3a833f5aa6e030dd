// Bad input ends in a clear error, never in an empty dataset with exit 0; config problems are
// caught with the config (exit 2, nothing written); messages name the key the user wrote.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadImagesFromStorage } from '../ts/index.js';
import { BinanceServer } from './helpers/binance-server.js';
import { runCliAsync as runCli } from './helpers/cli.js';
import { archivePath, HOUR, klinesCsv, zipMembers } from './helpers/klines-fixtures.js';

const JAN = Date.UTC(2024, 0, 1);
let server: BinanceServer;
const root = mkdtempSync(join(tmpdir(), 'ohlc-input-'));
before(async () => {
  server = await BinanceServer.start();
});
after(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

function project(name: string, data: string, extra = ''): string {
  const dir = join(root, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'config.yaml'),
    `data: { symbol: ${name.toUpperCase().replace(/[^A-Z]/g, '')}USDT, interval: 1h, base_url: ${server.baseUrl}, ${data} }
image: { seq_len: 12, resolution: { height: 24 } }
paths: { raw_data: raw, processed_data: out, logs: logs }
runtime: { device: cpu }
${extra}`,
  );
  return dir;
}

async function serveCsv(symbol: string, csv: string): Promise<void> {
  const path = archivePath('spot', 'monthly', symbol, '1h', '2024-01');
  server.putArchive(path, await zipMembers([{ name: `${symbol}-1h-2024-01.csv`, data: csv }]));
}

const build = (cwd: string, ...args: string[]) => runCli(['build', '--quiet', '--config', 'config.yaml', ...args], cwd);
const outputsOf = (cwd: string) => (existsSync(join(cwd, 'out')) ? readdirSync(join(cwd, 'out')) : []);

describe('bad archives and empty results', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['empty', '', /EMPTYUSDT-1h-2024-01\.zip holds no candles \(an empty CSV, or a header row only\)/],
    ['headeronly', 'open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore\n', /holds no candles/],
    ['seconds', klinesCsv({ start: JAN, count: 744, intervalMs: HOUR }).csv.replace(/^(\d+)\d{3},/gm, '$1,'), /none of the 744 rows of SECONDSUSDT-1h-2024-01\.zip lies in its period 2024-01: .*it looks like seconds/],
  ];
  for (const [name, csv, message] of cases) {
    it(`${name} archive: exit 1 naming the archive, nothing written`, async () => {
      const cwd = project(name, 'source: binance, start_date: "2024-01", end_date: "2024-01"');
      await serveCsv(`${name.toUpperCase()}USDT`, csv);
      const r = await build(cwd);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, message);
      assert.deepEqual(outputsOf(cwd), []);
    });
  }

  it('rows of another month are counted and reported, not dropped silently', async () => {
    const cwd = project('stray', 'source: binance, start_date: "2024-01", end_date: "2024-01"');
    const jan = klinesCsv({ start: JAN, count: 744, intervalMs: HOUR }).csv;
    const feb = klinesCsv({ start: Date.UTC(2024, 1, 1), count: 3, intervalMs: HOUR }).csv;
    await serveCsv('STRAYUSDT', jan + feb);
    const r = await runCli(['build', '--json', '--config', 'config.yaml'], cwd);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /rows outside the archive's own period .*"rows":3/);
    const ds = await loadImagesFromStorage(JSON.parse(r.stdout).outputs[0], { indices: [] });
    assert.deepEqual(ds.metadata.skipped_rows, { malformed: 0, outside_period: 3, outside_range: 3, duplicates: 0, conflicts: 0 });
  });

  it('dates wholly in the future: exit 1 naming data.start_date', async () => {
    const cwd = project('future', 'source: sample, start_date: "2990-01", end_date: "2990-02"');
    const r = await build(cwd);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /No archive can exist yet for data\.start_date 2990-01-01 to data\.end_date 2990-02-28/);
    assert.deepEqual(outputsOf(cwd), []);
  });

  it('seq_len longer than the data: exit 1 naming image.seq_len', async () => {
    const cwd = project('short', 'source: sample, start_date: "2024-01-01", end_date: "2024-01-01"');
    const r = await build(cwd, '--set', 'image.seq_len=30');
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /image\.seq_len 30 is longer than the 24 candles/);
    assert.deepEqual(outputsOf(cwd), []);
  });

  it('a malformed row names data.on_malformed_row, which skips it; a bad cached archive is named', async () => {
    const cwd = project('malformed', 'source: binance, start_date: "2024-01", end_date: "2024-01"');
    const lines = klinesCsv({ start: JAN, count: 744, intervalMs: HOUR }).csv.split('\n');
    lines[5] = lines[5].replace(/^(\d+),[^,]+/, '$1,abc');
    await serveCsv('MALFORMEDUSDT', lines.join('\n'));
    const r = await build(cwd);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /line 6.*set data\.on_malformed_row to 'skip' to skip such rows/);
    // The archive passed its checksum, so it is cached; the re-run works offline and says which file.
    server.resetCounts();
    const again = await build(cwd);
    assert.equal(again.status, 1);
    assert.equal(server.requestCount(), 0);
    assert.match(again.stderr, /read from the cached copy .*raw\/data\/spot\/monthly\/klines\/MALFORMEDUSDT\/1h\/MALFORMEDUSDT-1h-2024-01\.zip/);
    const skipped = await build(cwd, '--set', 'data.on_malformed_row=skip');
    assert.equal(skipped.status, 0, skipped.stderr);
  });
});

describe('config problems caught with the config (exit 2, nothing written)', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['a NUL in a path', 'paths: { raw_data: raw, processed_data: "out\\0x", logs: logs }', /paths\.processed_data: must be a path without a NUL character/],
    ['a JPEG taller than 65,500 rows', 'image: { seq_len: 12, resolution: { height: 70000 }, storage: { format: jpeg } }', /image\.resolution\.height: expected at most 65500 rows for JPEG pictures but received 70000/],
    ['a JPEG wider than 65,500 pixels', 'image: { seq_len: 20000, resolution: { height: 24 }, storage: { format: jpeg } }', /image\.seq_len: expected at most 16375 bars for JPEG pictures/],
    ['an HDF5 image over 4 GiB', 'image: { seq_len: 12000, resolution: { height: 100000 } }', /image\.resolution\.height: expected an image under 4 GiB/],
  ];
  for (const [name, yaml, message] of cases) {
    it(name, async () => {
      const dir = join(root, `config-${name.replace(/\W+/g, '-')}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'config.yaml'), `data: { source: sample, start_date: "2024-01-01", end_date: "2024-01-01" }\n${yaml}\n`);
      const r = await runCli(['build', '--config', 'config.yaml'], dir);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.deepEqual(readdirSync(dir), ['config.yaml'], 'nothing written, not even a log');
    });
  }

  it('a config file that is not UTF-8 is refused, naming the byte', async () => {
    const dir = join(root, 'latin1');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.yaml'), Buffer.concat([Buffer.from('paths: { processed_data: "donn'), Buffer.from([0xe9]), Buffer.from('es" }\n')]));
    const r = await runCli(['build', '--config', 'config.yaml'], dir);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /config\.yaml\):\n  - not UTF-8 text: byte 30 \(0xe9\)/);
    assert.deepEqual(readdirSync(dir), ['config.yaml']);
  });
});
