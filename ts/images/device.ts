// Compute device choice: 'auto' takes the GPU when the addon has CUDA and a device answered at
// start-up, else the OpenMP kernels; 'cuda' without a usable GPU is an error that says why.
import { OhlcError, ErrorCode } from '../errors.js';
import { native } from '../native/load.js';
import { checkOneOf } from '../validate.js';

export type DeviceChoice = 'auto' | 'cpu' | 'cuda';
export type ResolvedDevice = 'cpu' | 'cuda';

export function resolveDevice(value: unknown, name = 'device'): ResolvedDevice {
  const choice = checkOneOf(name, value, ['auto', 'cpu', 'cuda'] as const, 'auto');
  if (choice === 'cpu') return 'cpu';
  const cuda = native().info().cuda;
  if (cuda.available) return 'cuda';
  if (choice === 'cuda') {
    throw new OhlcError(ErrorCode.noCuda, `device 'cuda' was requested but no usable GPU is available: ${cuda.reason}`);
  }
  return 'cpu';
}

/** One line for logs: "CPU (OpenMP, 2 threads)" or "CUDA (NVIDIA H100 80GB HBM3, 132 SMs, 80 GB)". */
export function describeDevice(device: ResolvedDevice, threads = 0): string {
  const info = native().info();
  if (device === 'cuda') {
    const c = info.cuda;
    return `CUDA (${c.name}, compute ${c.computeCapability}, ${c.multiprocessors} SMs, ${(c.memoryBytes / 2 ** 30).toFixed(0)} GiB)`;
  }
  const n = threads > 0 ? threads : info.threads;
  return info.openmp ? `CPU (OpenMP, ${n} thread${n === 1 ? '' : 's'})` : 'CPU (single-threaded: built without OpenMP)';
}

/** Why 'auto' did not pick the GPU, for the log; null when it did or could. */
export function cudaUnavailableReason(): string | null {
  const c = native().info().cuda;
  return c.available ? null : c.reason;
}
