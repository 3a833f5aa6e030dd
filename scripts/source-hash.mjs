// The SHA-256 that identifies a build of native/: must match cmake/source-hash.cmake.
// Every file under native/ (dot-files excluded) and CMakeLists.txt, as "path sha256\n" lines
// sorted by path, hashed together.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

function walk(dir, out) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) walk(full, out);
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

/** Hash of the native sources under `root`, or null where they are not shipped. */
export function nativeSourceHash(root) {
  const nativeDir = join(root, 'native');
  if (!existsSync(nativeDir) || !existsSync(join(root, 'CMakeLists.txt'))) return null;
  const files = walk(nativeDir, []).map((f) => relative(root, f).split(sep).join('/'));
  files.push('CMakeLists.txt');
  files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let manifest = '';
  for (const f of files) {
    const h = createHash('sha256').update(readFileSync(join(root, f))).digest('hex');
    manifest += `${f} ${h}\n`;
  }
  return createHash('sha256').update(manifest).digest('hex');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(nativeSourceHash(process.argv[2] ?? join(fileURLToPath(import.meta.url), '..', '..')));
}
