// The public test harness: `import { runPlugin, startServer } from 'skydns/testing'`.
export { ManualClock } from '../clock.js';
export * from './client.js';
export * from './harness.js';
export * from './ports.js';
export * from './prometheus.js';
export * from './registry.js';
export * from './server.js';
export * from './upstream.js';
