// Reserving a model name: its sidecar is created exclusively, empty (readers skip an empty
// sidecar), so two savers can never take one name. The other file steps are in util/files.ts.
import { open } from 'node:fs/promises';

/** Creates an empty file at `path`; false when something already has that name. */
export async function createExclusive(path: string): Promise<boolean> {
  try {
    const handle = await open(path, 'wx', 0o644);
    await handle.close();
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}
