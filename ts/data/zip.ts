// Reads the one CSV member of a kline archive, in memory (yauzl.fromBuffer): nothing is ever
// extracted to disk, so a member name cannot steer a write. A member declaring more bytes than
// the period can hold is refused before inflating (a ZIP bomb), inflation stops at that cap
// whatever the header says, and the inflated bytes must match the member's size and CRC-32.
import { promisify } from 'node:util';
import { crc32, inflateRaw as inflateRawCallback } from 'node:zlib';
import yauzl from 'yauzl';
import { OhlcError } from '../errors.js';

export interface CsvMember {
  name: string;
  csv: Buffer;
}

/** A kline archive holds one member; anything with many entries is not one. */
const MAX_ENTRIES = 16;

const inflateRaw = promisify(inflateRawCallback);

function zipError(archive: string, detail: string, cause?: unknown): OhlcError {
  return new OhlcError('ERR_OHLC_ZIP', `${archive} is not a usable kline archive: ${detail}`, { cause });
}

function openZip(archive: string, data: Buffer): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(data, { lazyEntries: true, validateEntrySizes: true, strictFileNames: false }, (err, zip) => {
      if (err || !zip) reject(zipError(archive, err?.message ?? 'unreadable', err));
      else resolve(zip);
    });
  });
}

function listEntries(archive: string, zip: yauzl.ZipFile): Promise<yauzl.Entry[]> {
  return new Promise((resolve, reject) => {
    const entries: yauzl.Entry[] = [];
    zip.on('entry', (entry: yauzl.Entry) => {
      entries.push(entry);
      if (entries.length > MAX_ENTRIES) {
        zip.close();
        reject(zipError(archive, `more than ${MAX_ENTRIES} members`));
      } else zip.readEntry();
    });
    zip.once('end', () => resolve(entries));
    zip.once('error', (err: Error) => reject(zipError(archive, err.message, err)));
    zip.readEntry();
  });
}

/**
 * The member's bytes, inflated in one zlib call on the thread pool. yauzl locates the data; zlib's
 * maxOutputLength stops inflation at the cap, whatever the headers claim.
 */
async function inflate(archive: string, zip: yauzl.ZipFile, data: Buffer, entry: yauzl.Entry, maxBytes: number): Promise<Buffer> {
  if (entry.isEncrypted()) throw zipError(archive, `${entry.fileName} is encrypted`);
  let start: number;
  try {
    start = (await zip.readLocalFileHeaderPromise(entry, { minimal: true })).fileDataStart;
  } catch (err) {
    throw zipError(archive, (err as Error).message, err);
  }
  const end = start + entry.compressedSize;
  if (end > data.length) throw zipError(archive, `${entry.fileName} runs past the end of the archive (truncated)`);
  const raw = data.subarray(start, end);
  if (entry.compressionMethod === 0) return raw;
  if (entry.compressionMethod !== 8) throw zipError(archive, `${entry.fileName} uses compression method ${entry.compressionMethod}, not deflate`);
  try {
    return await inflateRaw(raw, { maxOutputLength: Math.max(1, maxBytes) });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new OhlcError('ERR_OHLC_ZIP_BOMB', `${archive}: ${entry.fileName} inflates past ${maxBytes} bytes; refusing it`);
    }
    throw zipError(archive, `${entry.fileName}: ${(err as Error).message}`, err);
  }
}

/**
 * The single .csv member of `data`, inflated. `maxBytes` is the most a genuine member can hold
 * (from the interval and the period); larger declared or actual sizes are refused.
 */
export async function readCsvMember(archive: string, data: Buffer, maxBytes: number): Promise<CsvMember> {
  const zip = await openZip(archive, data);
  const files = (await listEntries(archive, zip)).filter((e) => !e.fileName.endsWith('/'));
  const csvs = files.filter((e) => e.fileName.toLowerCase().endsWith('.csv'));
  if (files.length !== 1 || csvs.length !== 1) {
    const names = files.map((e) => JSON.stringify(e.fileName)).join(', ') || 'none';
    throw zipError(archive, `expected exactly one .csv member, found ${files.length} member${files.length === 1 ? '' : 's'}: ${names}`);
  }
  const entry = csvs[0];
  if (entry.uncompressedSize > maxBytes) {
    throw new OhlcError(
      'ERR_OHLC_ZIP_BOMB',
      `${archive}: ${entry.fileName} declares ${entry.uncompressedSize} bytes, more than the ${maxBytes} its period can hold; refusing to inflate it`,
    );
  }
  const csv = await inflate(archive, zip, data, entry, maxBytes);
  if (csv.length !== entry.uncompressedSize) throw zipError(archive, `${entry.fileName} inflates to ${csv.length} bytes, not the ${entry.uncompressedSize} it declares`);
  if ((crc32(csv) >>> 0) !== entry.crc32 >>> 0) throw zipError(archive, `${entry.fileName} fails its CRC-32 check (corrupt data)`);
  return { name: entry.fileName, csv };
}
