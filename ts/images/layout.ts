// The image layouts and their options, stated once: IMAGE.md's 4-pixel bars (`ohlc-4px`, black
// on white) and the paper's layout (`jkx`, docs/IMAGE-JKX.md: 3-pixel bars, white on black, a
// moving-average line and a volume strip). rasterize, the writer, the config and the readers all
// take a layout through checkLayout and pass it to the addon through nativeLayout.
import { invalidParameterError } from '../errors.js';
import { MAX_JKX_SEQ_LEN, MAX_MA, MIN_JKX_SEQ_LEN, MIN_JKX_VOLUME_HEIGHT } from '../limits.js';
import { checkBoolean, checkOneOf, checkOptionalInteger } from '../validate.js';

export const LAYOUTS = ['ohlc-4px', 'jkx'] as const;
export type LayoutName = (typeof LAYOUTS)[number];

export interface ImageLayout {
  layout: LayoutName;
  /** jkx: the volume strip at the bottom (default true). */
  volume: boolean;
  /** jkx: moving-average length k (default seqLen, the authors' choice); 0 draws no line. */
  ma: number;
}

/** The authors' image heights for their three window lengths (IMAGE-JKX.md §3). */
export const JKX_HEIGHTS: Readonly<Record<number, number>> = { 5: 32, 20: 64, 60: 96 };

/** Columns per bar. */
export function barWidth(layout: LayoutName): number {
  return layout === 'jkx' ? 3 : 4;
}

export function imageWidth(layout: LayoutName, seqLen: number): number {
  return barWidth(layout) * seqLen;
}

/** The stored value of the background: 1 (white) for ohlc-4px, 0 (black) for jkx. */
export function background(layout: LayoutName): 0 | 1 {
  return layout === 'jkx' ? 0 : 1;
}

/** The uint8 value that is white in a picture (1 for ohlc-4px's 0/1 images, 255 for jkx). */
export function whiteValue(layout: LayoutName, dtype: 'uint8' | 'float32'): number {
  return layout === 'jkx' && dtype === 'uint8' ? 255 : 1;
}

/** The names a caller knows the options by (API option names, or config keys). */
export interface LayoutNames {
  layout: string;
  volume: string;
  ma: string;
  seqLen: string;
  height: string;
}

export const API_NAMES: LayoutNames = { layout: 'layout', volume: 'volume', ma: 'ma', seqLen: 'seqLen', height: 'height' };

/**
 * Checks a layout and its options against the window length and height, naming what the caller
 * typed. The default layout takes no jkx option.
 */
export function checkLayout(o: { layout?: unknown; volume?: unknown; ma?: unknown }, seqLen: number, height: number, names: LayoutNames = API_NAMES): ImageLayout {
  const layout = checkOneOf(names.layout, o.layout, LAYOUTS, 'ohlc-4px');
  if (layout === 'ohlc-4px') {
    for (const key of ['volume', 'ma'] as const) {
      if (o[key] !== undefined) throw invalidParameterError(names[key], `absent with ${names.layout} 'ohlc-4px' (it applies to the jkx layout)`, o[key]);
    }
    return { layout, volume: false, ma: 0 };
  }
  if (seqLen < MIN_JKX_SEQ_LEN || seqLen > MAX_JKX_SEQ_LEN) {
    throw invalidParameterError(names.seqLen, `${MIN_JKX_SEQ_LEN}..${MAX_JKX_SEQ_LEN} bars with ${names.layout} 'jkx' (a moving-average segment joins two bars)`, seqLen, true);
  }
  const volume = checkBoolean(names.volume, o.volume, true);
  const ma = checkOptionalInteger(names.ma, o.ma, seqLen, 0, MAX_MA);
  if (volume && height < MIN_JKX_VOLUME_HEIGHT) {
    throw invalidParameterError(names.height, `at least ${MIN_JKX_VOLUME_HEIGHT} rows with the volume strip (it takes floor(height / 5) rows); or set ${names.volume}: false`, height, true);
  }
  return { layout, volume, ma };
}

/** What the addon takes. */
export function nativeLayout(l: ImageLayout): { layout: 0 | 1; volumeStrip: boolean; ma: number } {
  return { layout: l.layout === 'jkx' ? 1 : 0, volumeStrip: l.volume, ma: l.ma };
}

/** The dataset metadata of a layout (docs/DATASET.md). */
export function layoutMetadata(l: ImageLayout): Record<string, unknown> {
  return l.layout === 'jkx' ? { layout: 'jkx', background: 0, volume: l.volume, ma: l.ma } : { layout: 'ohlc-4px', background: 1 };
}

/** A layout as a dataset's metadata gives it (datasets older than layouts are ohlc-4px). */
export function layoutOf(metadata: Record<string, unknown>): ImageLayout {
  if (metadata.layout === 'jkx') return { layout: 'jkx', volume: metadata.volume !== false, ma: Number(metadata.ma ?? 0) };
  return { layout: 'ohlc-4px', volume: false, ma: 0 };
}

/** Candles before a window that the layout reads (the moving average's history). */
export function historyCandles(l: ImageLayout): number {
  return l.layout === 'jkx' && l.ma > 0 ? l.ma - 1 : 0;
}

/**
 * What became of a window, by the addon's status number (native WindowStatus, the jkx kernel's
 * JkxStatus): index 0 is drawable, the others are skip reasons.
 */
export const WINDOW_STATUS = ['ok', 'invalid_price', 'invalid_volume', 'flat', 'overflow'] as const;
export type WindowStatusName = (typeof WINDOW_STATUS)[number];
