/**
 * Every SMTP reply the ingress sends, in one table: reply code, enhanced status code (RFC 3463), a short
 * English / French text, and a code suffix that support can search for. The README's reply-code table is
 * generated from this list (`npm run cli -- replies`), so the two never drift.
 *
 * Texts never contain health data, nor whether a patient opposed: unknown, pending and opposed profiles get
 * one and the same reply.
 */

export interface SmtpReply {
  readonly code: number;
  readonly enhanced: string;
  readonly text: string;
  readonly suffix: string;
  /** When it is sent, for the README. */
  readonly when: string;
}

const r = (code: number, enhanced: string, suffix: string, text: string, when: string): SmtpReply => ({
  code,
  enhanced,
  text,
  suffix,
  when,
});

export const REPLIES = {
  // Connection and TLS
  tooManyConnections: r(
    421,
    '4.7.0',
    'GW-CONN-01',
    'Too many connections, try again later / Trop de connexions, reessayez plus tard',
    'the gateway is at its connection limit',
  ),
  tooManyConnectionsForCert: r(
    421,
    '4.7.0',
    'GW-CONN-02',
    'Too many connections for this certificate / Trop de connexions pour ce certificat',
    'one peer certificate holds its maximum of sessions',
  ),
  tooManyMessages: r(
    421,
    '4.7.0',
    'GW-CONN-03',
    'Too many messages on this connection, reconnect / Trop de messages sur cette connexion',
    'a session sent its maximum of messages',
  ),
  tooManyConnectionsFromIp: r(
    421,
    '4.7.0',
    'GW-CONN-04',
    'Too many connections from this address / Trop de connexions depuis cette adresse',
    'one client IP address holds its maximum of sessions',
  ),
  authDeadline: r(
    421,
    '4.7.0',
    'GW-CONN-05',
    "Authenticate and send MAIL FROM sooner / Delai d'authentification depasse",
    'no accepted MAIL FROM (STARTTLS, client certificate, listed sender) within the deadline after connecting',
  ),
  tooManyCommands: r(
    421,
    '4.7.0',
    'GW-CONN-06',
    'Too many commands without a message / Trop de commandes sans message',
    'a session spent its budget of commands and refusals since its last accepted message',
  ),
  starttlsRequired: r(530, '5.7.0', 'GW-TLS-01', 'Must issue a STARTTLS command first / STARTTLS obligatoire', 'MAIL FROM before STARTTLS'),
  clientCertRequired: r(
    554,
    '5.7.1',
    'GW-TLS-02',
    'Client certificate required (IGC-Sante) / Certificat client obligatoire',
    'no client certificate was presented',
  ),
  clientCertUntrusted: r(
    554,
    '5.7.1',
    'GW-TLS-03',
    'Client certificate not trusted / Certificat client non reconnu',
    'the certificate does not chain to a trust anchor, is expired or revoked',
  ),
  // MAIL FROM
  senderDomainNotListed: r(
    550,
    '5.7.1',
    'GW-MAIL-01',
    'Sender domain is not an authorised MSSante domain / Domaine expediteur non autorise',
    'the MAIL FROM domain is not in the whitelist',
  ),
  senderCertNotListed: r(
    550,
    '5.7.1',
    'GW-MAIL-02',
    'Certificate not listed for this sender domain / Certificat non reference pour ce domaine',
    'the peer certificate DN is not listed for the MAIL FROM domain',
  ),
  nullSenderRefused: r(
    550,
    '5.7.1',
    'GW-MAIL-03',
    'Null sender accepted only from a listed operator / Expediteur vide refuse',
    'MAIL FROM:<> from a certificate listed for no domain (reports come from listed operators)',
  ),
  senderSyntax: r(553, '5.1.7', 'GW-MAIL-04', 'Bad sender address syntax / Adresse expediteur invalide', 'MAIL FROM address without a domain'),
  senderRateLimited: r(
    451,
    '4.7.1',
    'GW-MAIL-05',
    'Too many messages from this domain, slow down / Trop de messages, ralentissez',
    'the sending domain exceeded its messages per minute',
  ),
  whitelistUnavailable: r(
    451,
    '4.3.0',
    'GW-MAIL-06',
    'Authorised domain list unavailable, try again later / Liste blanche indisponible',
    'no usable whitelist is loaded',
  ),
  // RCPT TO
  relayDenied: r(550, '5.7.1', 'GW-RCPT-01', 'Relaying denied: this gateway only serves patients / Relais refuse', 'recipient outside the patient domain'),
  invalidIns: r(550, '5.1.3', 'GW-RCPT-02', 'Invalid INS in recipient address / INS du destinataire invalide', 'local part is not a valid INS (syntax or key)'),
  unknownRecipient: r(
    550,
    '5.1.1',
    'GW-RCPT-03',
    'Recipient unknown to Mon espace sante / Destinataire inconnu de Mon espace sante',
    'no open profile: unknown, pending or opposed (same reply)',
  ),
  mailboxClosed: r(550, '5.2.1', 'GW-RCPT-04', 'Patient mailbox closed / Messagerie du patient fermee', 'the profile is closed'),
  recipientTempFail: r(
    451,
    '4.3.0',
    'GW-RCPT-05',
    'Temporary failure, try again later / Erreur temporaire, reessayez',
    'the profile could not be looked up (database unavailable)',
  ),
  tooManyRecipients: r(452, '4.5.3', 'GW-RCPT-06', 'Too many recipients / Trop de destinataires', 'more recipients than the limit in one transaction'),
  // DATA
  accepted: r(250, '2.0.0', 'GW-DATA-00', 'Message accepted / Message accepte', 'the message, its deliveries and its outbox row are committed'),
  messageTooBig: r(
    552,
    '5.3.4',
    'GW-DATA-01',
    'Message too big / Message trop volumineux',
    'the message exceeds SIZE (also refused at MAIL FROM when SIZE= is announced)',
  ),
  bareLf: r(
    550,
    '5.5.2',
    'GW-DATA-02',
    'Bare LF line ending not allowed, use CRLF / Fin de ligne LF seule interdite',
    'a line ends in LF without CR (SMTP smuggling defence)',
  ),
  headerTooBig: r(552, '5.3.4', 'GW-DATA-03', 'Header block too large / En-tetes trop volumineux', 'the header block exceeds its limit'),
  storeFailed: r(
    451,
    '4.3.0',
    'GW-DATA-04',
    'Temporary failure storing the message, try again later / Erreur temporaire, reessayez',
    'anything failed before COMMIT: nothing was kept, the sender retries',
  ),
  recipientChanged: r(
    451,
    '4.3.0',
    'GW-DATA-06',
    "A recipient mailbox changed state, try again / Etat d'un destinataire modifie, reessayez",
    'a recipient accepted at RCPT is no longer open at the end of DATA: nothing was kept, the retry gets the exact RCPT answer',
  ),
  bareCr: r(550, '5.5.2', 'GW-DATA-07', 'Bare CR not allowed, use CRLF / CR seul interdit', 'a CR is not followed by LF (SMTP smuggling defence)'),
  authorFieldsInvalid: r(
    550,
    '5.6.0',
    'GW-DATA-08',
    'Exactly one From header with valid addresses required / En-tete From unique et valide obligatoire',
    'no From, several From or Reply-To fields, an address without a domain, or an author field over 8 KiB (RFC 5322 §3.6)',
  ),
  mimeTooComplex: r(
    550,
    '5.6.0',
    'GW-DATA-10',
    'Too many MIME parts or too deeply nested / Structure MIME trop complexe',
    'more MIME parts than LIMIT_MAX_MIME_PARTS, or multiparts nested deeper than LIMIT_MAX_MIME_DEPTH, counted while DATA streams',
  ),
  authorNotListed: r(
    550,
    '5.7.1',
    'GW-DATA-09',
    'From or Reply-To domain not listed for this certificate / Domaine From ou Reply-To non autorise pour ce certificat',
    'a domain in the header From or Reply-To is not listed in the whitelist for the certificate DN',
  ),
  noRecipients: r(503, '5.5.1', 'GW-DATA-05', 'No valid recipients / Aucun destinataire valide', 'DATA without an accepted recipient'),
  // Protocol (replies produced by the SMTP library, rewritten to carry a suffix)
  badSequence: r(503, '5.5.1', 'GW-PROTO-01', 'Bad sequence of commands / Sequence de commandes invalide', 'command out of order'),
  syntaxError: r(501, '5.5.4', 'GW-PROTO-02', 'Syntax error in parameters / Erreur de syntaxe', 'malformed command arguments'),
  unknownCommand: r(500, '5.5.2', 'GW-PROTO-03', 'Command not recognized / Commande inconnue', 'unknown command'),
  timeout: r(421, '4.4.2', 'GW-PROTO-04', 'Timeout, closing connection / Delai depasse', 'the session was idle too long'),
  shuttingDown: r(421, '4.3.2', 'GW-PROTO-05', 'Server shutting down, try again later / Arret en cours', 'the gateway is stopping'),
  protocolOther: r(554, '5.5.0', 'GW-PROTO-09', 'Protocol error / Erreur de protocole', 'any other refusal produced by the SMTP library'),
} as const satisfies Record<string, SmtpReply>;

export type ReplyName = keyof typeof REPLIES;

/** The text part of a reply as sent: "<enhanced> <text> [<suffix>]" (with an optional detail before the suffix). */
export function replyText(reply: SmtpReply, detail?: string): string {
  return `${reply.enhanced} ${detail ? `${detail} ` : ''}${reply.text} [${reply.suffix}]`;
}

/** An Error smtp-server turns into the reply (responseCode + message). */
export class SmtpReplyError extends Error {
  readonly responseCode: number;
  constructor(
    readonly reply: SmtpReply,
    detail?: string,
  ) {
    super(replyText(reply, detail));
    this.name = 'SmtpReplyError';
    this.responseCode = reply.code;
  }
}

export const smtpReject = (name: ReplyName, detail?: string) => new SmtpReplyError(REPLIES[name], detail);

/** The README's table of every reply (generated: `npm run cli -- docs`). */
export function repliesTable(): string {
  const lines = ['| code | enhanced | suffix | text | when |', '|---|---|---|---|---|'];
  for (const r of Object.values(REPLIES)) lines.push(`| ${r.code} | ${r.enhanced} | \`${r.suffix}\` | ${r.text} | ${r.when} |`);
  return lines.join('\n');
}
