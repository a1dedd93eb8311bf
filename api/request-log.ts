/**
 * What the logs say about an HTTP request: its method, its route pattern and its id, never its URL.
 *
 * URLs carry personal data (`/v1/patients/{ins}/documents`, `/v1/admin/patients/{ins}/state`) and query
 * strings (cursors, tokens someone put there by mistake); the route pattern (`/v1/patients/:ins/documents`)
 * says which endpoint was called without saying for whom. A request that matched no route is logged as
 * `(no route)`: its path is whatever the client sent, so it is not logged either.
 */

/** The parts of a fastify request (or a bare object with those members) the serializer reads. */
export interface LoggedRequest {
  method?: string;
  id?: string;
  routeOptions?: { url?: string };
}

export const UNMATCHED_ROUTE = '(no route)';

export function serializeRequest(req: LoggedRequest): { method: string | undefined; route: string; id: string | undefined } {
  const route = req.routeOptions?.url;
  return { method: req.method, route: typeof route === 'string' && route !== '' ? route : UNMATCHED_ROUTE, id: req.id };
}
