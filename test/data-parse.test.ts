// The native kline CSV parser: Binance's format and quirks, numbers read exactly as Number()
// reads them, malformed rows named by line and field, and no crash whatever the bytes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OhlcError } from '../ts/errors.js';
import { parseKlinesCsv, parseKlinesCsvAsync, type ParsedKlines } from '../ts/data/parse.js';
import { HOUR, MINUTE, klinesCsv, type FixtureRow } from './helpers/klines-fixtures.js';
import { rng } from './helpers/random.js';

const T0 = Date.UTC(2024, 11, 31, 22, 0);
const ROW = '1700000000000,1.5,2.5,0.5,2,10,1700000059999,15,3,5,7.5,0';

function parse(csv: string | Buffer, skip = false): ParsedKlines {
  return parseKlinesCsv(Buffer.isBuffer(csv) ? csv : Buffer.from(csv), { name: 'TEST-1m-2024-01.zip', onMalformedRow: skip ? 'skip' : 'error' });
}

function assertRows(got: ParsedKlines, rows: FixtureRow[]): void {
  assert.equal(got.rows, rows.length);
  for (const f of ['openTime', 'open', 'high', 'low', 'close', 'volume', 'quoteVolume'] as const) {
    assert.deepEqual(Array.from(got[f]), rows.map((r) => r[f]), f);
  }
}

function malformed(csv: string, check: { line: number; field: string | null; message: RegExp }): void {
  assert.throws(
    () => parse(csv),
    (err: unknown) => {
      assert.ok(err instanceof OhlcError, `not an OhlcError: ${String(err)}`);
      const e = err as OhlcError & { file: string; line: number; field: string | null };
      assert.equal(e.code, 'ERR_OHLC_MALFORMED_ROW');
      assert.equal(e.file, 'TEST-1m-2024-01.zip');
      assert.equal(e.line, check.line);
      assert.equal(e.field, check.field);
      assert.match(e.message, /^TEST-1m-2024-01\.zip line \d+: /);
      assert.match(e.message, check.message);
      return true;
    },
  );
}

describe('parseKlines: the Binance format', () => {
  it('reads spot rows (no header, ms) into columns', () => {
    const f = klinesCsv({ start: Date.UTC(2020, 0, 1), count: 500, intervalMs: MINUTE });
    const got = parse(f.csv);
    assertRows(got, f.rows);
    assert.equal(got.header, false);
    assert.equal(got.microsecondRows, 0);
    assert.equal(got.skipped, 0);
    assert.equal(got.firstSkipped, null);
  });

  it('detects a header row per file (futures) and skips it', () => {
    const f = klinesCsv({ start: Date.UTC(2022, 8, 5), count: 50, intervalMs: MINUTE, header: true, decimals: 2 });
    const got = parse(f.csv);
    assert.equal(got.header, true);
    assertRows(got, f.rows);
  });

  it('normalises microsecond rows to ms, also when a file mixes units', () => {
    const micro = klinesCsv({ start: Date.UTC(2025, 0, 1), count: 30, intervalMs: MINUTE, micro: true });
    const got = parse(micro.csv);
    assert.equal(got.microsecondRows, 30);
    assertRows(got, micro.rows);
    const mixed = klinesCsv({ start: T0, count: 240, intervalMs: MINUTE, micro: (t) => t >= Date.UTC(2025, 0, 1) });
    const m = parse(mixed.csv);
    assert.equal(m.microsecondRows, 120);
    assertRows(m, mixed.rows);
  });

  it('accepts CRLF, a missing final newline, a BOM and blank lines', () => {
    const f = klinesCsv({ start: T0, count: 20, intervalMs: HOUR, crlf: true, trailingNewline: false });
    assertRows(parse(f.csv), f.rows);
    const g = klinesCsv({ start: T0, count: 20, intervalMs: HOUR });
    assertRows(parse(`\uFEFF${g.csv}\n\n`), g.rows);
    assertRows(parse(`\uFEFF${g.csv.replace(/\n/g, '\r\n')}`), g.rows);
  });

  it('returns no rows for an empty file, a lone header or a lone newline', () => {
    for (const csv of ['', '\n', '\r\n', 'open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore\n']) {
      const got = parse(csv);
      assert.equal(got.rows, 0, JSON.stringify(csv));
      assert.equal(got.openTime.length, 0);
    }
  });

  it('parses through the async variant on a worker thread', async () => {
    const f = klinesCsv({ start: Date.UTC(2021, 0, 1), count: 44_640, intervalMs: MINUTE });
    const got = await parseKlinesCsvAsync(Buffer.from(f.csv), { name: 'x.zip' });
    assertRows(got, f.rows);
    await assert.rejects(parseKlinesCsvAsync(Buffer.from('1,2\n'), { name: 'bad.zip' }), { code: 'ERR_OHLC_MALFORMED_ROW', line: 1 });
  });

  it('honours an AbortSignal in the async variant', async () => {
    const f = klinesCsv({ start: Date.UTC(2021, 0, 1), count: 44_640, intervalMs: MINUTE });
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(parseKlinesCsvAsync(Buffer.from(f.csv), { name: 'x.zip', signal: ac.signal }), { name: 'AbortError' });
    const ac2 = new AbortController();
    const p = parseKlinesCsvAsync(Buffer.from(f.csv), { name: 'x.zip', signal: ac2.signal });
    ac2.abort();
    await assert.rejects(p, { name: 'AbortError' });
  });
});

describe('parseKlines: numbers as Number() reads them', () => {
  function decimalStrings(rand: () => number, n: number): string[] {
    const digits = (k: number) => Array.from({ length: k }, () => Math.floor(rand() * 10)).join('');
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const intPart = digits(1 + Math.floor(rand() * 12));
      const frac = digits(Math.floor(rand() * 22));
      const form = Math.floor(rand() * 6);
      let s = form === 0 ? intPart : form === 1 ? `${intPart}.${frac}` : form === 2 ? `.${frac || '5'}` : form === 3 ? `${intPart}.` : `${intPart}.${frac}e${rand() < 0.5 ? '-' : '+'}${Math.floor(rand() * 30)}`;
      if (form === 5) s = (rand() * 10 ** (rand() * 20 - 10)).toPrecision(1 + Math.floor(rand() * 21));
      if (rand() < 0.15) s = `-${s}`;
      if (rand() < 0.05 && !s.startsWith('-')) s = `+${s}`;
      out.push(s);
    }
    // Halfway cases and the classic hard ones.
    out.push('9007199254740993', '0.1', '0.30000000000000004', '2.2250738585072011e-308', '1.7976931348623157e308', '4.9e-324', '123456789012345678901234567890', '0.000000000000000000000000000001', '-0', '1E5', '1.e3');
    return out;
  }

  it('reads 20,000 random decimal strings bit-for-bit like Number()', () => {
    const strings = decimalStrings(rng(7), 20_000);
    const csv = strings.map((s, i) => `${1_600_000_000_000 + i * 60_000},${s},${s},${s},${s},${s},1,${s},1,1,1,0`).join('\n');
    const got = parse(csv);
    assert.equal(got.rows, strings.length);
    for (let i = 0; i < strings.length; i++) {
      const want = Number(strings[i]);
      for (const f of ['open', 'high', 'low', 'close', 'volume', 'quoteVolume'] as const) {
        assert.ok(Object.is(got[f][i], want), `${f} of ${JSON.stringify(strings[i])}: got ${got[f][i]}, Number() gives ${want}`);
      }
    }
  });

  it('reads the fast path and its edges exactly: up to 19 digits, 2^53, 22 decimals, 8-digit runs', () => {
    const rand = rng(11);
    const digits = (k: number) => Array.from({ length: k }, () => Math.floor(rand() * 10)).join('');
    const strings: string[] = [];
    for (let total = 1; total <= 21; total++) {
      for (let frac = 0; frac <= Math.min(total, 23); frac++) {
        for (let k = 0; k < 12; k++) {
          const d = digits(total);
          strings.push(frac === 0 ? d : `${d.slice(0, total - frac)}.${d.slice(total - frac)}`);
        }
      }
    }
    strings.push('9007199254740992', '9007199254740993', '900719925474099.3', '0.9007199254740993', '90071992547409.92', '12345678.12345678', '00000000000000000001.5', '1.0000000000000000000000', '0.0000000000000000000001', '99999999.99999999', '-0.00000000', '+12345678.87654321');
    const csv = strings.map((s, i) => `${1_600_000_000_000 + i * 60_000},${s},${s},${s},${s},${s},1,${s},1,1,1,0`).join('\n');
    const got = parse(csv);
    assert.equal(got.rows, strings.length);
    for (let i = 0; i < strings.length; i++) {
      const want = Number(strings[i]);
      for (const f of ['open', 'volume', 'quoteVolume'] as const) assert.ok(Object.is(got[f][i], want), `${f} of ${JSON.stringify(strings[i])}: got ${got[f][i]}, Number() gives ${want}`);
    }
  });

  it('refuses what is not a finite decimal (Binance never writes these)', () => {
    for (const bad of ['inf', 'nan', 'Infinity', '-Infinity', 'NaN', '0x10', ' 1', '1 ', '1e', '1e+', '--1', '+-1', '1..2', 'e5', '.', '-', '+', '1,5e', '1e999', '١']) {
      const row = `1700000000000,${bad},2,1,2,10,1700000059999,15,3,5,7.5,0`;
      assert.throws(() => parse(`${ROW}\n${row}\n`), { code: 'ERR_OHLC_MALFORMED_ROW', line: 2 }, JSON.stringify(bad));
    }
  });
});

describe('parseKlines: malformed rows', () => {
  it('names the archive, line and field', () => {
    malformed(`${ROW}\n${ROW}\n1700000000000,1.5,abc,0.5,2,10,1700000059999,15,3,5,7.5,0\n`, { line: 3, field: 'high', message: /field 'high' is not a number: "abc"/ });
    malformed(`${ROW}\n1700000000000,1.5,2.5,,2,10,1700000059999,15,3,5,7.5,0\n`, { line: 2, field: 'low', message: /field 'low' is empty/ });
    malformed(`${ROW}\n1700000000000,1.5,2.5,0.5,2,10,1700000059999\n`, { line: 2, field: 'quote_asset_volume', message: /expected 12 columns but found 7/ });
    malformed(`${ROW}\n${ROW},0\n`, { line: 2, field: 'ignore', message: /expected 12 columns but found 13/ });
    malformed(`${ROW}\n${ROW.replace(/,0$/, ',x')}\n`, { line: 2, field: 'ignore', message: /field 'ignore' is not a number/ });
    malformed(`${ROW}\n${ROW.replace(',15,', ',1.5.0,')}\n`, { line: 2, field: 'quote_asset_volume', message: /field 'quote_asset_volume' is not a number: "1\.5\.0"/ });
    malformed(`${ROW}\n${ROW.replace(',15,', ',,')}\n`, { line: 2, field: 'quote_asset_volume', message: /field 'quote_asset_volume' is empty/ });
    malformed(`${ROW}\n${ROW.replace(',15,', ',1e999,')}\n`, { line: 2, field: 'quote_asset_volume', message: /not a number/ });
    malformed(`${ROW}\n${ROW.replace(',3,', ',3.x,')}\n`, { line: 2, field: 'number_of_trades', message: /not a number/ });
    malformed(`${ROW}\n1700000000000.5,1,2,1,2,10,1,15,3,5,7.5,0\n`, { line: 2, field: 'open_time', message: /not a timestamp/ });
    malformed(`${ROW}\n-5,1,2,1,2,10,1,15,3,5,7.5,0\n`, { line: 2, field: 'open_time', message: /not a timestamp/ });
    // A first line of garbage is not taken for a header.
    malformed(`\x00\x01,2\n${ROW}\n`, { line: 1, field: 'open_time', message: /not a number: "\\x00\\x01"/ });
  });

  it('counts header and blank lines in line numbers', () => {
    malformed(`open_time,open,high,low,close,volume,close_time,a,b,c,d,ignore\r\n${ROW}\r\n\r\n1,2\r\n`, { line: 4, field: 'high', message: /found 2 \(field 'high' is missing\)/ });
  });

  it("skips and counts them with onMalformedRow: 'skip'", () => {
    const f = klinesCsv({ start: T0, count: 10, intervalMs: MINUTE });
    const lines = f.csv.trimEnd().split('\n');
    lines.splice(3, 0, '1,2,3');
    lines.splice(7, 0, lines[6].replace(/^(\d+),[^,]+/, '$1,oops'));
    const got = parse(lines.join('\n'), true);
    assertRows(got, f.rows);
    assert.equal(got.skipped, 2);
    assert.deepEqual(got.firstSkipped, { line: 4, field: 'low', message: "expected 12 columns but found 3 (field 'low' is missing)" });
  });

  it('never crashes on arbitrary bytes or mutated files', () => {
    const rand = rng(99);
    const base = Buffer.from(klinesCsv({ start: T0, count: 40, intervalMs: MINUTE, header: true }).csv);
    const specials = [0, 10, 13, 44, 45, 46, 43, 101, 48, 57, 0xff, 0xef, 0x80];
    for (let iter = 0; iter < 3000; iter++) {
      let buf: Buffer;
      if (iter % 3 === 0) {
        buf = Buffer.alloc(Math.floor(rand() * 400));
        for (let i = 0; i < buf.length; i++) buf[i] = rand() < 0.5 ? specials[Math.floor(rand() * specials.length)] : Math.floor(rand() * 256);
      } else {
        buf = Buffer.from(base.subarray(0, Math.floor(rand() * (base.length + 1))));
        const edits = 1 + Math.floor(rand() * 8);
        for (let e = 0; e < edits && buf.length > 0; e++) buf[Math.floor(rand() * buf.length)] = specials[Math.floor(rand() * specials.length)];
      }
      for (const skip of [false, true]) {
        try {
          const got = parse(buf, skip);
          assert.equal(got.openTime.length, got.rows);
        } catch (err) {
          assert.equal((err as OhlcError).code, 'ERR_OHLC_MALFORMED_ROW', String(err));
          assert.equal(skip, false);
        }
      }
    }
  });
});
