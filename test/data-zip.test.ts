// Reading the CSV member of an archive in memory: one .csv member, ZIP bombs refused, corrupt
// archives reported, nothing written to disk whatever the member is called.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { csvByteLimit } from '../ts/data/archive.js';
import { readCsvMember } from '../ts/data/zip.js';
import { cacheListing } from './helpers/cache-check.js';
import { tempDir } from './helpers/data-env.js';
import { zipMembers } from './helpers/klines-fixtures.js';

const CAP = 1 << 20;

async function rejectsZip(data: Buffer, code: string, message: RegExp, cap = CAP): Promise<void> {
  await assert.rejects(readCsvMember('X-1m-2024-01.zip', data, cap), (err: Error & { code?: string }) => {
    assert.equal(err.code, code, err.message);
    assert.match(err.message, /^X-1m-2024-01\.zip/);
    assert.match(err.message, message);
    return true;
  });
}

/** Sets every size field of the archive's first member to `size` (local and central headers). */
function patchDeclaredSize(zip: Buffer, size: number): Buffer {
  const out = Buffer.from(zip);
  for (let i = 0; i + 4 <= out.length; i++) {
    const sig = out.readUInt32LE(i);
    if (sig === 0x04034b50) out.writeUInt32LE(size, i + 22);
    if (sig === 0x02014b50) out.writeUInt32LE(size, i + 24);
  }
  return out;
}

describe('readCsvMember', () => {
  it('returns the single .csv member', async () => {
    const zip = await zipMembers([{ name: 'X-1m-2024-01.csv', data: '1,2,3\n' }]);
    const m = await readCsvMember('X-1m-2024-01.zip', zip, CAP);
    assert.equal(m.name, 'X-1m-2024-01.csv');
    assert.equal(m.csv.toString(), '1,2,3\n');
  });

  it('ignores directory entries', async () => {
    const zip = await zipMembers([{ name: 'dir/', data: '' }, { name: 'dir/a.csv', data: 'x' }]);
    assert.equal((await readCsvMember('X-1m-2024-01.zip', zip, CAP)).csv.toString(), 'x');
  });

  it('wants exactly one member, a .csv', async () => {
    await rejectsZip(await zipMembers([{ name: 'a.csv', data: '1' }, { name: 'b.csv', data: '2' }]), 'ERR_OHLC_ZIP', /exactly one \.csv member, found 2 members: "a\.csv", "b\.csv"/);
    await rejectsZip(await zipMembers([{ name: 'a.csv', data: '1' }, { name: 'README.txt', data: '2' }]), 'ERR_OHLC_ZIP', /found 2 members/);
    await rejectsZip(await zipMembers([{ name: 'a.txt', data: '1' }]), 'ERR_OHLC_ZIP', /found 1 member: "a\.txt"/);
    await rejectsZip(await zipMembers([]), 'ERR_OHLC_ZIP', /found 0 members: none/);
  });

  it('refuses a member declaring more than the period can hold, before inflating it', async () => {
    const bomb = await zipMembers([{ name: 'a.csv', data: Buffer.alloc(4 << 20, 0x31) }]);
    assert.ok(bomb.length < 64 << 10, 'highly compressible');
    await rejectsZip(bomb, 'ERR_OHLC_ZIP_BOMB', /declares 4194304 bytes, more than the 1048576/);
    // The caps follow the interval and period: a day of 1d candles is tiny, a month of 1s is not.
    assert.ok(csvByteLimit('1d', { granularity: 'daily' }) < 100 << 10);
    assert.ok(csvByteLimit('1s', { granularity: 'monthly' }) > 2_678_400 * 150);
  });

  it('stops inflating at the cap when the header lies about the size', async () => {
    const liar = patchDeclaredSize(await zipMembers([{ name: 'a.csv', data: Buffer.alloc(4 << 20, 0x31) }]), 100);
    await assert.rejects(readCsvMember('X-1m-2024-01.zip', liar, CAP), (err: Error & { code?: string }) => {
      assert.ok(err.code === 'ERR_OHLC_ZIP' || err.code === 'ERR_OHLC_ZIP_BOMB', String(err));
      return true;
    });
  });

  it('reports corrupt data: garbage, truncation, a flipped byte', async () => {
    const zip = await zipMembers([{ name: 'a.csv', data: '1700000000000,1,2,0.5,1.5,10,1,15,3,5,7.5,0\n'.repeat(200) }]);
    await rejectsZip(Buffer.from('this is not a zip file at all, not even close'), 'ERR_OHLC_ZIP', /not a usable kline archive/);
    await rejectsZip(zip.subarray(0, zip.length - 30), 'ERR_OHLC_ZIP', /not a usable kline archive/);
    const flipped = Buffer.from(zip);
    flipped[60] ^= 0xff; // inside the deflated data
    await rejectsZip(flipped, 'ERR_OHLC_ZIP', /not a usable kline archive/);
  });

  it('never writes a member to disk, whatever its name', async () => {
    const dir = tempDir();
    const cwd = process.cwd();
    try {
      process.chdir(dir.dir);
      const zip = await zipMembers([{ name: 'aaaaa.csv', data: 'x' }]);
      // yazl refuses to write "../" names, so patch one in (same length).
      const evil = Buffer.from(zip.toString('latin1').replaceAll('aaaaa.csv', '../ev.csv'), 'latin1');
      try {
        const m = await readCsvMember('X-1m-2024-01.zip', evil, CAP);
        assert.equal(m.csv.toString(), 'x');
      } catch (err) {
        assert.equal((err as { code?: string }).code, 'ERR_OHLC_ZIP');
      }
      assert.deepEqual(cacheListing(dir.dir), []);
    } finally {
      process.chdir(cwd);
      dir.remove();
    }
  });
});
