/** The registry's public surface: the model, names and patterns, backends, callbacks. */
export * from './types.js';
export * from './names.js';
export * from './pattern.js';
export { MemoryIndex } from './memory-index.js';
export { EmbeddedRegistry, type EmbeddedOptions } from './embedded.js';
export { EtcdRegistry, type EtcdOptions } from './etcd.js';
export { CallbackNotifier, callbackMatches, callbackUrl, checkReplyAllowed, type CallbackNotifierOptions } from './callbacks.js';
export { createRegistry, registrySchema, type RegistryContext, type RegistryOptions } from './create.js';
export { WorkerRegistry, type WorkerRegistryOptions } from './ipc-mirror.js';
export { RegistryHost, type RegistryHostOptions } from './ipc-host.js';
export { portChannel, processChannel, workerChannel, type Channel, type SkyMessage } from './ipc-channel.js';
