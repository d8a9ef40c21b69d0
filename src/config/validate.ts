import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { SkyError } from '../errors.js';
import { joinKey, locate, type Position } from './locate.js';
import { closestKey } from './suggest.js';

// verbose: errors carry their schema, so an `errorMessage` on an anyOf can replace its branches' messages.
const ajv = new Ajv({ useDefaults: true, allErrors: false, strict: false, allowUnionTypes: true, verbose: true });
const compiled = new WeakMap<object, ValidateFunction>();

function compile(schema: object): ValidateFunction {
  let v = compiled.get(schema);
  if (!v) {
    v = ajv.compile(schema);
    compiled.set(schema, v);
  }
  return v;
}

/** "/chain/2/forward/to" under prefix "" → "chain[2].forward.to". */
export function pointerToPath(prefix: string, pointer: string): string {
  let p = prefix;
  for (const seg of pointer.split('/').slice(1)) {
    const s = seg.replace(/~1/g, '/').replace(/~0/g, '~');
    p = /^\d+$/.test(s) ? `${p}[${s}]` : joinKey(p, s);
  }
  return p;
}

function describe(e: ErrorObject, path: string): { path: string; message: string } {
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const allowed = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      const near = closestKey(key, allowed);
      return { path: joinKey(path, key), message: `unknown key "${key}"${near ? `; did you mean ${near}?` : ''}` };
    }
    case 'required': {
      const key = String(params.missingProperty);
      return { path: joinKey(path, key), message: `missing required key "${key}"` };
    }
    case 'enum':
      return { path, message: `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` };
    default:
      return { path, message: e.message ?? 'invalid value' };
  }
}

/**
 * Validates `data` in place (defaults filled) against `schema`. On failure throws
 * SKY_ERR_CONFIG_INVALID naming the key path and, when known, the line.
 */
export function validateAt(schema: object, data: unknown, prefix: string, positions: Map<string, Position>): void {
  const v = compile(schema);
  if (v(data)) return;
  const err = v.errors![0]!;
  const custom = v.errors!.find((e) => e.keyword === 'anyOf' && e.instancePath === err.instancePath && typeof (e.parentSchema as { errorMessage?: unknown } | undefined)?.errorMessage === 'string');
  const described = describe(err, pointerToPath(prefix, err.instancePath));
  const { path, message } = custom ? { path: described.path, message: (custom.parentSchema as { errorMessage: string }).errorMessage } : described;
  const pos = locate(positions, path);
  throw new SkyError('SKY_ERR_CONFIG_INVALID', `${path || 'Skyfile'}: ${message}`, { path, ...(pos ? { line: pos.line, column: pos.column } : {}) });
}
