/**
 * The built-in plugins, by the name a Skyfile uses. The core never imports a
 * plugin anywhere else; this table is the one place the two meet.
 */
import type { PluginFactory } from './plugin.js';
import log from '../plugins/log/index.js';
import skydns from '../plugins/skydns/index.js';
import synth from '../plugins/synth/index.js';
import forward from '../plugins/forward/index.js';
import cache from '../plugins/cache/index.js';
import api from '../plugins/api/index.js';
import metrics from '../plugins/metrics/index.js';
import health from '../plugins/health/index.js';
import acl from '../plugins/acl/index.js';
import ratelimit from '../plugins/ratelimit/index.js';
import dnssec from '../plugins/dnssec/index.js';
import catalog from '../plugins/catalog/index.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const builtins: Readonly<Record<string, PluginFactory<any>>> = Object.freeze({
  log,
  skydns,
  synth,
  forward,
  cache,
  api,
  metrics,
  health,
  acl,
  ratelimit,
  dnssec,
  catalog,
});
