// What the layout makes of a chunk's windows before they are drawn. The default layout draws every
// window planChunk kept. The jkx layout (docs/IMAGE-JKX.md) also skips windows it cannot draw (a
// bad volume, a flat window, an overflow, an unusable close in the moving average's history),
// found by the addon with the very function that draws; and a window whose k - 1 history candles
// are cut by a gap or by the start of the series is drawn without its line, and counted.
import type { PipelineConfig } from '../config/schema.js';
import { historyCandles, WINDOW_STATUS, type ImageLayout } from '../images/layout.js';
import { classifyWindows } from '../images/rasterize.js';
import type { TimedCandles } from './windows.js';

/** The skip reasons of the jkx layout beyond planChunk's (invalid_price and gap). */
export const JKX_SKIP_REASONS = WINDOW_STATUS.filter((s) => s !== 'ok' && s !== 'invalid_price');

export interface Screened {
  starts: Float64Array;
  /** Per kept window, whether its moving-average history is there (jkx with a line; else null). */
  maOk: Uint8Array | null;
  /** Windows left out, by reason. */
  skipped: Record<string, number>;
  /** Kept windows drawn without the line (jkx with a line). */
  maUnavailable: number;
}

export function layoutOfConfig(config: PipelineConfig): ImageLayout {
  const i = config.image;
  return { layout: i.layout, volume: i.volume, ma: i.ma };
}

export async function screenWindows(candles: TimedCandles, breaks: Uint32Array, starts: Float64Array, config: PipelineConfig, signal?: AbortSignal): Promise<Screened> {
  const layout = layoutOfConfig(config);
  if (layout.layout !== 'jkx' || starts.length === 0) return { starts, maOk: null, skipped: {}, maUnavailable: 0 };
  const history = historyCandles(layout);
  const maOk = new Uint8Array(starts.length);
  for (let i = 0; i < starts.length; i++) {
    const s = starts[i];
    maOk[i] = s >= history && breaks[s] - breaks[s - history] === 0 ? 1 : 0;
  }
  const { status } = await classifyWindows(candles, {
    seqLen: config.image.seq_len,
    height: config.image.resolution.height,
    layout: 'jkx',
    volume: layout.volume,
    ma: layout.ma,
    // Local to the chunk (a month and its carry): far below 2^32.
    starts: Uint32Array.from(starts),
    maOk,
    threads: config.runtime.threads,
    signal,
  });
  const skipped: Record<string, number> = {};
  const kept: number[] = [];
  const keptOk: number[] = [];
  let maUnavailable = 0;
  for (let i = 0; i < starts.length; i++) {
    if (status[i] !== 0) {
      const reason = WINDOW_STATUS[status[i]];
      skipped[reason] = (skipped[reason] ?? 0) + 1;
      continue;
    }
    kept.push(starts[i]);
    keptOk.push(maOk[i]);
    if (layout.ma > 0 && maOk[i] === 0) maUnavailable++;
  }
  return { starts: Float64Array.from(kept), maOk: layout.ma > 0 ? Uint8Array.from(keptOk) : null, skipped, maUnavailable };
}

