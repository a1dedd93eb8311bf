/** Configuration rules: pure functions over the loaded settings (no I/O; the caller gathers the facts). */
export * from './production.js';
export * from './pro-keys.js';
export * from './logging.js';
export * from './https-url.js';
