/** The system of record: schema, connection (an external PostgreSQL or the embedded one) and migrations. */
export * as schema from './schema.js';
export { openDatabase, createPool, rowsOf, type Db, type Tx, type Database } from './connection.js';
export { ensureEmbeddedPostgres, livePostmaster, EmbeddedPostgresError, type EmbeddedServer } from './embedded-postgres.js';
export { executePrepared, queryPrepared, poolOf } from './prepared.js';
export { afterPosition, decodeCursor, encodeCursor, keysetAt, MAX_CURSOR_LENGTH, type CursorList, type KeysetPosition } from './keyset.js';
export { cteStatement, cteNames, CteNameClash, type Cte } from './cte.js';
export * from './enums.js';
