/** Configuration: settings from the environment and the table of limits. */
export { loadConfig, SETTINGS, type Config, type Role, type SettingDef } from './settings.js';
export { LIMITS, resolveLimits, type Limits, type LimitName, type LimitDef } from './limits.js';
