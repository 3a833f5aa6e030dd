// Model file names: model_YYYYMMDD_HHMMSS_mmm (UTC, to the millisecond), plus _<n> when that
// millisecond is already taken. The name is the unit of identity: one name owns one model file
// (.bin.gz or .json.gz) and one `<name>_metadata.json` sidecar.

export type ModelFormat = 'bytes' | 'json';

export const MODEL_FORMATS: readonly ModelFormat[] = ['bytes', 'json'];

const NAME_PATTERN = 'model_(\\d{8})_(\\d{6})_(\\d{3})(?:_([1-9]\\d*))?';
const NAME_RE = new RegExp(`^${NAME_PATTERN}$`);
const SIDECAR_SUFFIX = '_metadata.json';
const EXTENSIONS: Record<ModelFormat, string> = { bytes: '.bin.gz', json: '.json.gz' };

/** The name's stem for a UTC time: model_YYYYMMDD_HHMMSS_mmm. */
export function nameStem(date: Date): string {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  return `model_${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}_${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}_${iso.slice(20, 23)}`;
}

/** The n-th name for a stem: the stem itself, then stem_1, stem_2, ... */
export function modelName(stem: string, counter: number): string {
  return counter === 0 ? stem : `${stem}_${counter}`;
}

export function isModelName(value: string): boolean {
  return NAME_RE.test(value);
}

export function modelFileName(name: string, format: ModelFormat): string {
  return `${name}${EXTENSIONS[format]}`;
}

export function sidecarFileName(name: string): string {
  return `${name}${SIDECAR_SUFFIX}`;
}

/** The model name a sidecar file name belongs to, or undefined for any other file. */
export function nameOfSidecar(fileName: string): string | undefined {
  if (!fileName.endsWith(SIDECAR_SUFFIX)) return undefined;
  const name = fileName.slice(0, -SIDECAR_SUFFIX.length);
  return isModelName(name) ? name : undefined;
}

/**
 * Splits a file name that belongs to a model: the model file (with its format) or the sidecar.
 * A bare model name is accepted too (format unknown until the sidecar is read).
 */
export function parseModelFileName(fileName: string): { name: string; format?: ModelFormat } | undefined {
  for (const format of MODEL_FORMATS) {
    const ext = EXTENSIONS[format];
    if (fileName.endsWith(ext) && isModelName(fileName.slice(0, -ext.length))) return { name: fileName.slice(0, -ext.length), format };
  }
  const name = nameOfSidecar(fileName);
  if (name !== undefined) return { name };
  return isModelName(fileName) ? { name: fileName } : undefined;
}

/**
 * Orders names by time, then by counter as a number (string order would put _10 before _2).
 * Only for names that pass isModelName.
 */
export function compareModelNames(a: string, b: string): number {
  const ma = NAME_RE.exec(a);
  const mb = NAME_RE.exec(b);
  if (!ma || !mb) return a < b ? -1 : a > b ? 1 : 0;
  const stemA = `${ma[1]}${ma[2]}${ma[3]}`;
  const stemB = `${mb[1]}${mb[2]}${mb[3]}`;
  if (stemA !== stemB) return stemA < stemB ? -1 : 1;
  return Number(ma[4] ?? 0) - Number(mb[4] ?? 0);
}
