// Build invariants: the source hash embedded in the addon (cmake/source-hash.cmake) agrees with
// scripts/source-hash.mjs; the loaded addon and the linux-x64 prebuild were built from the native/
// sources beside them; the loader refuses a binary built from other sources; scripts/install.mjs
// builds from source instead of using such a prebuild. Quick: no compiling; what needs a built addon
// or a prebuild is skipped when there is none.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { nativeSourceHash } from '../scripts/source-hash.mjs';
import { addonPath, loadAddonFrom, packageRoot, type NativeAddon } from '../ts/native/load.js';

const require = createRequire(import.meta.url);
const PREBUILD_NAME = 'ohlc-native.napi.glibc.node';
const prebuildDir = join(packageRoot, 'prebuilds', 'linux-x64');
const prebuildPath = join(prebuildDir, PREBUILD_NAME);
const onLinuxX64 = process.platform === 'linux' && process.arch === 'x64';
const hasPrebuild = onLinuxX64 && existsSync(prebuildPath);

interface InstallDecision {
  action: 'prebuild' | 'build';
  path?: string;
  reason?: string;
}
type DecideInstall = (root: string, env?: NodeJS.ProcessEnv) => InstallDecision;

function has(command: string): boolean {
  return spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** The development build node-gyp-build resolves for this package (build/Release first), if any. */
function devAddonPath(): string | null {
  try {
    return addonPath();
  } catch {
    return null;
  }
}

/** The embedded hash of a binary, loaded without the loader's check. */
function embeddedHash(path: string): string {
  return (require(path) as NativeAddon).info().sourceHash;
}

let tmp: string;
let tmpCount = 0;
before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'ohlc-native-build-'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * A package-like copy: CMakeLists.txt, native/, scripts/source-hash.mjs and, when given, a binary as
 * its linux-x64 prebuild (with the shared libraries bundled beside it, when it comes from there).
 */
function fakePackage(binary?: string): string {
  const root = join(tmp, `pkg-${tmpCount++}`);
  mkdirSync(join(root, 'scripts'), { recursive: true });
  copyFileSync(join(packageRoot, 'CMakeLists.txt'), join(root, 'CMakeLists.txt'));
  cpSync(join(packageRoot, 'native'), join(root, 'native'), { recursive: true });
  copyFileSync(join(packageRoot, 'scripts', 'source-hash.mjs'), join(root, 'scripts', 'source-hash.mjs'));
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'ohlc-native', private: true, type: 'module' }));
  if (binary) {
    const dir = join(root, 'prebuilds', 'linux-x64');
    mkdirSync(dir, { recursive: true });
    copyFileSync(binary, join(dir, PREBUILD_NAME));
    for (const f of readdirSync(dirname(binary))) {
      if (/\.so(\.\d+)*$/.test(f)) copyFileSync(join(dirname(binary), f), join(dir, f));
    }
  }
  return root;
}

/** Changes one native source file of a fake package (a comment: the binary itself is unaffected). */
function touchNativeSource(root: string): void {
  appendFileSync(join(root, 'native', 'kernels', 'raster.hpp'), '\n// changed after the build\n');
}

/** A built binary to put into fake packages: the prebuild, else the development build. */
function anyBinary(): string | null {
  if (hasPrebuild) return prebuildPath;
  return onLinuxX64 ? devAddonPath() : null;
}

function cmakeHash(root: string): string {
  const out = join(tmp, `hash-${tmpCount++}.h`);
  const r = spawnSync('cmake', [`-DSOURCE_DIR=${root}`, `-DOUTPUT=${out}`, '-P', join(packageRoot, 'cmake', 'source-hash.cmake')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const m = /#define OHLC_SOURCE_HASH "([0-9a-f]{64})"/.exec(readFileSync(out, 'utf8'));
  assert.ok(m, 'the generated header defines OHLC_SOURCE_HASH');
  return m[1];
}

describe('source hash', () => {
  it('scripts/source-hash.mjs equals cmake/source-hash.cmake (the hash compiled into the addon)', { skip: !has('cmake') && 'no cmake' }, () => {
    assert.equal(nativeSourceHash(packageRoot), cmakeHash(packageRoot));
    // Nested files, names needing sorting, and dot-files (excluded by both).
    const root = fakePackage();
    mkdirSync(join(root, 'native', 'z', 'deeper'), { recursive: true });
    writeFileSync(join(root, 'native', 'z', 'deeper', 'A.cpp'), 'int a;\n');
    writeFileSync(join(root, 'native', '.clang-format'), 'BasedOnStyle: Google\n');
    mkdirSync(join(root, 'native', '.cache'));
    writeFileSync(join(root, 'native', '.cache', 'x'), 'x');
    assert.equal(nativeSourceHash(root), cmakeHash(root));
  });

  it('changes with any native file or CMakeLists.txt, not with dot-files or files elsewhere', () => {
    const root = fakePackage();
    const base = nativeSourceHash(root);
    assert.match(base ?? '', /^[0-9a-f]{64}$/);
    writeFileSync(join(root, 'native', '.notes'), 'scratch');
    writeFileSync(join(root, 'README.md'), 'docs');
    assert.equal(nativeSourceHash(root), base);
    touchNativeSource(root);
    const changed = nativeSourceHash(root);
    assert.notEqual(changed, base);
    appendFileSync(join(root, 'CMakeLists.txt'), '\n');
    assert.notEqual(nativeSourceHash(root), changed);
    rmSync(join(root, 'native'), { recursive: true });
    assert.equal(nativeSourceHash(root), null, 'no sources shipped: nothing to compare');
  });
});

describe('built addon', () => {
  it('the addon this package loads was built from its native/ sources', { skip: !devAddonPath() && 'no built addon' }, () => {
    const path = devAddonPath()!;
    const built = embeddedHash(path);
    assert.equal(built, nativeSourceHash(packageRoot), `${path} is stale: rebuild it (npm run build:native)`);
  });

  it('the linux-x64 prebuild was built from these sources', { skip: !hasPrebuild && 'no prebuilds/linux-x64 prebuild' }, () => {
    const built = embeddedHash(prebuildPath);
    assert.equal(built, nativeSourceHash(packageRoot), `${prebuildPath} is stale: rerun npm run make-prebuild`);
  });

  it('the linux-x64 prebuild needs only allow-listed system libraries or ones bundled beside it', { skip: (!hasPrebuild && 'no prebuilds/linux-x64 prebuild') || (!has('readelf') && 'no readelf') }, () => {
    const script = readFileSync(join(packageRoot, 'scripts', 'make-prebuild.sh'), 'utf8');
    const allowed = /^ALLOWED_SYSTEM_LIBS=\(([^)]*)\)/m.exec(script)?.[1].trim().split(/\s+/);
    assert.ok(allowed && allowed.includes('libc.so.6'), 'make-prebuild.sh defines ALLOWED_SYSTEM_LIBS');
    const bundled = readdirSync(prebuildDir).filter((f) => /\.so(\.\d+)*$/.test(f));
    const dynamic = (file: string) => spawnSync('readelf', ['-d', file], { encoding: 'utf8' }).stdout;
    const needed = (file: string) => [...dynamic(file).matchAll(/\(NEEDED\).*\[(.+)\]/g)].map((m) => m[1]);
    const outside = needed(prebuildPath).filter((lib) => !allowed.includes(lib) && !bundled.includes(lib));
    assert.deepEqual(outside, [], 'NEEDED outside the allow-list and the prebuild folder');
    for (const lib of bundled) {
      assert.deepEqual(needed(join(prebuildDir, lib)).filter((l) => !allowed.includes(l)), [], `${lib} needs only system libraries`);
    }
    assert.match(dynamic(prebuildPath), /\((RUNPATH|RPATH)\).*\[\$ORIGIN\]/, 'bundled libraries are found beside the .node');
  });

  it("node-gyp-build picks the prebuild by its name, and the loader refuses it once a native source changes", { skip: !anyBinary() && 'no built addon' }, () => {
    const binary = anyBinary()!;
    const built = embeddedHash(binary);
    const root = fakePackage(binary);
    const expectedPath = join(root, 'prebuilds', 'linux-x64', PREBUILD_NAME);
    if (built === nativeSourceHash(root)) {
      const { addon, path } = loadAddonFrom(root);
      assert.equal(path, expectedPath);
      assert.equal(addon.info().sourceHash, built);
    }
    touchNativeSource(root);
    const skip = process.env.OHLC_NATIVE_SKIP_HASH_CHECK;
    delete process.env.OHLC_NATIVE_SKIP_HASH_CHECK;
    try {
      assert.throws(() => loadAddonFrom(root), (err: Error) => {
        assert.match(err.message, /was built from other native sources than those in/);
        assert.ok(err.message.includes(expectedPath), err.message);
        assert.ok(err.message.includes(built.slice(0, 12)), 'names the binary hash');
        assert.ok(err.message.includes(nativeSourceHash(root)!.slice(0, 12)), 'names the sources hash');
        return true;
      });
    } finally {
      if (skip !== undefined) process.env.OHLC_NATIVE_SKIP_HASH_CHECK = skip;
    }
  });
});

describe('scripts/install.mjs', () => {
  let decideInstall: DecideInstall;
  before(async () => {
    ({ decideInstall } = (await import(pathToFileURL(join(packageRoot, 'scripts', 'install.mjs')).href)) as { decideInstall: DecideInstall });
  });

  it('builds from source when there is no prebuild, or when asked to', () => {
    const root = fakePackage();
    const none = decideInstall(root, {});
    assert.equal(none.action, 'build');
    assert.match(none.reason ?? '', /no prebuild/);
    const forced = decideInstall(root, { OHLC_NATIVE_BUILD_FROM_SOURCE: '1' });
    assert.deepEqual(forced, { action: 'build', reason: 'OHLC_NATIVE_BUILD_FROM_SOURCE=1' });
  });

  it('builds from source when the prebuild does not load', { skip: !onLinuxX64 && 'linux-x64 only' }, () => {
    const root = fakePackage();
    mkdirSync(join(root, 'prebuilds', 'linux-x64'), { recursive: true });
    writeFileSync(join(root, 'prebuilds', 'linux-x64', PREBUILD_NAME), 'not an ELF file');
    const d = decideInstall(root, {});
    assert.equal(d.action, 'build');
    assert.match(d.reason ?? '', /does not load here/);
  });

  it('builds from source when the prebuild was built from other sources, uses it when they match', { skip: !anyBinary() && 'no built addon' }, () => {
    const binary = anyBinary()!;
    const root = fakePackage(binary);
    if (embeddedHash(binary) === nativeSourceHash(root)) {
      assert.deepEqual(decideInstall(root, {}), { action: 'prebuild', path: join(root, 'prebuilds', 'linux-x64', PREBUILD_NAME) });
    }
    touchNativeSource(root);
    const d = decideInstall(root, {});
    assert.equal(d.action, 'build');
    assert.match(d.reason ?? '', /was built from other sources/);
  });

  it('as the npm install hook (--dry-run): ignores build/, refuses the mismatched prebuild', { skip: !anyBinary() && 'no built addon' }, () => {
    const root = fakePackage(anyBinary()!);
    copyFileSync(join(packageRoot, 'scripts', 'install.mjs'), join(root, 'scripts', 'install.mjs'));
    symlinkSync(join(packageRoot, 'node_modules'), join(root, 'node_modules'), 'dir');
    // A development build would win in node-gyp-build's default order; the hook must not look at it.
    mkdirSync(join(root, 'build', 'Release'), { recursive: true });
    writeFileSync(join(root, 'build', 'Release', 'ohlc_native.node'), 'not an addon');
    touchNativeSource(root);
    const env = { ...process.env };
    delete env.OHLC_NATIVE_BUILD_FROM_SOURCE;
    delete env.PREBUILDS_ONLY;
    const r = spawnSync(process.execPath, [join(root, 'scripts', 'install.mjs'), '--dry-run'], { encoding: 'utf8', env });
    assert.equal(r.status, 0, r.stderr);
    const d = JSON.parse(r.stdout) as InstallDecision;
    assert.equal(d.action, 'build');
    assert.equal(d.path, join(root, 'prebuilds', 'linux-x64', PREBUILD_NAME));
    assert.match(d.reason ?? '', /was built from other sources/);
  });
});
