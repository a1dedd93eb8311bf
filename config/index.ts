/** Configuration: settings from the environment, the table of limits, and the policies kept as data. */
export { loadConfig, SETTINGS, type Config, type Role, type SettingDef } from './settings.js';
export { LIMITS, resolveLimits, type Limits, type LimitName, type LimitDef } from './limits.js';
export * from './authorization-grid.js';
export * from './docs.js';
export * from './paths.js';
export * from './relay.js';
export * from './retry.js';
export * from './rubric-mapping.js';
export * from './rubrics.js';
export * from './rules/index.js';
