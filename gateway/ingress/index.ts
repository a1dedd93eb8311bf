/** The SMTP ingress: the listener, its shared limits and its reply table (the README is generated from it). */
export { startIngress, type Ingress } from './server.js';
export { SharedLimits } from './shared-limits.js';
export { repliesTable, REPLIES } from './replies.js';
