/** The system of record: schema, connection (PostgreSQL or embedded PGlite) and migrations. */
export * as schema from './schema.js';
export { openDatabase, acquireLock, lockHolder, pgliteLockFile, DatabaseLockedError, type Db, type Tx, type Database } from './connection.js';
