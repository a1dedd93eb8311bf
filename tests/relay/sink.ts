/**
 * A real SMTP sink for the relay tests: smtp-server on 127.0.0.1, port 0, STARTTLS with a required and
 * verified client certificate (requestCert + rejectUnauthorized), like an MSSanté operator. It records what
 * it saw (TLS peers, envelopes, accepted bytes) and answers per a small behaviour table.
 */
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { SMTPServer } from 'smtp-server';
import { describePeer, type CertKeyPaths } from '../../certs/index.js';

export type SmtpError = Error & { responseCode: number };

export function smtpError(code: number, text: string): SmtpError {
  const err = new Error(text) as SmtpError;
  err.responseCode = code;
  return err;
}

export interface SinkBehaviour {
  /** n counts MAIL FROM commands seen by the sink (1-based). */
  onMailFrom?: (address: string, n: number) => SmtpError | undefined;
  onRcptTo?: (address: string, n: number) => SmtpError | undefined;
  /** n counts DATA transfers; the message is fully read before this is asked. */
  onData?: (data: Buffer, n: number) => SmtpError | undefined;
  /** Delay before answering DATA (to make transactions overlap). */
  dataDelayMs?: number;
}

export interface SinkMessage {
  mailFrom: string;
  rcptTo: string[];
  data: Buffer;
}

export interface Sink {
  port: number;
  /** Messages the sink answered 250 to. */
  accepted: SinkMessage[];
  /** Every MAIL FROM address seen, in order. */
  mailFroms: string[];
  dataCount: number;
  /** The TLS peers seen after STARTTLS. */
  peers: { authorized: boolean; subjectDn: string }[];
  /** Transactions (MAIL FROM … end of DATA) in flight now, and the most seen at once. */
  inFlight: number;
  maxInFlight: number;
  close(): Promise<void>;
}

export async function startSink(opts: { serverCert: CertKeyPaths; ca: string[]; behaviour?: SinkBehaviour }): Promise<Sink> {
  const behaviour = opts.behaviour ?? {};
  const [cert, key] = await Promise.all([readFile(opts.serverCert.cert), readFile(opts.serverCert.key)]);
  let rcptCount = 0;
  const sink: Sink = {
    port: 0,
    accepted: [],
    mailFroms: [],
    dataCount: 0,
    peers: [],
    inFlight: 0,
    maxInFlight: 0,
    close: async () => undefined,
  };
  const server = new SMTPServer({
    secure: false,
    key,
    cert,
    ca: opts.ca,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
    authOptional: true,
    disabledCommands: ['AUTH'],
    logger: false,
    onSecure(socket, _session, callback) {
      const peer = describePeer(socket as TLSSocket);
      sink.peers.push({ authorized: peer?.authorized ?? false, subjectDn: peer?.subjectDn ?? '' });
      callback();
    },
    onMailFrom(address, session, callback) {
      sink.mailFroms.push(address.address);
      if (!session.secure) return callback(smtpError(530, '5.7.0 Must issue a STARTTLS command first'));
      const err = behaviour.onMailFrom?.(address.address, sink.mailFroms.length);
      if (err) return callback(err);
      sink.inFlight += 1;
      sink.maxInFlight = Math.max(sink.maxInFlight, sink.inFlight);
      callback();
    },
    onRcptTo(address, _session, callback) {
      rcptCount += 1;
      callback(behaviour.onRcptTo?.(address.address, rcptCount));
    },
    onData(stream, session, callback) {
      const parts: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => parts.push(chunk));
      stream.on('end', () => {
        sink.dataCount += 1;
        const data = Buffer.concat(parts);
        const answer = (): void => {
          sink.inFlight -= 1;
          const err = behaviour.onData?.(data, sink.dataCount);
          if (err) return callback(err);
          sink.accepted.push({
            mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '(none)',
            rcptTo: session.envelope.rcptTo.map((r) => r.address),
            data,
          });
          callback(null, 'Ok: queued');
        };
        if (behaviour.dataDelayMs) setTimeout(answer, behaviour.dataDelayMs);
        else answer();
      });
    },
  });
  // TLS handshake failures and resets are expected in the refusal tests.
  server.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  sink.port = (server.server.address() as AddressInfo).port;
  sink.close = () =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 5_000);
      server.close(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  return sink;
}
