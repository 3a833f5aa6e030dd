// Reads the one CSV member of a kline archive, in memory or from its file: yauzl reads the ZIP
// structure (yauzl.fromBuffer, or yauzl.open for a file too large to hold) and the addon inflates the member (libdeflate, native/kernels/zip_member)
// on a worker thread. Nothing is ever extracted to disk, so a member name cannot steer a write. A
// member declaring more bytes than the period can hold is refused before inflating (a ZIP bomb);
// inflation writes into exactly the declared size, so a lying header cannot make it write more,
// and the inflated bytes must match the member's size and CRC-32.
import yauzl from 'yauzl';
import { ErrorCode, OhlcError } from '../errors.js';
import { native } from '../native/load.js';
import { runNativeTask } from '../native/task.js';
import type { NativeZipMember } from '../native/addon.js';

export interface CsvMember {
  name: string;
  csv: Buffer;
}

/** Where a member's data lies in its archive and what it declares: all the inflater needs. */
export type ZipMember = NativeZipMember;

/** A kline archive holds one member; anything with many entries is not one. */
const MAX_ENTRIES = 16;

function zipError(archive: string, detail: string, cause?: unknown): OhlcError {
  return new OhlcError(ErrorCode.zip, `${archive} is not a usable kline archive: ${detail}`, { cause });
}

/** An archive for locateCsvMember: its bytes, or its file (of `size` bytes). */
export type ZipSource = Buffer | { file: string; size: number };

function openZip(archive: string, source: ZipSource): Promise<yauzl.ZipFile> {
  const options = { lazyEntries: true, validateEntrySizes: true, strictFileNames: false, autoClose: false };
  return new Promise((resolve, reject) => {
    const opened = (err: Error | null, zip?: yauzl.ZipFile) => {
      if (err || !zip) reject(zipError(archive, err?.message ?? 'unreadable', err));
      else resolve(zip);
    };
    if (Buffer.isBuffer(source)) yauzl.fromBuffer(source, options, opened);
    else yauzl.open(source.file, options, opened);
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
 * The single .csv member of `source`, located and checked but not inflated. `maxBytes` is the most a
 * genuine member can hold (from the interval and the period); a member declaring more is refused
 * here, before anything is inflated.
 */
export async function locateCsvMember(archive: string, source: ZipSource, maxBytes: number): Promise<ZipMember> {
  const zip = await openZip(archive, source);
  try {
    return await locateIn(archive, zip, Buffer.isBuffer(source) ? source.length : source.size, maxBytes);
  } finally {
    zip.close();
  }
}

async function locateIn(archive: string, zip: yauzl.ZipFile, archiveBytes: number, maxBytes: number): Promise<ZipMember> {
  const files = (await listEntries(archive, zip)).filter((e) => !e.fileName.endsWith('/'));
  const csvs = files.filter((e) => e.fileName.toLowerCase().endsWith('.csv'));
  if (files.length !== 1 || csvs.length !== 1) {
    const names = files.map((e) => JSON.stringify(e.fileName)).join(', ') || 'none';
    throw zipError(archive, `expected exactly one .csv member, found ${files.length} member${files.length === 1 ? '' : 's'}: ${names}`);
  }
  const entry = csvs[0];
  if (entry.uncompressedSize > maxBytes) {
    throw new OhlcError(
      ErrorCode.zipBomb,
      `${archive}: ${entry.fileName} declares ${entry.uncompressedSize} bytes, more than the ${maxBytes} its period can hold; refusing to inflate it`,
    );
  }
  if (entry.isEncrypted()) throw zipError(archive, `${entry.fileName} is encrypted`);
  if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
    throw zipError(archive, `${entry.fileName} uses compression method ${entry.compressionMethod}, not deflate`);
  }
  let offset: number;
  try {
    offset = (await zip.readLocalFileHeaderPromise(entry, { minimal: true })).fileDataStart;
  } catch (err) {
    throw zipError(archive, (err as Error).message, err);
  }
  if (offset + entry.compressedSize > archiveBytes) throw zipError(archive, `${entry.fileName} runs past the end of the archive (truncated)`);
  return {
    archive,
    name: entry.fileName,
    offset,
    compressedSize: entry.compressedSize,
    uncompressedSize: entry.uncompressedSize,
    crc32: entry.crc32 >>> 0,
    method: entry.compressionMethod,
  };
}

/**
 * The member's bytes, inflated by the addon on a worker thread into a Buffer of exactly the
 * declared size and checked against its CRC-32. `data` must not change until this settles.
 */
export function inflateMember(data: Buffer, member: ZipMember): Promise<Buffer> {
  return runNativeTask<Buffer>((done) => native().inflateMemberAsync(data, member, done), { lend: [data] });
}

/**
 * Inflates the member slice by slice and checks its size and CRC-32, keeping nothing (a large
 * member, proven intact before its archive is cached). `data` must not change until this settles.
 */
export function verifyMember(data: Buffer, member: ZipMember, sliceBytes: number, signal?: AbortSignal): Promise<void> {
  return runNativeTask((done) => native().verifyMemberAsync(data, member, sliceBytes, done), { lend: [data], signal });
}

/**
 * The single .csv member of `data`, inflated. `maxBytes` is the most a genuine member can hold
 * (from the interval and the period); larger declared sizes are refused before inflating.
 */
export async function readCsvMember(archive: string, data: Buffer, maxBytes: number): Promise<CsvMember> {
  const member = await locateCsvMember(archive, data, maxBytes);
  return { name: member.name, csv: await inflateMember(data, member) };
}
