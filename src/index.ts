// The package's public surface for plugin authors and embedders.
export * from './plugin.js';
export { SkyError, ERRORS, isSkyError, type ErrorCode } from './errors.js';
export { type Clock, type Timer, systemClock, ManualClock } from './clock.js';
export { Rcode, Type, typeName, typeNumber, rcodeName, type RR, type Message, type Flags } from './dns/types.js';
export { isSubdomain, lowerName } from './dns/names.js';
export { prepareWire, patchWire, type WireAnswer } from './dns/wire-answer.js';
export { encodeResponse } from './dns/encode.js';
export { formatRR } from './dns/presentation.js';
export { parseSkyfile, loadSkyfile, type SkyConfig } from './config/load.js';
export { SkyApp } from './app.js';
export type { Registry, Service, StoredService, RegistryEvent, ServicePattern } from './registry/types.js';
export { parseHostPort, formatHostPort, type HostPort } from './server/address.js';
