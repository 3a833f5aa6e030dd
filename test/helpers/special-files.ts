// Things with a name that are not regular files: FIFOs and sockets, for checking that nothing
// opens one (a FIFO blocks its reader until a writer comes; a socket or device never ends).
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

/** Creates a FIFO at `path` (mkfifo). */
export function makeFifo(path: string): string {
  execFileSync('mkfifo', [path]);
  return path;
}

/**
 * Opens the FIFO for writing and closes it at once, so a reader stuck opening it (code that
 * should have refused it) sees an empty file and the test process can end.
 */
export function releaseFifo(path: string): void {
  try {
    closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
  } catch {
    // ENXIO: no reader is waiting; ENOENT: already gone.
  }
}

/** A Unix socket listening at `path`; close the server when done. */
export async function makeSocket(path: string): Promise<Server> {
  const server = createServer((s) => s.destroy());
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return server;
}
