// A process that opens the embedded PostgreSQL of argv[2] and prints {pid, owner}; then it stops its handle and
// exits when its stdin ends ("stop"), or waits to be killed ("hold").
import { ensureEmbeddedPostgres } from '../../db/embedded-postgres.js';

const server = await ensureEmbeddedPostgres(process.argv[2]!);
process.stdout.write(`${JSON.stringify({ pid: server.pid, owner: server.owner })}\n`);
if (process.argv[3] === 'stop') {
  process.stdin.resume();
  process.stdin.on('end', () => {
    void server.stop().then(() => process.exit(0));
  });
} else {
  setInterval(() => {}, 1000);
}
