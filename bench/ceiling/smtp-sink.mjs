/* global process, console */
// Ceiling of the SMTP side alone (bench/ceiling/run.sh): smtp-server with STARTTLS and a requested client
// certificate, and nothing else. MODE=discard drains each message; MODE=file writes it to a file and fsyncs it
// before 250 (what Postfix does). No database, no encryption, no parsing: what no gateway built on smtp-server
// can exceed on this machine.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

const require = createRequire(import.meta.url);
const { SMTPServer } = require('smtp-server');
const [, , mode = 'discard', port = '2799', dir = '/tmp'] = process.argv;
const spool = fs.mkdtempSync(path.join(dir, 'sink-'));
let n = 0;

async function spoolAndSync(stream) {
  const file = path.join(spool, String(++n));
  await pipeline(stream, fs.createWriteStream(file, { flush: true })); // fsync before close
  await fs.promises.unlink(file);
}

const server = new SMTPServer({
  key: fs.readFileSync(path.join(dir, 'server.key')),
  cert: fs.readFileSync(path.join(dir, 'server.crt')),
  requestCert: true,
  rejectUnauthorized: false,
  authOptional: true,
  disabledCommands: ['AUTH'],
  size: 30_000_000,
  maxClients: 500,
  logger: false,
  onData(stream, _session, done) {
    if (mode === 'discard') {
      stream.resume();
      stream.on('end', () => done());
      return;
    }
    spoolAndSync(stream).then(() => done(), done);
  },
});
server.listen(Number(port), '127.0.0.1', () => console.log('listening'));
process.on('SIGTERM', () => {
  fs.rmSync(spool, { recursive: true, force: true });
  process.exit(0);
});
