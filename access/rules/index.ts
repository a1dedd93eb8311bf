// Public surface of the access rules: pure functions only (no database, network or clock beyond what callers pass),
// so the access module's I/O layer and the SMTP/API adapters share one definition of each rule.

export * from './ins.js';
export * from './profile-state.js';
export * from './csv-file.js';
export * from './patient-csv.js';
export * from './secrets.js';
export * from './login-throttle.js';
export * from './patient-import.js';
export * from './self-service.js';
export * from './organisation.js';
export * from './blocking.js';
export * from './known-professionals.js';
export * from './reveal.js';
