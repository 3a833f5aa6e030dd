// The bridge from the data layer's own validators to the config schema: a check that throws the
// package's argument error becomes a zod issue saying what was expected, so a config value is
// judged by exactly the rule the library applies (and the rule is written once).
import type { z } from 'zod';
import { isArgumentError } from '../errors.js';

/** Marks an issue whose message already names the value received (no "(got ...)" appended). */
export const NAMES_VALUE = 'namesValue';

type Issue = Parameters<z.RefinementCtx['addIssue']>[0];

/** The issue for `run`'s argument error (at `path` below the refined value), or null when it passes. */
export function issueOf(run: () => unknown, value: unknown, path: PropertyKey[] = []): Issue | null {
  try {
    run();
    return null;
  } catch (err) {
    if (!isArgumentError(err)) throw err;
    return { code: 'custom', message: `expected ${err.expected} but received ${err.received}`, input: value, path, params: { [NAMES_VALUE]: true } } as Issue;
  }
}

/** A refinement running `check` on the value. */
export function validatedBy<T>(check: (value: T) => unknown) {
  return (value: T, ctx: z.RefinementCtx): void => {
    const issue = issueOf(() => check(value), value);
    if (issue) ctx.addIssue(issue);
  };
}
