/* global process, console, performance */
// Ceiling of PostgreSQL alone (bench/ceiling/run.sh): 20 connections insert COUNT random values of SIZE bytes
// (storage EXTERNAL, no compression), one synchronous commit each, as node-postgres sends them. One JSON line.
import { createRequire } from 'node:module';
import crypto from 'node:crypto';

const require = createRequire(import.meta.url);
const pg = require('pg');
const [, , url, size = '1048576', count = '400'] = process.argv;
const SIZE = Number(size),
  N = Number(count),
  SESSIONS = 20;
const pool = new pg.Pool({ connectionString: url, max: SESSIONS });
await pool.query(
  'DROP TABLE IF EXISTS ceiling_floor; CREATE TABLE ceiling_floor (id serial PRIMARY KEY, b bytea); ALTER TABLE ceiling_floor ALTER COLUMN b SET STORAGE EXTERNAL',
);
const values = Array.from({ length: 8 }, () => crypto.randomBytes(SIZE));
let next = 0;
const t0 = performance.now();
await Promise.all(
  Array.from({ length: SESSIONS }, async () => {
    while (next < N) await pool.query('INSERT INTO ceiling_floor (b) VALUES ($1)', [values[next++ % values.length]]);
  }),
);
const secs = (performance.now() - t0) / 1000;
await pool.query('DROP TABLE ceiling_floor');
await pool.end();
console.log(
  JSON.stringify({
    label: 'postgresql-insert',
    size_bytes: SIZE,
    count: N,
    secs: +secs.toFixed(2),
    rows_per_s: +(N / secs).toFixed(1),
    MB_per_s: +((N * SIZE) / secs / 1e6).toFixed(1),
  }),
);
