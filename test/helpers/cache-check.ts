// Cache invariants the data layer promises: no temporary files, and every archive under its
// final name sits beside a .CHECKSUM it matches.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(full));
    else out.push(full);
  }
  return out;
}

/** Relative paths of the files in `dir`, sorted. */
export function cacheListing(dir: string): string[] {
  return listFiles(dir)
    .map((f) => relative(dir, f).split('\\').join('/'))
    .sort();
}

export function assertCacheClean(dir: string): void {
  for (const file of listFiles(dir)) {
    assert.ok(!/\.partial$|\.tmp$/.test(file), `temporary file left behind: ${file}`);
    if (file.endsWith('.zip')) {
      const sumPath = `${file}.CHECKSUM`;
      assert.ok(existsSync(sumPath), `${file} has no .CHECKSUM beside it`);
      const expected = readFileSync(sumPath, 'utf8').trim().split(/\s+/)[0];
      const actual = createHash('sha256').update(readFileSync(file)).digest('hex');
      assert.equal(actual, expected, `${file} is cached under its final name but does not match its checksum`);
    }
  }
}
