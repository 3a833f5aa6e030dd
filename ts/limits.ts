// Every limit and input pattern of the package, stated once. The native binding checks what it
// relies on against native/binding/limits.hpp, which mirrors the numbers here (test/limits.test.ts
// reads both and fails when they drift apart).

/** Largest seqLen and image height (rows) anywhere: API, config and native checks. */
export const MAX_DIMENSION = 1 << 24;
export const MIN_SEQ_LEN = 1;
export const MIN_HEIGHT = 2;
/** Pixels in one image: keeps one image's bytes far from what a typed array or a chunk can hold. */
export const MAX_IMAGE_PIXELS = 2 ** 34;
/**
 * The jkx layout (docs/IMAGE-JKX.md): at least 2 bars (a moving-average segment joins two); at
 * most 2^20 bars and an MA of at most 2^20 (each drawing thread holds k - 1 + 5L doubles of
 * scratch, kernels/raster_jkx.cpp); with the volume strip at least 5 rows, so the strip
 * (floor(height / 5) rows) has one.
 */
export const MIN_JKX_SEQ_LEN = 2;
export const MAX_JKX_SEQ_LEN = 1 << 20;
export const MAX_MA = 1 << 20;
export const MIN_JKX_VOLUME_HEIGHT = 5;
/** CPU threads a caller may ask for (0 = all). */
export const MAX_THREADS = 4096;
/** Label horizons: how many, and how far ahead each may look (bars). */
export const MAX_HORIZONS = 4096;
export const MAX_HORIZON = 1_000_000;
/** Images per file in batch mode, and windows per append in the pipeline. */
export const MAX_BATCH_SIZE = 1 << 20;
/** Symbols in one dataset: symbol_index is a uint16. */
export const MAX_SYMBOLS = 65_535;
/** Shards of one build (`--shards`, `--shard I/N`): their names number them in five digits. */
export const MAX_SHARDS = 99_999;
/** Parallel downloads. */
export const MAX_CONCURRENCY = 32;
/**
 * The slowest transfer a download is waited for by default (bytes per second, 64 KiB/s). Each
 * request must finish within timeoutMs plus its bytes (Content-Length, else the most such a file
 * can hold) at this rate, so a server sending a byte now and then cannot hold a run for hours;
 * `minBytesPerSecond` lowers it for slow links.
 */
export const MIN_DOWNLOAD_BYTES_PER_SECOND = 64 << 10;
/** JPEG quality. */
export const MIN_QUALITY = 1;
export const MAX_QUALITY = 100;
/** Deflate levels (libdeflate); 'fast' and 'none' are the other compression choices. */
export const MIN_DEFLATE_LEVEL = 1;
export const MAX_DEFLATE_LEVEL = 12;

/** Zarr format 3: images per shard file, at most 2^20 (its index, 16 bytes an image, is held in memory while the shard is written). */
export const MAX_ZARR_SHARD_IMAGES = 2 ** 20;
/** Zarr format 3: images per shard file unless image.storage.zarr_shard_images says otherwise. */
export const DEFAULT_ZARR_SHARD_IMAGES = 1024;
/** JPEG's own limit on either side of a picture (libjpeg: 65,500 pixels). */
export const MAX_JPEG_DIMENSION = 65_500;
/** HDF5 stores one image per chunk, and a chunk holds less than 4 GiB. */
export const MAX_CHUNK_BYTES = 2 ** 32 - 1;
/**
 * The most bytes one stored byte of a deflate (zlib, gzip) stream can inflate to (a 258-byte
 * match costs at least 2 bits; RFC 1951). Readers bound what a compressed chunk or member can
 * really hold by it before allocating what its header declares (mirrored by
 * native/storage/reader.hpp).
 */
export const MAX_DEFLATE_EXPANSION = 1032;
/** The largest integer a double holds exactly (timestamps, offsets, counts crossing the boundary). */
export const MAX_SAFE_INTEGER = Number.MAX_SAFE_INTEGER;

/**
 * A Binance symbol: BTCUSDT, 1000SHIBUSDT, BTCUSD_PERP, BTCUSDT_240628 — uppercase letters and
 * digits, optionally one "_SUFFIX" (futures only). Nothing else can reach a URL or a cache path.
 */
export const SYMBOL_PATTERN = /^[A-Z0-9]{2,32}(?:_[A-Z0-9]{1,16})?$/;

/** 'YYYY-MM' (a whole month) or 'YYYY-MM-DD' (one day), UTC; whether the day exists is checked apart. */
export const DATE_PATTERN = /^(\d{4})-(0[1-9]|1[0-2])(?:-(0[1-9]|[12]\d|3[01]))?$/;
/** Years a date may name. */
export const MIN_YEAR = 2000;
export const MAX_YEAR = 2999;

/** A quote asset for a universe: USDT, FDUSD, BTC, USD (COIN-M), … */
export const QUOTE_ASSET_PATTERN = /^[A-Z0-9]{2,16}$/;
/** A universe exclusion: a symbol, or a pattern where '*' stands for any characters ('*UP', '*_*'). */
export const EXCLUDE_PATTERN = /^[A-Z0-9_*]{1,50}$/;
/** Members a universe month may have (top.n). */
export const MAX_UNIVERSE_TOP = 10_000;
/** Days a universe ranking may look back (top.lookbackDays). */
export const MAX_LOOKBACK_DAYS = 366;
