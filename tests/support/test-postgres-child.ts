// Starts a test cluster (tests/support/test-postgres.ts), prints its URL, then waits: killed with SIGKILL it is a
// test run that died before its teardown; SIGTERM stops its cluster first. For tests/ci/test-postgres.test.ts.
import { startTestPostgres } from './test-postgres.js';

const pg = await startTestPostgres();
console.log(pg.url);
const wait = setInterval(() => {}, 60_000);
process.once('SIGTERM', () => {
  clearInterval(wait);
  pg.stop();
});
