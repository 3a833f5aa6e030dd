// The package as consumers see it: the exports map, ESM import and CommonJS require by name, the
// type declarations, and the bin.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
let consumer: string;

before(() => {
  consumer = mkdtempSync(join(tmpdir(), 'ohlc-consumer-'));
  mkdirSync(join(consumer, 'node_modules'));
  symlinkSync(root, join(consumer, 'node_modules', 'ohlc-native'), 'dir');
});
after(() => rmSync(consumer, { recursive: true, force: true }));

describe('package', () => {
  it('is importable by name from ESM and requirable from CommonJS', () => {
    writeFileSync(join(consumer, 'esm.mjs'), "import * as m from 'ohlc-native'; console.log(Object.keys(m).sort().join(','));");
    writeFileSync(join(consumer, 'cjs.cjs'), "const m = require('ohlc-native'); console.log(Object.keys(m).sort().join(','));");
    const esm = spawnSync(process.execPath, ['esm.mjs'], { cwd: consumer, encoding: 'utf8' });
    const cjs = spawnSync(process.execPath, ['cjs.cjs'], { cwd: consumer, encoding: 'utf8' });
    assert.equal(esm.status, 0, esm.stderr);
    assert.equal(cjs.status, 0, cjs.stderr);
    const names = esm.stdout.trim().split(',');
    for (const name of ['rasterize', 'rasterizeAsync', 'downloadCryptoData', 'writeSampleArchives', 'createDatasetWriter', 'loadImagesFromStorage', 'saveModel', 'loadModel', 'listModels']) {
      assert.ok(names.includes(name), `exports ${name}`);
    }
    assert.equal(cjs.stdout.trim(), esm.stdout.trim());
  });

  it('declares types for its entry point and a working bin', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    assert.equal(pkg.exports['.'].types, './dist/index.d.ts');
    assert.ok(existsSync(join(root, pkg.exports['.'].types)));
    assert.match(readFileSync(join(root, 'dist', 'index.d.ts'), 'utf8'), /rasterizeAsync/);
    const bin = join(root, pkg.bin['ohlc-native']);
    const help = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
    assert.equal(help.status, 0);
    for (const cmd of ['build', 'download', 'sample', 'inspect', 'models', 'info']) assert.match(help.stdout, new RegExp(`\\b${cmd}\\b`));
    assert.match(readFileSync(bin, 'utf8'), /^#!\/usr\/bin\/env node/);
  });
});
