// Model versioning: timestamped, gzip-compressed model files with a verified metadata sidecar.
export { saveModel } from './save.js';
export type { SaveModelOptions } from './save.js';
export { loadModel } from './load.js';
export type { LoadedModel, LoadModelOptions } from './load.js';
export { listModels } from './list.js';
export type { ListModelsOptions, ModelEntry, SkippedModel } from './list.js';
export type { ModelMetadata } from './metadata.js';
export type { ModelFormat } from './naming.js';
export type { JsonValue } from './json.js';
export { ModelErrorCode } from './errors.js';
