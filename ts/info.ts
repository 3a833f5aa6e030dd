// What this installation can do: versions, the native build, threads and the GPU.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadedAddonPath, native, packageRoot } from './native/load.js';
import type { NativeCudaInfo } from './native/addon.js';

export interface BuildInfo {
  name: string;
  version: string;
  addonPath: string;
  sourceHash: string;
  openmp: boolean;
  threads: number;
  cuda: NativeCudaInfo;
}

let pkg: { name: string; version: string } | undefined;

export function packageInfo(): { name: string; version: string } {
  pkg ??= JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { name: string; version: string };
  return { name: pkg.name, version: pkg.version };
}

export function buildInfo(): BuildInfo {
  const info = native().info();
  const { name, version } = packageInfo();
  return { name, version, addonPath: loadedAddonPath() ?? '', sourceHash: info.sourceHash, openmp: info.openmp, threads: info.threads, cuda: info.cuda };
}
