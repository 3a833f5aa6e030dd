// HTTP for archives, on Node's global fetch: a timeout on silence (connecting, waiting for headers,
// or between body chunks), a total deadline scaled by the size, bounded retries with exponential
// backoff on connection errors, timeouts, truncated bodies and 5xx (never on 404), a size cap,
// and prompt abort. URLs are shown (messages, logs) with their userinfo redacted.
import { setTimeout as sleep } from 'node:timers/promises';
import { abortError, OhlcError, throwIfAborted, ErrorCode } from '../errors.js';
import { redactUrl } from '../util/url.js';
import type { Limiter } from './limit.js';
import type { DataLogger } from './types.js';

export interface HttpSettings {
  timeoutMs: number;
  /** The slowest transfer waited for: the deadline is timeoutMs plus the expected bytes at this rate. */
  minBytesPerSecond: number;
  retries: number;
  retryDelayMs: number;
  logger: DataLogger;
  /** Aborts every request and backoff wait. */
  signal: AbortSignal;
  /** Bounds the requests in flight. */
  limiter: Limiter;
}

export type Fetched = { status: 'ok'; body: Buffer } | { status: 'not-found' };

/** A failure worth another attempt. */
class TransientError extends Error {}

function describeNetworkError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause as { code?: string; message?: string } | undefined;
  const detail = cause?.code ?? cause?.message;
  return detail ? `${err.message} (${detail})` : err.message;
}

async function discard(res: Response): Promise<void> {
  await res.body?.cancel().catch(() => undefined);
}

/** The longest delay setTimeout keeps (a longer one fires at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The two clocks of one attempt, either of which aborts it: silence (nothing for timeoutMs,
 * restarted by every chunk) and a total deadline. Silence alone lets a server that sends a byte
 * now and then hold a request forever; the deadline allows timeoutMs plus the expected bytes at
 * minBytesPerSecond, and shrinks once a Content-Length says how many bytes are coming.
 */
class AttemptClock {
  /** Why the attempt was cut short, or null while it runs. */
  expired: string | null = null;
  received = 0;
  private silence: NodeJS.Timeout | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private readonly started = Date.now();

  constructor(
    private readonly controller: AbortController,
    private readonly s: HttpSettings,
  ) {}

  /** (Re)starts the silence timer: call on start and on every chunk. */
  heard(): void {
    clearTimeout(this.silence);
    this.silence = setTimeout(() => this.expire(`no data for ${this.s.timeoutMs} ms`), this.s.timeoutMs);
  }

  /** Sets the deadline for `expected` bytes, counted from the start of the attempt. */
  expect(expected: number): void {
    clearTimeout(this.deadline);
    const allowed = this.s.timeoutMs + Math.ceil((expected * 1000) / this.s.minBytesPerSecond);
    const why = () =>
      `not complete within its ${allowed} ms deadline (timeoutMs ${this.s.timeoutMs} + ${expected} bytes at ${this.s.minBytesPerSecond} bytes/s); ` +
      `${this.received} of ${expected} bytes received`;
    const delay = Math.max(0, this.started + allowed - Date.now());
    // A deadline weeks away (a tiny minBytesPerSecond) is no deadline; the silence timer still runs.
    if (delay <= MAX_TIMER_MS) this.deadline = setTimeout(() => this.expire(why()), delay);
  }

  stop(): void {
    clearTimeout(this.silence);
    clearTimeout(this.deadline);
  }

  private expire(reason: string): void {
    this.expired ??= reason;
    this.controller.abort();
  }
}

async function fetchOnce(url: string, maxBytes: number, s: HttpSettings): Promise<Fetched> {
  const shown = redactUrl(url);
  const controller = new AbortController();
  const clock = new AttemptClock(controller, s);
  const onAbort = () => controller.abort(s.signal.reason);
  s.signal.addEventListener('abort', onAbort, { once: true });
  try {
    clock.heard();
    clock.expect(maxBytes);
    const res = await fetch(url, { signal: controller.signal, redirect: 'follow' });
    if (res.status === 404) {
      await discard(res);
      return { status: 'not-found' };
    }
    if (!res.ok) {
      await discard(res);
      if (res.status >= 500 || res.status === 408 || res.status === 429) throw new TransientError(`HTTP ${res.status}`);
      throw new OhlcError(ErrorCode.http, `${shown} answered HTTP ${res.status} ${res.statusText}. Check baseUrl, or point it at a mirror of data.binance.vision.`);
    }
    const encoding = res.headers.get('content-encoding');
    const declared = encoding && encoding !== 'identity' ? NaN : Number(res.headers.get('content-length') ?? NaN);
    if (declared > maxBytes) {
      await discard(res);
      throw new OhlcError(ErrorCode.tooLarge, `${shown} is ${declared} bytes, more than the ${maxBytes} bytes such a file can hold; refusing it`);
    }
    if (Number.isFinite(declared)) clock.expect(declared);
    const chunks: Uint8Array[] = [];
    if (res.body) {
      for await (const chunk of res.body) {
        clock.heard();
        clock.received += chunk.byteLength;
        if (clock.received > maxBytes) {
          controller.abort();
          throw new OhlcError(ErrorCode.tooLarge, `${shown} sent more than the ${maxBytes} bytes such a file can hold; refusing it`);
        }
        chunks.push(chunk);
      }
    }
    if (Number.isFinite(declared) && clock.received !== declared) throw new TransientError(`body truncated: ${clock.received} of ${declared} bytes`);
    return { status: 'ok', body: Buffer.concat(chunks, clock.received) };
  } catch (err) {
    if (s.signal.aborted) throw abortError(s.signal);
    if (clock.expired) throw new TransientError(clock.expired);
    if (err instanceof OhlcError || err instanceof TransientError) throw err;
    // fetch reports refused or dropped connections and cut bodies as TypeErrors with a cause; a
    // request it cannot build names the URL.
    throw new TransientError(redactUrl(describeNetworkError(err)));
  } finally {
    clock.stop();
    s.signal.removeEventListener('abort', onAbort);
  }
}

/**
 * GETs `url` into memory: { status: 'ok', body }, or { status: 'not-found' } on 404 (callers
 * decide what a missing file means). Other failures end in an OhlcError naming the URL (as shown:
 * userinfo redacted).
 */
export async function fetchWithRetries(url: string, maxBytes: number, s: HttpSettings): Promise<Fetched> {
  const shown = redactUrl(url);
  for (let attempt = 0; ; attempt++) {
    throwIfAborted(s.signal);
    try {
      return await s.limiter.run(() => fetchOnce(url, maxBytes, s), s.signal);
    } catch (err) {
      if (!(err instanceof TransientError)) throw err;
      if (attempt >= s.retries) {
        const e = new OhlcError(
          ErrorCode.network,
          `Could not download ${shown}: ${err.message} (${attempt + 1} attempt${attempt ? 's' : ''}). ` +
            'Check the network connection; archives already in cacheDir need no network, so a re-run reuses them; ' +
            'or point baseUrl at a reachable mirror of data.binance.vision.',
        );
        (e as OhlcError & { url: string }).url = shown;
        throw e;
      }
      // Jitter keeps concurrent retries from hitting the server in lockstep.
      const delayMs = Math.round(s.retryDelayMs * 2 ** attempt * (1 + Math.random() * 0.25));
      s.logger.warn('request failed, retrying', { url: shown, reason: err.message, retry: attempt + 1, retries: s.retries, delayMs });
      try {
        await sleep(delayMs, undefined, { signal: s.signal });
      } catch {
        throw abortError(s.signal);
      }
    }
  }
}
