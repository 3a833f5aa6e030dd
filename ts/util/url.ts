// URLs as they are shown: in logs, error messages and dataset metadata. The userinfo of a URL
// (`user:password@`) is a credential, so wherever a URL is shown it reads `***@` instead.

/**
 * The scheme and everything up to the last '@' before the path, query or fragment: a URL's
 * userinfo (a password may itself hold '@'; the host is what follows the last one).
 */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^/?#\s]*@/gi;

/** `text` (a URL, or a message holding URLs) with the userinfo of every URL replaced by `***`. */
export function redactUrl(text: string): string {
  return text.replace(USERINFO, '$1***@');
}

/** `value` with redactUrl applied to every string inside (plain objects and arrays walked; other objects kept). */
export function redactUrls(value: unknown): unknown {
  if (typeof value === 'string') return redactUrl(value);
  if (Array.isArray(value)) return value.map(redactUrls);
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactUrls(v)]));
  }
  return value;
}
