/** Configuration rules: pure functions over the loaded settings (no I/O; the caller gathers the facts). */
export * from './production.js';
