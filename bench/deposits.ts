/**
 * Bulk pre-admission benchmark: a hospital system deposits documents through the organisation API (mutual TLS
 * with the development PKI's `chu-test` certificate) in batches, as `POST /v1/organisation/documents` streams
 * them, then resends the first batch to time the idempotent path. Drives a RUNNING gateway started with
 * PRO_API_MTLS_PORT on the development PKI:
 *
 *   DATA_DIR=/tmp/depgw PRO_API_MTLS_PORT=8443 API_PORT=8280 SMTP_PORT=2725 npm start
 *   npm run bench:deposits -- --data-dir /tmp/depgw --mtls-port 8443 --api-port 8280 --count 2000 --batch 200 --size 100k
 *
 * Prints documents per second and MB/s of the deposits, the slowest batch, and the resend's rate; exit 1 when
 * any document was not filed (or not found again on the resend). Each document is a distinct random PDF body,
 * so nothing is deduplicated; patients are the benchmark's synthetic ones (bench/api.ts), in state `created`.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { OperatorApi } from './api.js';

const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string', default: './data' },
    'mtls-port': { type: 'string', default: '8443' },
    'api-port': { type: 'string', default: '8080' },
    host: { type: 'string', default: '127.0.0.1' },
    count: { type: 'string', default: '1000' },
    batch: { type: 'string', default: '100' },
    size: { type: 'string', default: '100k' },
    patients: { type: 'string', default: '100' },
  },
});

const sizeOf = (s: string) => Math.round(Number.parseFloat(s) * (/m$/i.test(s) ? 1 << 20 : /k$/i.test(s) ? 1024 : 1));
const count = Number(values.count);
const batch = Number(values.batch);
const size = sizeOf(values.size!);
const dataDir = values['data-dir']!;
const pki = path.join(dataDir, 'pki');

interface BatchAnswer {
  results: { status: string; code: string | null }[];
}

function body(boundary: string, first: number, n: number, inses: string[], seed: number): Readable {
  return Readable.from(
    (function* () {
      for (let i = first; i < first + n; i++) {
        const meta = { key: `bench-${seed}-${i}`, ins: inses[i % inses.length], title: `Dossier de pré-admission ${i}`, typeCode: '11488-4' };
        yield Buffer.from(
          `--${boundary}\r\ncontent-disposition: form-data; name="document"\r\ncontent-type: application/json\r\n\r\n${JSON.stringify(meta)}\r\n`,
        );
        yield Buffer.from(
          `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="preadmission-${i}.pdf"\r\ncontent-type: application/pdf\r\n\r\n`,
        );
        // Deterministic per document, distinct between documents: a resend sends the same bytes.
        const rng = crypto.createHash('sha256').update(`${seed}-${i}`).digest();
        const block = Buffer.alloc(Math.max(0, size - 9));
        for (let o = 0; o < block.length; o += rng.length) rng.copy(block, o);
        block.writeUInt32LE(i, 0);
        yield Buffer.concat([Buffer.from('%PDF-1.7\n'), block, Buffer.from('\r\n')]);
      }
      yield Buffer.from(`--${boundary}--\r\n`);
    })(),
  );
}

async function send(tls: https.RequestOptions, first: number, n: number, inses: string[], seed: number): Promise<BatchAnswer> {
  const boundary = `----bench${crypto.randomBytes(8).toString('hex')}`;
  return new Promise((resolve, reject) => {
    const req = https.request(
      { ...tls, method: 'POST', path: '/v1/organisation/documents', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as BatchAnswer)
            : reject(new Error(`HTTP ${res.statusCode}: ${Buffer.concat(chunks).toString('utf8').slice(0, 300)}`)),
        );
      },
    );
    req.on('error', reject);
    body(boundary, first, n, inses, seed).pipe(req);
  });
}

async function main(): Promise<void> {
  const token = (await fs.readFile(path.join(dataDir, 'admin.token'), 'utf8')).trim();
  const inses = OperatorApi.patientInses(Number(values.patients));
  await new OperatorApi(values.host!, Number(values['api-port']), token).importPatients(inses);
  const tls: https.RequestOptions = {
    host: values.host,
    port: Number(values['mtls-port']),
    servername: 'localhost',
    ca: await fs.readFile(path.join(pki, 'ca.crt')),
    cert: await fs.readFile(path.join(pki, 'organisations', 'chu-test.crt')),
    key: await fs.readFile(path.join(pki, 'organisations', 'chu-test.key')),
    agent: new https.Agent({ keepAlive: true, maxSockets: 1 }),
  };
  const seed = Date.now();
  let filed = 0;
  let slowest = 0;
  const t0 = process.hrtime.bigint();
  for (let first = 0; first < count; first += batch) {
    const b0 = process.hrtime.bigint();
    const r = await send(tls, first, Math.min(batch, count - first), inses, seed);
    slowest = Math.max(slowest, Number(process.hrtime.bigint() - b0) / 1e6);
    filed += r.results.filter((x) => x.status === 'filed').length;
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const r0 = process.hrtime.bigint();
  const resent = await send(tls, 0, Math.min(batch, count), inses, seed);
  const resendSecs = Number(process.hrtime.bigint() - r0) / 1e9;
  const again = resent.results.filter((x) => x.status === 'already-filed').length;
  const line = {
    documents: count,
    batch,
    size_bytes: size,
    filed,
    secs: Number(secs.toFixed(2)),
    docs_per_s: Number((filed / secs).toFixed(1)),
    MB_per_s: Number(((filed * size) / secs / 1e6).toFixed(1)),
    slowest_batch_ms: Math.round(slowest),
    resend_already_filed: again,
    resend_docs_per_s: Number((again / resendSecs).toFixed(1)),
  };
  console.log(JSON.stringify(line));
  process.exitCode = filed === count && again === Math.min(batch, count) ? 0 : 1;
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exitCode = 1;
});
