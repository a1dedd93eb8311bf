/** HTTP adapter: the companion API. */
export { buildApi } from './server.js';
export type { ApiContext } from './context.js';
