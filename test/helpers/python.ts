// Runs Python snippets with the stock readers (h5py, numpy, zarr) to prove files open without us.
import { spawnSync } from 'node:child_process';

let cached: string | null | undefined;

/** A python3 that imports h5py, numpy and zarr (Debian's /usr/bin/python3 first), or null. */
export function findPython(): string | null {
  if (cached !== undefined) return cached;
  cached = null;
  for (const exe of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(exe, ['-c', 'import h5py, numpy, zarr'], { encoding: 'utf8' });
    if (r.status === 0) {
      cached = exe;
      break;
    }
  }
  return cached;
}

/** Runs `code` (which prints one JSON document) and returns the parsed result. */
export function runPython<T = unknown>(code: string, args: string[] = []): T {
  const exe = findPython();
  if (!exe) throw new Error('no python3 with h5py, numpy and zarr');
  const r = spawnSync(exe, ['-c', code, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

export function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

let cachedTorch: string | null | undefined;

/** A python3 that imports h5py, numpy and torch (what python/ and examples/pytorch need), or null. */
export function findTorchPython(): string | null {
  if (cachedTorch !== undefined) return cachedTorch;
  cachedTorch = null;
  for (const exe of ['/usr/bin/python3', 'python3']) {
    if (spawnSync(exe, ['-c', 'import h5py, numpy, torch'], { encoding: 'utf8' }).status === 0) {
      cachedTorch = exe;
      break;
    }
  }
  return cachedTorch;
}
