// The registration client: `import { register } from 'skydns/client'`.
export {
  apiBase,
  apiRequest,
  environments,
  getService,
  heartbeat,
  isSkyApiError,
  putCallback,
  putService,
  queryServices,
  regions,
  removeCallback,
  removeService,
  SkyApiError,
  type ClientOptions,
} from './http.js';
export { watch, type WatchEvent, type WatchOptions } from './watch.js';
export { register, type RegisterOptions, type Registration } from './register.js';
export type { Callback, Service, ServiceJSON } from '../registry/types.js';
