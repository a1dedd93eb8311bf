/**
 * SMTP ingress (SPEC §2–3): professionals' MSSanté servers deliver to <INS>@patient.mssante.fr.
 *
 * Guarantees:
 * - Nothing is accepted without STARTTLS and a client certificate that chains to the trust anchors, is valid
 *   now and not revoked (CRL when configured), and whose subject DN the whitelist lists for the MAIL FROM domain.
 * - RCPT: INS syntax and key, then profile state (an open profile is remembered a few seconds: a bulk sender's
 *   RCPTs cost no query each; refusals are always read fresh); unknown, pending and opposed get the same reply.
 * - Sessions per certificate and messages per minute per domain are counted across every process sharing the
 *   database (shared-limits.ts); sessions per client address, the deadline to an accepted MAIL FROM and the
 *   commands allowed between two messages are kept in this process (session-guard.ts).
 * - The header From and Reply-To must be on domains the whitelist lists for the certificate's DN, as MAIL FROM
 *   (rules/author-fields.ts); checked as soon as the header block has passed.
 * - DATA is streamed: checked for bare LF and bare CR, header size and SIZE as it passes, encrypted; held only up to the
 *   inline size, else written chunk by chunk, never whole in memory. `250 2.0.0 <queue id>` is sent only after
 *   the message, one delivery per recipient and an outbox row are committed by one statement (accept.ts), which
 *   also re-checks every recipient's profile. Any failure before that COMMIT answers 451 4.3.0: the sender keeps
 *   the message and retries; what was written is an unreferenced blob that the collector deletes. A crash after
 *   COMMIT loses nothing: the outbox relay enqueues it.
 * - CRLs can be replaced while running (`updateCrl`, called by the CRL reloader): new TLS handshakes use them at
 *   once, open sessions are not dropped; CRLs node:tls refuses leave the ones in force untouched.
 * Logs carry queue ids, sizes, sending domains and certificate fingerprints; never an INS, subject or body.
 */
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { SMTPServer, type SMTPServerAddress, type SMTPServerDataStream, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import { describePeer, isSenderAuthorised, type PeerCertificate, type Whitelist } from '../../certs/index.js';
import type { Limits } from '../../config/index.js';
import type { Db } from '../../db/index.js';
import { RecipientCache, mailAcceptance, parsePatientAddress } from '../../access/index.js';
import { type BlobStore, type StoredBlob, BlobTooLargeError } from '../../vault/index.js';
import { AcceptBatcher, newQueueId, RecipientsChangedError, type AcceptResult } from './accept.js';
import { DataGuard, type DataViolation } from './data-guard.js';
import { authorFieldsVerdict } from './rules/author-fields.js';
import type { SharedLimits } from './shared-limits.js';
import { applyLibraryReplyPolicy } from './library-replies.js';
import { SessionGuard } from './session-guard.js';
import { REPLIES, replyText, smtpReject, SmtpReplyError } from './replies.js';

applyLibraryReplyPolicy();

export interface IngressOptions {
  host: string;
  port: number;
  hostname: string;
  patientDomain: string;
  tls: { key: string | Buffer; cert: string | Buffer; ca: string[]; crl?: string[] };
  limits: Limits;
  db: Db;
  blobs: BlobStore;
  whitelist: () => Whitelist | null;
  /** Sessions per certificate and messages per domain, counted across every process (shared-limits.ts). */
  sharedLimits: SharedLimits;
  /** Called after each commit so the outbox relay enqueues without waiting for its next sweep. */
  onAccepted?: (messageId: string, bytes: number, seconds: number) => void;
  /** Called for every refusal (metrics). */
  onRefused?: (code: number, suffix: string) => void;
  logger: Logger;
}

export interface Ingress {
  port: number;
  /**
   * Replaces the CRLs of the TLS context: handshakes from now on use them; sessions already secured are left
   * as they are. Throws when node:tls refuses them, and then the CRLs in force stay (nothing half-applied).
   */
  updateCrl(crl: string[] | undefined): void;
  close(): Promise<void>;
}

interface TransactionState {
  patients: Map<string, string>; // canonical INS -> patient id
}

const VIOLATION_REPLY: Record<DataViolation, keyof typeof REPLIES> = {
  'bare-lf': 'bareLf',
  'bare-cr': 'bareCr',
  'header-too-big': 'headerTooBig',
  'too-big': 'messageTooBig',
  'mime-parts': 'mimeTooComplex',
  'mime-depth': 'mimeTooComplex',
};

/** What this process remembers of each SMTP session (all of it dies with the session or the process). */
interface SessionState {
  peers: WeakMap<SMTPServerSession, PeerCertificate | null>;
  /** Per transaction (smtp-server gives each MAIL FROM a new envelope object). */
  transactions: WeakMap<object, TransactionState>;
  messagesBySession: WeakMap<SMTPServerSession, number>;
  /** Sessions counted in the shared per-certificate limit, to be released at close. */
  admitted: WeakSet<SMTPServerSession>;
}

/** What the SMTP handlers share. */
interface IngressContext {
  o: IngressOptions;
  log: Logger;
  state: SessionState;
  recipients: RecipientCache;
  accepts: AcceptBatcher;
}

function txState(state: SessionState, session: SMTPServerSession): TransactionState {
  let s = state.transactions.get(session.envelope);
  if (!s) {
    s = { patients: new Map() };
    state.transactions.set(session.envelope, s);
  }
  return s;
}

export async function startIngress(o: IngressOptions): Promise<Ingress> {
  const state: SessionState = { peers: new WeakMap(), transactions: new WeakMap(), messagesBySession: new WeakMap(), admitted: new WeakSet() };
  const ctx: IngressContext = {
    o,
    log: o.logger.child({ part: 'smtp-in' }),
    state,
    recipients: new RecipientCache(o.db, o.limits.recipientCacheMs),
    accepts: new AcceptBatcher(o.db),
  };
  const refused = (err: Error, session?: SMTPServerSession) => {
    if (err instanceof SmtpReplyError) o.onRefused?.(err.reply.code, err.reply.suffix);
    if (session) guard.spend(session.id);
  };
  /** Runs one SMTP step: its text (or nothing) on success; a thrown reply is counted against the session and sent. */
  const step = (session: SMTPServerSession, callback: (err?: Error | null, text?: string) => void, work: () => Promise<string | void>) => {
    work().then(
      (text) => (text === undefined ? callback() : callback(null, text)),
      (err: Error) => {
        refused(err, session);
        callback(err);
      },
    );
  };

  const server = new SMTPServer({
    ...serverOptions(o),
    onConnect(session, callback) {
      const refusal = guard.admit(session);
      if (refusal) refused(refusal);
      callback(refusal ?? undefined);
    },
    onSecure(socket, session, callback) {
      const peer = describePeer(socket as TLSSocket);
      state.peers.set(session, peer);
      if (!peer) return callback();
      void o.sharedLimits.openSession(peer.fingerprint256).then((ok) => {
        if (!ok) return callback(smtpReject('tooManyConnectionsForCert'));
        state.admitted.add(session);
        callback();
      });
    },
    onClose(session) {
      guard.release(session);
      const peer = state.peers.get(session);
      if (peer && state.admitted.has(session)) {
        state.admitted.delete(session);
        void o.sharedLimits.closeSession(peer.fingerprint256);
      }
    },
    onMailFrom(address: SMTPServerAddress, session, callback) {
      step(session, callback, async () => {
        checkMailFrom(ctx, address, session);
        guard.authenticated(session);
      });
    },
    onRcptTo(address: SMTPServerAddress, session, callback) {
      step(session, callback, () => checkRecipient(ctx, address, session));
    },
    onData(stream: SMTPServerDataStream, session, callback) {
      step(session, callback, async () => {
        const text = await receiveMessage(ctx, stream, session);
        guard.messageAccepted(session);
        return text;
      });
    },
  });

  const guard = new SessionGuard(
    server,
    {
      maxConnectionsPerIp: o.limits.maxConnectionsPerIp,
      authDeadlineMs: o.limits.authDeadlineMs,
      maxCommandsWithoutMessage: o.limits.maxCommandsWithoutMessage,
    },
    (reply) => o.onRefused?.(reply.code, reply.suffix),
  );

  const port = await listen(server, o, ctx.log);
  return ingressHandle(server, port);
}

/** The SMTP server's fixed options: STARTTLS with a requested client certificate, TLS 1.2+ AEAD suites, the limits. */
function serverOptions(o: IngressOptions): SMTPServerOptions {
  return {
    name: o.hostname,
    banner: 'MSSante patient gateway',
    secure: false,
    key: o.tls.key,
    cert: o.tls.cert,
    ca: o.tls.ca,
    crl: o.tls.crl,
    requestCert: true,
    rejectUnauthorized: false, // verified in onSecure/onMailFrom so the peer gets a readable SMTP reply
    minVersion: 'TLSv1.2',
    ciphers:
      'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:' +
      'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:' +
      'ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256',
    honorCipherOrder: true,
    size: o.limits.maxMessageBytes,
    authOptional: true,
    disabledCommands: ['AUTH'],
    hideENHANCEDSTATUSCODES: false,
    hide8BITMIME: false,
    hidePIPELINING: false,
    hideSMTPUTF8: false,
    hideDSN: true,
    maxClients: o.limits.maxConnections,
    socketTimeout: o.limits.idleTimeoutMs,
    closeTimeout: 5_000,
    logger: false,
  };
}

/**
 * MAIL FROM: STARTTLS, a trusted client certificate, the session's message budget, a loaded whitelist, then the
 * sender: the null sender only from a listed operator's certificate, else a domain listed with this certificate's
 * DN; and the sending domain's rate. Throws the reply of the first check that fails.
 */
function checkMailFrom(ctx: IngressContext, address: SMTPServerAddress, session: SMTPServerSession): void {
  const { o, log } = ctx;
  if (!session.secure) throw smtpReject('starttlsRequired');
  const peer = ctx.state.peers.get(session);
  if (!peer) throw smtpReject('clientCertRequired');
  if (!peer.authorized) {
    log.warn({ fp: peer.fingerprint256, err: peer.authorizationError }, 'untrusted client certificate');
    throw smtpReject('clientCertUntrusted', peer.authorizationError ? `(${peer.authorizationError})` : undefined);
  }
  const sent = ctx.state.messagesBySession.get(session) ?? 0;
  if (sent >= o.limits.maxMessagesPerConnection) throw smtpReject('tooManyMessages');
  const list = o.whitelist();
  if (!list) throw smtpReject('whitelistUnavailable');
  if (address.address === '') {
    // Null sender: delivery and read reports for patients' messages; only from a listed operator's server.
    if (!list.entries.some((e) => e.normalizedDn === peer.subjectDn)) throw smtpReject('nullSenderRefused');
    if (!o.sharedLimits.allowMessage(`<>${peer.fingerprint256}`)) throw smtpReject('senderRateLimited');
    return;
  }
  const at = address.address.lastIndexOf('@');
  const domain = at > 0 ? address.address.slice(at + 1).toLowerCase() : '';
  if (!domain) throw smtpReject('senderSyntax');
  const verdict = isSenderAuthorised(list, domain, peer.subjectDn);
  if (verdict === 'domain-not-listed') throw smtpReject('senderDomainNotListed');
  if (verdict !== 'ok') {
    log.warn({ domain, fp: peer.fingerprint256 }, 'certificate not listed for sender domain');
    throw smtpReject('senderCertNotListed');
  }
  if (!o.sharedLimits.allowMessage(domain)) throw smtpReject('senderRateLimited');
}

/** RCPT TO: the recipient limit, the patient domain, the INS, then the profile (unknown, pending and opposed alike). */
async function checkRecipient(ctx: IngressContext, address: SMTPServerAddress, session: SMTPServerSession): Promise<void> {
  const { o, log } = ctx;
  const tx = txState(ctx.state, session);
  if (tx.patients.size >= o.limits.maxRecipients) throw smtpReject('tooManyRecipients');
  const parsed = parsePatientAddress(address.address, o.patientDomain);
  if (parsed.kind === 'not-patient-domain') throw smtpReject('relayDenied');
  if (!parsed.result.ok) throw smtpReject('invalidIns');
  const ins = parsed.result.ins;
  let profile;
  try {
    profile = await ctx.recipients.lookup(ins);
  } catch (err) {
    log.error({ err: (err as Error).message }, 'profile lookup failed');
    throw smtpReject('recipientTempFail');
  }
  const verdict = mailAcceptance(profile?.state);
  if (verdict === 'closed') throw smtpReject('mailboxClosed');
  if (verdict !== 'accept' || !profile) throw smtpReject('unknownRecipient');
  tx.patients.set(ins, profile.id);
}

/**
 * DATA: the message streamed through the data guard (bare LF/CR, header and message size, MIME structure) and the
 * author check into the encrypted blob store, then committed with its deliveries and outbox row; the 250 text.
 */
async function receiveMessage(ctx: IngressContext, stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string> {
  const started = Date.now();
  const tx = txState(ctx.state, session);
  const peer = ctx.state.peers.get(session);
  if (tx.patients.size === 0 || !peer) {
    await drain(stream);
    throw smtpReject('noRecipients');
  }
  const queueId = newQueueId();
  const raw = await storeMessage(ctx, stream, session, peer, queueId);
  if (stream.sizeExceeded) throw smtpReject('messageTooBig');
  const result = await commitMessage(ctx, raw, session, peer, [...tx.patients.values()], queueId);
  ctx.state.messagesBySession.set(session, (ctx.state.messagesBySession.get(session) ?? 0) + 1);
  ctx.log.info({ queueId, size: raw.size, rcpts: result.deliveryIds.length, ms: Date.now() - started, fp: peer.fingerprint256 }, 'message accepted');
  ctx.o.onAccepted?.(result.messageId, raw.size, (Date.now() - started) / 1000);
  return `${REPLIES.accepted.enhanced} ${queueId} ${REPLIES.accepted.text} [${REPLIES.accepted.suffix}]`;
}

/** The raw message (a Received: trace header first) checked as it passes and written encrypted; a refusal's reply otherwise. */
async function storeMessage(
  ctx: IngressContext,
  stream: SMTPServerDataStream,
  session: SMTPServerSession,
  peer: PeerCertificate,
  queueId: string,
): Promise<StoredBlob> {
  const { o, log } = ctx;
  const guard = new DataGuard(o.limits.maxMessageBytes, o.limits.maxHeaderBytes, { maxParts: o.limits.maxMimeParts, maxDepth: o.limits.maxMimeDepth });
  const received = traceHeader(session, o.hostname, queueId, peer);
  const iterator = stream.iterator({ destroyOnReturn: false });

  let authorsChecked = false;
  const checkAuthors = () => {
    authorsChecked = true;
    const list = o.whitelist();
    if (!list) throw smtpReject('whitelistUnavailable');
    const verdict = authorFieldsVerdict(list, peer.subjectDn, guard.authorFields());
    if (verdict === 'from-invalid') throw smtpReject('authorFieldsInvalid');
    if (verdict === 'not-listed') {
      log.warn({ queueId, fp: peer.fingerprint256 }, 'header From or Reply-To domain not listed for the certificate');
      throw smtpReject('authorNotListed');
    }
  };

  async function* checked(): AsyncGenerator<Buffer> {
    yield received;
    for (;;) {
      const { value, done } = await iterator.next();
      if (done) break;
      const chunk = value as Buffer;
      const v = guard.inspect(chunk);
      if (v) throw new SmtpReplyError(REPLIES[VIOLATION_REPLY[v]]);
      if (!authorsChecked && guard.headerComplete) checkAuthors();
      yield chunk;
    }
    if (!authorsChecked) checkAuthors();
  }

  try {
    return await o.blobs.write(checked(), 'raw-message');
  } catch (err) {
    await drain(stream);
    if (err instanceof SmtpReplyError) {
      log.info({ queueId, bytes: guard.bytes, reason: err.reply.suffix }, 'message refused');
      throw err;
    }
    if (err instanceof BlobTooLargeError) throw smtpReject('messageTooBig');
    log.error({ queueId, err: (err as Error).message }, 'storing the message failed');
    throw smtpReject('storeFailed');
  }
}

/** The accept statement (accept.ts); a recipient that changed state since RCPT, or any failure, is a 451. */
async function commitMessage(
  ctx: IngressContext,
  raw: StoredBlob,
  session: SMTPServerSession,
  peer: PeerCertificate,
  patientIds: string[],
  queueId: string,
): Promise<AcceptResult> {
  const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
  const at = mailFrom.lastIndexOf('@');
  const sendingDomain = at >= 0 ? mailFrom.slice(at + 1).toLowerCase() : '';
  try {
    return await ctx.accepts.commit(
      raw,
      { mailFrom, sendingDomain, peerDn: peer.subjectDn, peerFingerprint: peer.fingerprint256, clientAddress: session.remoteAddress, patientIds },
      queueId,
    );
  } catch (err) {
    if (err instanceof RecipientsChangedError) {
      ctx.log.info({ queueId }, 'a recipient changed state since RCPT: nothing kept, 451');
      throw smtpReject('recipientChanged');
    }
    ctx.log.error({ queueId, err: (err as Error).message }, 'accept transaction failed');
    throw smtpReject('storeFailed');
  }
}

async function listen(server: SMTPServer, o: IngressOptions, log: Logger): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log.warn({ err: err.message }, 'smtp server error'));
  const port = (server.server.address() as AddressInfo).port;
  log.info({ host: o.host, port }, 'SMTP ingress listening');
  return port;
}

function ingressHandle(server: SMTPServer, port: number): Ingress {
  return {
    port,
    updateCrl(crl) {
      // smtp-server rebuilds its context map in place: on a throw it would be left without a context, so the
      // previous map and option are put back. STARTTLS takes the context at upgrade time: only new handshakes
      // see the change, and a resumed session cannot skip it (new context, new ticket keys: full handshake).
      const previous = { contexts: server.secureContext, crl: server.options.crl };
      try {
        server.updateSecureContext({ crl });
      } catch (err) {
        server.secureContext = previous.contexts;
        server.options.crl = previous.crl;
        throw err;
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function drain(stream: NodeJS.ReadableStream): Promise<void> {
  for await (const _ of stream) {
    /* discard: the reply waits for the end of DATA */
  }
}

function traceHeader(session: SMTPServerSession, hostname: string, queueId: string, peer: PeerCertificate): Buffer {
  const helo = (session.hostNameAppearsAs || 'unknown').replace(/[^\w.-]/g, '');
  const cipher = session.tlsOptions ? `${session.tlsOptions.version ?? ''} ${session.tlsOptions.name ?? ''}`.trim() : 'none';
  const date = new Date().toUTCString().replace('GMT', '+0000');
  return Buffer.from(
    `Received: from ${helo} ([${session.remoteAddress}])\r\n` +
      `\tby ${hostname} with ESMTPS (${cipher}) id ${queueId}\r\n` +
      `\t(peer certificate sha256 ${peer.fingerprint256.replace(/:/g, '').slice(0, 32)});\r\n` +
      `\t${date}\r\n`,
  );
}

export { replyText };
