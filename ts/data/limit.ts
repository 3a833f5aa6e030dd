// A counting semaphore: at most `max` tasks run at once; waiters leave the queue on abort.
import { abortError } from '../errors.js';

export class Limiter {
  private active = 0;
  private readonly waiting: Array<{ grant: () => void }> = [];

  constructor(readonly max: number) {}

  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(signal);
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  private acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (this.active < this.max) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(abortError(signal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  private release(): void {
    // The slot passes straight to the next waiter, so `active` only drops when none is queued.
    const next = this.waiting.shift();
    if (next) next.grant();
    else this.active--;
  }
}
