/**
 * One 400 for everything wrong with a body. The route schema finds shape
 * problems (a wrong type, an unknown field) before the handler runs, and the
 * registry finds value problems (missing, out of range) only once the shape is
 * right; a client fixing one list would then meet the next. Routes that opt in
 * (`attachValidation`) hand a schema failure here, which adds what the value
 * check says about the fields the schema did not flag, and answers both at once.
 */
import { SkyError } from '../../src/errors.js';
import { describeValidation, MAX_LISTED } from './http-errors.js';

interface SchemaFailure extends Error {
  validation?: Array<{ keyword: string; instancePath: string; message?: string; params: Record<string, unknown> }>;
  validationContext?: string;
}

/**
 * The error to answer for a schema failure `err` of `body`. `check` runs the
 * value checks on the body without the flagged fields (it must not write) and
 * throws a SkyError, with `problems` when there are several. A failure outside
 * the body, or of a body that is not an object, is returned as it is.
 */
export function bodyProblems(err: SchemaFailure, body: unknown, check: (o: Record<string, unknown>) => void): Error {
  if (err.validationContext !== 'body' || !Array.isArray(err.validation) || typeof body !== 'object' || body === null || Array.isArray(body)) return err;
  const shape = err.validation.map((v) => describeValidation(v, 'body'));
  if (shape.some((s) => s.field === undefined)) return err;
  const flagged = new Set(shape.map((s) => s.field!));
  const rest = Object.fromEntries(Object.entries(body).filter(([k]) => !flagged.has(k)));
  const values: Array<{ path: string; message: string }> = [];
  try {
    check(rest);
  } catch (e) {
    if (!(e instanceof SkyError)) throw e;
    for (const p of e.problems ?? [{ path: e.path ?? '', message: e.message }]) if (!flagged.has(p.path)) values.push(p);
  }
  if (values.length === 0) return err;
  const problems = [...shape.map((s) => ({ path: s.field!, message: s.message })), ...values];
  const listed = problems.slice(0, MAX_LISTED).map((p) => p.message).join('; ');
  const more = problems.length > MAX_LISTED ? `; and ${problems.length - MAX_LISTED} more` : '';
  return new SkyError('SKY_ERR_API_BAD_REQUEST', `${problems.length} problems in the body: ${listed}${more}`, { path: problems[0]!.path, problems });
}
