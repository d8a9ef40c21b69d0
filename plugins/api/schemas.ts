/**
 * JSON schemas of the HTTP API, checked by fastify's ajv (configured with no
 * type coercion and no silent removal of unknown fields, so a wrong type or an
 * unknown field is a 400). The schemas check shape only; the registry checks
 * values (labels, ranges, TTL bounds) and names the field it refuses.
 */

import { SkyError } from '../../src/errors.js';
import { uuidKey } from '../../src/registry/names.js';

const label = { type: 'string', maxLength: 1024 } as const;

/**
 * The UUID of a PUT: the path's, unless the body repeats it (then they must
 * agree, case-insensitively). An empty one is not given: SkyDNS 1's Go client
 * marshals its whole struct, `"UUID":""` included, and SkyDNS 1 took the path's.
 */
export function uuidOf(bodyUuid: string | undefined, pathUuid: string): string {
  if (bodyUuid === undefined || bodyUuid === '') return pathUuid;
  if (uuidKey(bodyUuid) !== uuidKey(pathUuid)) {
    throw new SkyError('SKY_ERR_REGISTRY_INVALID', `UUID in the body (${JSON.stringify(bodyUuid)}) differs from the UUID in the path (${JSON.stringify(pathUuid)})`, { path: 'UUID' });
  }
  return bodyUuid;
}

/**
 * Field names of a registration, in SkyDNS 1 spelling: SkyDNS 1's msg.Service
 * as its Go client marshals it (`Callback` is `json:"-"` there, never sent),
 * plus Priority and Weight. `Expires` is read-only: accepted and ignored.
 */
export const SERVICE_FIELDS = ['UUID', 'Name', 'Version', 'Environment', 'Region', 'Host', 'Port', 'TTL', 'Expires', 'NoExpire', 'Priority', 'Weight'] as const;
export const CALLBACK_FIELDS = ['UUID', 'Name', 'Version', 'Environment', 'Region', 'Host', 'Reply', 'Port'] as const;

export const uuidParams = {
  type: 'object',
  additionalProperties: false,
  required: ['uuid'],
  properties: { uuid: { type: 'string', minLength: 1, maxLength: 1024 } },
} as const;

/**
 * `PUT /skydns/services/{uuid}`: UUID may be left out (the path's is used).
 * Required fields are the registry's to check, so a missing field and a bad
 * value answer alike (400, SKY_ERR_REGISTRY_INVALID, naming the field).
 */
export const serviceBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    UUID: label,
    Name: label,
    Version: label,
    Environment: label,
    Region: label,
    Host: label,
    Port: { type: 'integer' },
    TTL: { type: 'integer' },
    Priority: { type: 'integer' },
    Weight: { type: 'integer' },
    NoExpire: { type: 'boolean' },
    /** Read-only (the server computes it from TTL): accepted and ignored, as SkyDNS 1 did. */
    Expires: { type: 'string', maxLength: 64 },
  },
} as const;

/**
 * `PATCH /skydns/services/{uuid}`: `{"TTL": n}`, `{}` or no body (the
 * registered TTL), or the whole service document as SkyDNS 1's tests send it:
 * only TTL is used; the other fields must not differ from the registered ones.
 */
export const heartbeatBody = serviceBody;

/** `PUT /skydns/services/{uuid}?replace=true` takes over a live UUID at once. */
export const putQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { replace: { type: 'string', enum: ['true', 'false'] } },
} as const;

export const callbackBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    UUID: label,
    Name: label,
    Version: label,
    Environment: label,
    Region: label,
    Host: label,
    Reply: label,
    Port: { type: 'integer' },
  },
} as const;

export const queryString = {
  type: 'object',
  additionalProperties: false,
  properties: { query: { type: 'string', maxLength: 1024 } },
} as const;

export const serviceJSON = {
  type: 'object',
  additionalProperties: false,
  required: ['UUID', 'Name', 'Version', 'Environment', 'Region', 'Host', 'Port', 'TTL'],
  properties: {
    UUID: { type: 'string' },
    Name: { type: 'string' },
    Version: { type: 'string' },
    Environment: { type: 'string' },
    Region: { type: 'string' },
    Host: { type: 'string' },
    Port: { type: 'integer' },
    /** Remaining seconds. */
    TTL: { type: 'integer' },
    Priority: { type: 'integer' },
    Weight: { type: 'integer' },
    NoExpire: { type: 'boolean' },
    /** RFC 3339. */
    Expires: { type: 'string' },
  },
} as const;

export const callbackJSON = {
  type: 'object',
  additionalProperties: false,
  required: ['UUID', 'Name', 'Reply', 'Port'],
  properties: {
    UUID: { type: 'string' },
    Name: { type: 'string' },
    Version: { type: 'string' },
    Environment: { type: 'string' },
    Region: { type: 'string' },
    Host: { type: 'string' },
    Reply: { type: 'string' },
    Port: { type: 'integer' },
  },
} as const;

export const errorJSON = {
  type: 'object',
  additionalProperties: false,
  required: ['error', 'code'],
  properties: {
    error: { type: 'string' },
    code: { type: 'string' },
    /** The offending field, when there is one (the first, when there are several). */
    field: { type: 'string' },
    /** Every offending field with its own message, when there are several. */
    fields: {
      type: 'array',
      items: { type: 'object', additionalProperties: false, required: ['field', 'error'], properties: { field: { type: 'string' }, error: { type: 'string' } } },
    },
  },
} as const;

export const countsJSON = {
  type: 'object',
  additionalProperties: { type: 'integer' },
} as const;

/** Error responses every route may give. */
export const errorResponses = { '4xx': errorJSON, '5xx': errorJSON } as const;

/**
 * SkyDNS 1 decoded bodies with Go's encoding/json, which matches field names
 * case-insensitively (`"port"` filled `Port`). Renames such keys to the
 * canonical spelling before validation; a key that matches no field, or would
 * clash with one already present, is left alone for the schema to refuse.
 */
export function canonicalKeys(body: unknown, fields: readonly string[]): void {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return;
  const o = body as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (fields.includes(key)) continue;
    const canon = fields.find((f) => f.toLowerCase() === key.toLowerCase());
    if (canon === undefined || Object.hasOwn(o, canon)) continue;
    o[canon] = o[key];
    delete o[key];
  }
}
