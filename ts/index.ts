// ohlc-native: candles -> OHLC bar-image datasets. Public API.
export { classifyWindows, rasterize, rasterizeAsync } from './images/rasterize.js';
export { JKX_HEIGHTS, LAYOUTS, WINDOW_STATUS } from './images/layout.js';
export type { ImageLayout, LayoutName, WindowStatusName } from './images/layout.js';
export type { CandleColumns, KlineColumns } from './data/columns.js';
/** @deprecated The same as CandleColumns. */
export type { CandleColumns as OhlcColumns } from './data/columns.js';
export type {
  IntegerTypedArray,
  PixelDtype,
  ClassifyOptions,
  RasterizeAsyncOptions,
  WindowClassification,
  RasterizeOptions,
  RasterResult,
} from './images/rasterize.js';
export type { DeviceChoice, ResolvedDevice } from './images/device.js';
export { ConfigError, ErrorCode, OhlcError, invalidParameterError } from './errors.js';
export { buildInfo } from './info.js';
export type { BuildInfo } from './info.js';
export { createDatasetWriter } from './storage/writer.js';
export type { Compression, DatasetBatch, DatasetWriteResult, DatasetWriter, DatasetWriterOptions } from './storage/writer.js';
export type { StorageFormat, StorageMode } from './storage/formats.js';
export { downloadCryptoData, writeSampleArchives, resolveUniverse, BINANCE_INTERVALS, BINANCE_MARKETS } from './data/index.js';
export type {
  Candles,
  CandleSource,
  DataLogger,
  DataProgress,
  DataSource,
  DownloadOptions,
  Gap,
  Interval as KlineInterval,
  MalformedRowPolicy,
  Market as BinanceMarket,
  SampleArchive,
  SampleOptions,
  SampleResult,
  Universe,
  UniverseExclusion,
  UniverseMember,
  UniverseMonth,
  UniverseOptions,
  UniverseProgress,
  UniverseTerms,
  UniverseTop,
} from './data/index.js';
export { loadImagesFromStorage } from './storage/load.js';
export type { LoadedDataset, LoadOptions } from './storage/load.js';
export { saveModel, loadModel, listModels, ModelErrorCode } from './models/index.js';
export type { JsonValue, ListModelsOptions, LoadedModel, LoadModelOptions, ModelEntry, ModelFormat, ModelMetadata, SaveModelOptions, SkippedModel } from './models/index.js';
