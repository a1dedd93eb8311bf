// The outbound relay against real SMTP servers on 127.0.0.1 with mutual TLS from a generated development PKI.
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dnFromX509, initDevelopmentPki, loadTrustMaterial, loadWhitelistFile, splitPem, type PkiPaths, type Whitelist } from '../../certs/index.js';
import {
  DestinationLimiter,
  checkDestinationCertificate,
  deliverMessage,
  type DeliverInput,
  type DeliveryResult,
  type RelayTlsMaterial,
} from '../../gateway/relay/index.js';
import { freePort } from '../support/ports.js';
import { smtpError, startSink, type Sink } from './sink.js';

const HOPITAL = 'hopital-a.mssante.fr';
const CABINET = 'cabinet-b.mssante.fr';
const PATIENT = '1850607123456@patient.mssante.fr';

let tmp: string;
let pki: PkiPaths;
let ca: string[];
let whitelist: Whitelist;
let clientTls: RelayTlsMaterial;
let gatewayDn: string;
const sinks: Sink[] = [];

// CRLF line endings, a line starting with a dot (dot-stuffing must round-trip), 8-bit UTF-8 in the body.
const MESSAGE = Buffer.from(
  [
    `From: <${PATIENT}>`,
    `To: <dr@${HOPITAL}>`,
    'Subject: =?UTF-8?Q?R=C3=A9ponse?=',
    'Message-ID: <relay-test-1@patient.mssante.fr>',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    'Bonjour Docteur, voici ma réponse.',
    '.une ligne qui commence par un point',
    '..et deux points',
    '',
  ].join('\r\n'),
  'utf8',
);

async function sink(behaviour?: Parameters<typeof startSink>[0]['behaviour'], serverCert = pki.operators[HOPITAL]): Promise<Sink> {
  const s = await startSink({ serverCert, ca, behaviour });
  sinks.push(s);
  return s;
}

function input(s: Sink | { port: number }, over: Partial<DeliverInput> = {}): DeliverInput {
  return {
    to: `dr@${HOPITAL}`,
    envelopeFrom: PATIENT,
    raw: MESSAGE,
    destinations: [{ host: '127.0.0.1', port: s.port }],
    tls: clientTls,
    whitelist,
    heloName: 'mx.patient.mssante.fr',
    timeoutMs: 5_000,
    ...over,
  };
}

const failed = (r: DeliveryResult) => {
  if (r.ok) throw new Error(`expected a failure, got ${JSON.stringify(r)}`);
  return r;
};

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'relay-'));
  pki = await initDevelopmentPki(tmp);
  ca = (await loadTrustMaterial({ caFile: pki.ca })).ca;
  whitelist = await loadWhitelistFile(pki.whitelist);
  clientTls = { cert: await readFile(pki.server.cert), key: await readFile(pki.server.key), ca };
  gatewayDn = dnFromX509(new X509Certificate(splitPem(await readFile(pki.server.cert, 'utf8'), 'CERTIFICATE')[0]!));
});

afterAll(async () => {
  await Promise.all(sinks.map((s) => s.close()));
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('deliverMessage over mutual TLS', () => {
  it('(a) delivers to the whitelisted operator: exact bytes, our client certificate verified by the sink', async () => {
    const s = await sink();
    const result = await deliverMessage(input(s));
    expect(result).toEqual({ ok: true, response: expect.stringMatching(/^250 /), host: `127.0.0.1:${s.port}` });
    expect(s.accepted).toHaveLength(1);
    expect(s.accepted[0]!.data.equals(MESSAGE)).toBe(true);
    expect(s.accepted[0]!.mailFrom).toBe(PATIENT);
    expect(s.accepted[0]!.rcptTo).toEqual([`dr@${HOPITAL}`]);
    expect(s.peers).toEqual([{ authorized: true, subjectDn: gatewayDn }]);
  });

  it('(b) refuses a destination whose certificate DN is not listed for the recipient domain: temporary/tls, nothing sent', async () => {
    const s = await sink();
    const r = failed(await deliverMessage(input(s, { to: `x@${CABINET}` })));
    expect(r).toMatchObject({ action: 'temporary', category: 'tls', host: `127.0.0.1:${s.port}` });
    expect(r.response).toMatch(/not listed for cabinet-b\.mssante\.fr/);
    expect(r.response).toContain('CN=smtp.hopital-a.mssante.fr');
    expect(s.mailFroms).toEqual([]);
    expect(s.dataCount).toBe(0);
    expect(s.accepted).toEqual([]);
  });

  it('(c) 451 twice then accepted: two temporary results, then ok, one accepted copy', async () => {
    const s = await sink({ onData: (_d, n) => (n <= 2 ? smtpError(451, '4.3.0 Temporary failure, try again later') : undefined) });
    const first = failed(await deliverMessage(input(s)));
    const second = failed(await deliverMessage(input(s)));
    for (const r of [first, second]) {
      expect(r).toMatchObject({ action: 'temporary', code: 451 });
      expect(r.response).toMatch(/^451 4\.3\.0 Temporary failure/);
    }
    const third = await deliverMessage(input(s));
    expect(third.ok).toBe(true);
    expect(s.dataCount).toBe(3);
    expect(s.accepted).toHaveLength(1);
    expect(s.accepted[0]!.data.equals(MESSAGE)).toBe(true);
  });

  it('(d) 550 5.1.1 on RCPT is permanent/recipient, no DATA', async () => {
    const s = await sink({ onRcptTo: () => smtpError(550, '5.1.1 <dr@hopital-a.mssante.fr>: Recipient address rejected: User unknown') });
    const r = failed(await deliverMessage(input(s)));
    expect(r).toMatchObject({ action: 'permanent', category: 'recipient', code: 550 });
    expect(r.response).toMatch(/^550 5\.1\.1 /);
    expect(s.dataCount).toBe(0);
  });

  it('(e) 421 4.7.0 rate limit is rate-limited', async () => {
    const s = await sink({ onMailFrom: () => smtpError(421, '4.7.0 Rate limit exceeded, try again later') });
    const r = failed(await deliverMessage(input(s)));
    expect(r).toMatchObject({ action: 'rate-limited', category: 'rate', code: 421 });
    expect(s.accepted).toEqual([]);
  });

  it('(f) a null sender reaches the sink as MAIL FROM:<> (plain stream source)', async () => {
    const s = await sink();
    const r = await deliverMessage(input(s, { envelopeFrom: '', raw: Readable.from([MESSAGE.subarray(0, 40), MESSAGE.subarray(40)]) }));
    expect(r.ok).toBe(true);
    expect(s.mailFroms).toEqual(['']);
    expect(s.accepted).toHaveLength(1);
    expect(s.accepted[0]!.mailFrom).toBe('');
    expect(s.accepted[0]!.data.equals(MESSAGE)).toBe(true);
  });

  it('(g) refuses a server certificate that does not chain to the trust anchors, even with a whitelisted DN', async () => {
    const s = await sink(undefined, pki.untrusted.client);
    const r = failed(await deliverMessage(input(s)));
    expect(r).toMatchObject({ action: 'temporary', category: 'tls' });
    expect(r.response).toMatch(/UNABLE_TO_(VERIFY_LEAF_SIGNATURE|GET_ISSUER_CERT)|unable to (verify|get)/i);
    expect(s.mailFroms).toEqual([]);
    expect(s.accepted).toEqual([]);
  });

  it('(i) refuses a destination whose certificate the CRLs revoke: temporary/tls naming CERT_REVOKED, nothing sent', async () => {
    const { crl } = await loadTrustMaterial({ caFile: pki.ca, crlFiles: [pki.crl] });
    const withCrl = { ...clientTls, crl };
    // The revoked fixture carries hopital-a's whitelisted subject: only its revocation can refuse it.
    const revoked = await sink(undefined, pki.revoked);
    const r = failed(await deliverMessage(input(revoked, { tls: withCrl })));
    expect(r).toMatchObject({ action: 'temporary', category: 'tls', host: `127.0.0.1:${revoked.port}` });
    expect(r.response).toMatch(/CERT_REVOKED|certificate revoked/i);
    expect(revoked.mailFroms).toEqual([]);
    expect(revoked.accepted).toEqual([]);
    // The CRLs are what refuse it: without them the same destination takes the message.
    expect((await deliverMessage(input(revoked))).ok).toBe(true);
    // And with them, a destination that is not revoked still does.
    const good = await sink();
    expect((await deliverMessage(input(good, { tls: withCrl }))).ok).toBe(true);
  });

  it('a destination that refuses our client certificate gives temporary/tls, nothing delivered', async () => {
    const s = await sink();
    const untrustedClient = { ...clientTls, cert: await readFile(pki.untrusted.client.cert), key: await readFile(pki.untrusted.client.key) };
    const r = failed(await deliverMessage(input(s, { tls: untrustedClient })));
    expect(r).toMatchObject({ action: 'temporary', category: 'tls' });
    expect(s.peers).toEqual([]);
    expect(s.mailFroms).toEqual([]);
    expect(s.accepted).toEqual([]);
  });

  it('tries the destinations in order after a connection failure (stream factory read again)', async () => {
    const s = await sink();
    const closed = await freePort();
    let opened = 0;
    const r = await deliverMessage(
      input(s, {
        raw: () => {
          opened += 1;
          return Readable.from([MESSAGE]);
        },
        destinations: [
          { host: '127.0.0.1', port: closed },
          { host: '127.0.0.1', port: s.port },
        ],
      }),
    );
    expect(r).toMatchObject({ ok: true, host: `127.0.0.1:${s.port}` });
    expect(opened).toBe(1);
    expect(s.accepted[0]!.data.equals(MESSAGE)).toBe(true);
  });

  it('reports a connection failure on every destination as temporary/network', async () => {
    const r = failed(await deliverMessage(input({ port: await freePort() })));
    expect(r).toMatchObject({ action: 'temporary', category: 'network' });
    expect(r.response).toMatch(/ECONNREFUSED/);
  });

  it('a server that never greets times out within the bound: temporary/timeout', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => void sockets.add(socket));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const started = Date.now();
      const r = failed(await deliverMessage(input({ port: (silent.address() as AddressInfo).port }, { timeoutMs: 400 })));
      expect(r).toMatchObject({ action: 'temporary', category: 'timeout' });
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it('a message source that fails while read is temporary/source and nothing is accepted', async () => {
    const s = await sink();
    const broken = new Readable({
      read() {
        this.push(MESSAGE.subarray(0, 20));
        this.destroy(new Error('disk read failed'));
      },
    });
    const r = failed(await deliverMessage(input(s, { raw: broken })));
    expect(r).toMatchObject({ action: 'temporary', category: 'source' });
    expect(s.accepted).toEqual([]);
  });

  it('does not connect for a recipient domain absent from the whitelist', async () => {
    const s = await sink();
    const r = failed(await deliverMessage(input(s, { to: 'dr@unknown.example.fr' })));
    expect(r).toMatchObject({ action: 'temporary', category: 'whitelist' });
    expect(s.peers).toEqual([]);
  });

  it('refuses malformed envelopes without connecting', async () => {
    const s = await sink();
    expect(failed(await deliverMessage(input(s, { to: 'no-at-sign' })))).toMatchObject({ action: 'permanent', category: 'envelope' });
    expect(failed(await deliverMessage(input(s, { envelopeFrom: 'a@b>\r\nRCPT TO:<x@y>' })))).toMatchObject({ action: 'permanent', category: 'envelope' });
    expect(s.peers).toEqual([]);
  });

  it('(h) with a DestinationLimiter, never more than N transactions at once at the destination', async () => {
    const s = await sink({ dataDelayMs: 150 });
    const limiter = new DestinationLimiter(2);
    const results = await Promise.all(Array.from({ length: 6 }, () => deliverMessage(input(s, { limiter }))));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(s.accepted).toHaveLength(6);
    expect(s.maxInFlight).toBe(2);

    // Without the limiter the same load does overlap more: the check above can fail.
    const s2 = await sink({ dataDelayMs: 150 });
    await Promise.all(Array.from({ length: 6 }, () => deliverMessage(input(s2))));
    expect(s2.maxInFlight).toBeGreaterThan(2);
  });
});

describe('checkDestinationCertificate', () => {
  it('accepts the DN listed for the domain, refuses it for another domain and refuses no certificate', async () => {
    const pem = splitPem(await readFile(pki.operators[HOPITAL].cert, 'utf8'), 'CERTIFICATE')[0]!;
    const raw = new X509Certificate(pem).raw;
    expect(checkDestinationCertificate(whitelist, HOPITAL, { raw })).toBeUndefined();
    expect(checkDestinationCertificate(whitelist, 'HOPITAL-A.mssante.fr.', { raw })).toBeUndefined();
    const other = checkDestinationCertificate(whitelist, CABINET, { raw });
    expect(other).toBeInstanceOf(Error);
    expect((other as NodeJS.ErrnoException).code).toBe('ERR_RELAY_DN_NOT_LISTED');
    expect(checkDestinationCertificate(whitelist, HOPITAL, undefined)).toBeInstanceOf(Error);
    expect(checkDestinationCertificate(whitelist, HOPITAL, { raw: Buffer.from('garbage') })).toBeInstanceOf(Error);
  });
});
