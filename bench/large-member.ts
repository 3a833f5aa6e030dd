// Peak memory and time of parsing one large ZIP member (a month of 1s candles: ~2.6 million rows,
// ~350 MB of CSV in a ~100 MB ZIP) whole (libdeflate into one buffer, then the parser) and in
// slices (zlib's streaming inflate into the incremental parser), each in a fresh child process
// whose peak RSS (VmHWM) bench/rss-probe.mjs reports.
//   node --import tsx bench/large-member.ts [YYYY-MM]
// The archive is generated once into the OS temp folder (synthetic BTCUSDT, as the sample writes it).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expectedRows } from '../ts/data/archive.js';
import { archiveRef } from '../ts/data/binance.js';
import { nextMonthStart } from '../ts/data/dates.js';
import { parseKlinesMemberAsync, STREAM_SLICE_BYTES } from '../ts/data/parse.js';
import { buildSyntheticArchive } from '../ts/data/sample.js';
import { locateCsvMember } from '../ts/data/zip.js';

const self = fileURLToPath(import.meta.url);
const probe = fileURLToPath(new URL('./rss-probe.mjs', import.meta.url));

async function child(mode: 'read' | 'whole' | 'sliced', zipPath: string, period: string): Promise<void> {
  const zip = readFileSync(zipPath);
  const ref = archiveRef('spot', 'BTCUSDT', '1s', 'monthly', period);
  const member = await locateCsvMember(ref.name, zip, 1 << 30);
  let rows = 0;
  const t0 = performance.now();
  if (mode !== 'read') {
    const parsed = await parseKlinesMemberAsync(zip, member, { name: ref.name, sliceBytes: mode === 'whole' ? 0 : STREAM_SLICE_BYTES, expectedRows: expectedRows('1s', ref) });
    rows = parsed.rows;
  }
  const ms = performance.now() - t0;
  process.stdout.write(JSON.stringify({ rows, ms, zipBytes: zip.length, csvBytes: member.uncompressedSize }));
}

function runChild(mode: string, zipPath: string, period: string): { rows: number; ms: number; zipBytes: number; csvBytes: number; peakRss: number } {
  const dir = mkdtempSync(join(tmpdir(), 'ohlc-rss-'));
  try {
    const file = join(dir, 'probe.json');
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--import', probe, self, 'child', mode, zipPath, period], {
      env: { ...process.env, OHLC_BENCH_PROBE_FILE: file },
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    });
    return { ...JSON.parse(out), ...JSON.parse(readFileSync(file, 'utf8')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const [, , first, ...rest] = process.argv;
if (first === 'child') {
  await child(rest[0] as 'read' | 'whole' | 'sliced', rest[1], rest[2]);
} else {
  const period = first ?? '2023-01';
  const start = Date.parse(`${period}-01T00:00:00Z`);
  const zipPath = join(tmpdir(), `ohlc-bench-BTCUSDT-1s-${period}.zip`);
  if (!existsSync(zipPath)) {
    console.error(`generating ${zipPath} (a month of 1s candles; a minute or two)`);
    const ref = archiveRef('spot', 'BTCUSDT', '1s', 'monthly', period);
    const built = await buildSyntheticArchive('spot', 'BTCUSDT', '1s', ref, start, nextMonthStart(start));
    writeFileSync(zipPath, built.zip);
  }
  const mb = (b: number) => (b / 2 ** 20).toFixed(0);
  console.log(`# Large member: BTCUSDT 1s ${period}, Node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}`);
  const runs = { read: runChild('read', zipPath, period), whole: runChild('whole', zipPath, period), sliced: runChild('sliced', zipPath, period) };
  const { rows, zipBytes, csvBytes } = runs.whole;
  console.log(`${rows} rows, ${mb(csvBytes)} MiB of CSV in a ${mb(zipBytes)} MiB ZIP; the columns (7 x float64) are ${mb(rows * 7 * 8)} MiB`);
  console.log('| path | peak RSS MiB | above reading the ZIP, MiB | parse ms |');
  console.log('| --- | ---: | ---: | ---: |');
  console.log(`| read the ZIP and locate the member only (the floor) | ${mb(runs.read.peakRss)} | 0 | - |`);
  console.log(`| whole: libdeflate into one buffer, then parse | ${mb(runs.whole.peakRss)} | ${mb(runs.whole.peakRss - runs.read.peakRss)} | ${runs.whole.ms.toFixed(0)} |`);
  console.log(`| sliced: zlib streaming inflate, ${mb(STREAM_SLICE_BYTES)} MiB slices, incremental parser | ${mb(runs.sliced.peakRss)} | ${mb(runs.sliced.peakRss - runs.read.peakRss)} | ${runs.sliced.ms.toFixed(0)} |`);
  if (runs.sliced.rows !== rows) throw new Error('the two paths parsed different row counts');
}
