/** HTTP adapter: the companion API. */
export { buildApi, buildOrganisationApi, updateOrganisationCrl, type OrganisationTls } from './server.js';
export type { ApiContext } from './context.js';
export { startStatusServer, registerHealthRoutes, type HealthContext } from './health.js';
export { problemsTable, PROBLEMS } from './problems.js';
export { serializeRequest } from './request-log.js';
