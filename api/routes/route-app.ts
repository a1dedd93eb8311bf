/** The fastify instance a group of routes registers on (a plugin's, with TypeBox typing), for route files split along their roles. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';

export type RouteApp = Parameters<FastifyPluginAsyncTypebox>[0];
