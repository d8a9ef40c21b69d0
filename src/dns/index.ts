// The wire layer's public surface. Only files under src/dns/ import dns-packet.
export * from './types.js';
export * from './names.js';
export { parseQuery, type ParsedQuery, type QueryVerdict, type Edns } from './query.js';
export { encodeResponse, type EncodeHeader, type Encoded, type OptOut } from './encode.js';
export { decodeMessage, encodeQuery, type DecodedMessage } from './decode.js';
export { allocReply, prepareWire, patchWire, minTtl, type WireAnswer } from './wire-answer.js';
export { formatRR, normalizeRR, rdataText, fqdn } from './presentation.js';
