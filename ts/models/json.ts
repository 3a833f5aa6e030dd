// What may be stored as JSON: exactly the values that survive JSON.stringify -> JSON.parse
// unchanged. Anything JSON would drop or rewrite silently (NaN -> null, a Date -> a string, a Map
// -> {}) is refused up front, naming the path to the offending value.
import { invalidParameterError } from '../errors.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

const EXPECTED = 'a JSON-serialisable value (null, boolean, finite number, string, array or plain object)';

function pathName(path: readonly (string | number)[]): string {
  let out = '';
  for (const part of path) {
    out += typeof part === 'number' ? `[${part}]` : out === '' ? part : /^[A-Za-z_$][\w$]*$/.test(part) ? `.${part}` : `[${JSON.stringify(part)}]`;
  }
  return out;
}

function isPlainPrototype(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function visit(value: unknown, path: (string | number)[], ancestors: Set<object>): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw invalidParameterError(pathName(path), `${EXPECTED}; JSON has no ${String(value)}`, value, true);
      return;
    case 'object':
      break;
    default:
      // undefined, function, symbol, bigint
      throw invalidParameterError(pathName(path), EXPECTED, value);
  }
  if (value === null) return;
  if (ancestors.has(value)) throw invalidParameterError(pathName(path), `${EXPECTED} without circular references`, value);
  if (Array.isArray(value)) {
    ancestors.add(value);
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      visit(value[i], path, ancestors);
      path.pop();
    }
    ancestors.delete(value);
    return;
  }
  if (!isPlainPrototype(value)) throw invalidParameterError(pathName(path), EXPECTED, value);
  ancestors.add(value);
  for (const key of Object.keys(value)) {
    const child = (value as Record<string, unknown>)[key];
    // JSON leaves out undefined properties; optional fields of a config object are often undefined.
    if (child === undefined) continue;
    path.push(key);
    visit(child, path, ancestors);
    path.pop();
  }
  ancestors.delete(value);
}

/** Throws a TypeError/RangeError naming `name` (and the path inside it) unless value is storable as JSON. */
export function checkJsonValue(name: string, value: unknown): JsonValue {
  visit(value, [name], new Set());
  return value as JsonValue;
}

/** A plain object whose contents are storable as JSON (metrics, config). */
export function checkJsonObject(name: string, value: unknown): Record<string, JsonValue> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !isPlainPrototype(value)) {
    throw invalidParameterError(name, 'a plain object of JSON-serialisable values', value);
  }
  return checkJsonValue(name, value) as Record<string, JsonValue>;
}
