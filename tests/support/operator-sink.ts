/**
 * A professional's MSSanté operator, for tests: a real SMTP server with STARTTLS that requires and verifies the
 * client certificate (mutual TLS against the development trust anchors) and presents the hopital-a operator
 * certificate. Its answers are scripted (accept, temporary or permanent refusal, hold the final reply).
 */
import fs from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: Buffer;
  clientAuthorized: boolean;
}

export interface OperatorSink {
  port: number;
  received: ReceivedMail[];
  /** Replies to use for the next DATA commands, in order (e.g. ['451 4.3.0 busy', '451 4.3.0 busy']); then accept. */
  script: string[];
  /** When set, the final reply to DATA waits until this promise resolves. */
  hold: Promise<void> | null;
  dataStarted: number;
  /** DATA transfers whose whole body arrived (counted before the reply, so also while `hold` keeps it). */
  dataReceived: number;
  sessionsClosed: number;
  close(): Promise<void>;
}

export async function startOperatorSink(pki: string, port = 0, operator = 'hopital-a.mssante.fr'): Promise<OperatorSink> {
  const authorizedBySession = new Map<string, boolean>();
  const closed = new Set<string>();
  const sink: OperatorSink = { port: 0, received: [], script: [], hold: null, dataStarted: 0, dataReceived: 0, sessionsClosed: 0, close: async () => {} };
  const server = new SMTPServer({
    secure: false,
    key: await fs.readFile(path.join(pki, 'operators', `${operator}.key`)),
    cert: await fs.readFile(path.join(pki, 'operators', `${operator}.crt`)),
    ca: [await fs.readFile(path.join(pki, 'ca.crt'))],
    requestCert: true,
    rejectUnauthorized: true,
    authOptional: true,
    disabledCommands: ['AUTH'],
    logger: false,
    onSecure(socket, session, cb) {
      authorizedBySession.set(session.id, (socket as TLSSocket).authorized);
      cb();
    },
    onClose(session) {
      closed.add(session.id);
      sink.sessionsClosed++;
    },
    onMailFrom(_a, session, cb) {
      if (!session.secure) return cb(Object.assign(new Error('STARTTLS first'), { responseCode: 530 }));
      cb();
    },
    onData(stream, session, cb) {
      sink.dataStarted++;
      const parts: Buffer[] = [];
      stream.on('data', (d: Buffer) => parts.push(d));
      stream.on('end', () => {
        sink.dataReceived++;
        void (async () => {
          if (sink.hold) await sink.hold;
          // A client that vanished before our reply never learnt the outcome: like a server that commits only
          // once it can answer, keep nothing (the sender must retry).
          if (closed.has(session.id)) return cb(new Error('client gone'));
          const scripted = sink.script.shift();
          if (scripted) {
            const code = Number(scripted.slice(0, 3));
            return cb(Object.assign(new Error(scripted.slice(4)), { responseCode: code }));
          }
          sink.received.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw: Buffer.concat(parts),
            clientAuthorized: authorizedBySession.get(session.id) ?? false,
          });
          cb(null, 'queued');
        })();
      });
    },
  });
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  sink.port = (server.server.address() as AddressInfo).port;
  sink.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return sink;
}
