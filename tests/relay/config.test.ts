// config/relay.ts: retry schedule, reply classification table (real-world replies), static routes, caps.
import { describe, expect, it } from 'vitest';
import { parseRetrySchedule, retryDelay } from '../../config/retry.js';
import {
  REPLY_RULES,
  RETRY_SCHEDULE_MS,
  RELAY_MAX_CONNECTIONS_PER_DESTINATION,
  DEFAULT_REFUSAL_REASON,
  EXPIRED_REASON,
  classifyReply,
  patientFailureReason,
  parseRoutes,
  relayMaxConnections,
} from '../../config/relay.js';

const H = 3_600_000;

describe('retry schedule', () => {
  it('spans at least 48 h, starts ZoneMTA-like and never waits more than 4 h', () => {
    const total = RETRY_SCHEDULE_MS.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(48 * H);
    expect(total).toBeLessThan(52 * H);
    expect(RETRY_SCHEDULE_MS.slice(0, 6)).toEqual([5, 7, 8, 25, 75, 120].map((m) => m * 60_000));
    expect(Math.max(...RETRY_SCHEDULE_MS)).toBe(4 * H);
    expect(Object.isFrozen(RETRY_SCHEDULE_MS)).toBe(true);
  });

  it('retryDelay walks the schedule, then gives up with null', () => {
    const schedule = [10, 20, 30];
    expect(retryDelay(0, schedule)).toBe(0);
    expect(retryDelay(1, schedule)).toBe(10);
    expect(retryDelay(3, schedule)).toBe(30);
    expect(retryDelay(4, schedule)).toBeNull();
    expect(retryDelay(RETRY_SCHEDULE_MS.length, RETRY_SCHEDULE_MS)).toBe(4 * H);
    expect(retryDelay(RETRY_SCHEDULE_MS.length + 1, RETRY_SCHEDULE_MS)).toBeNull();
    expect(() => retryDelay(-1, schedule)).toThrow(RangeError);
    expect(() => retryDelay(1.5, schedule)).toThrow(RangeError);
  });

  it("parseRetrySchedule('relay') reads RELAY_RETRY_SCHEDULE_MS or falls back to a copy of the default", () => {
    expect(parseRetrySchedule('relay', undefined)).toEqual([...RETRY_SCHEDULE_MS]);
    expect(parseRetrySchedule('relay', '  ')).toEqual([...RETRY_SCHEDULE_MS]);
    expect(parseRetrySchedule('relay', undefined)).not.toBe(RETRY_SCHEDULE_MS);
    expect(parseRetrySchedule('relay', '10, 20,0')).toEqual([10, 20, 0]);
    expect(() => parseRetrySchedule('relay', '10,,20')).toThrow(/RELAY_RETRY_SCHEDULE_MS: entry #2/);
    expect(() => parseRetrySchedule('relay', '10,-5')).toThrow(/"-5"/);
    expect(() => parseRetrySchedule('relay', '1e3')).toThrow(/not a non-negative integer/);
  });
});

describe('classifyReply: real-world replies', () => {
  const cases: [number | undefined, string, string, string][] = [
    // [code, reply, action, category]
    [
      450,
      '450 4.2.0 <dr@hopital-a.mssante.fr>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/hopital-a.mssante.fr.html',
      'temporary',
      'greylist',
    ],
    [451, '451 4.7.1 Greylisting in action, please come back later', 'temporary', 'greylist'],
    [452, '452 4.5.3 Too many recipients / Trop de destinataires [GW-RCPT-06]', 'temporary', 'too-many-recipients'],
    [552, '552 5.5.3 Too many recipients', 'temporary', 'too-many-recipients'],
    [454, '454 4.7.0 TLS not available due to local problem', 'temporary', 'tls'],
    [530, '530 5.7.0 Must issue a STARTTLS command first', 'temporary', 'tls'],
    [530, '530 5.7.0 Authentication required', 'temporary', 'auth'],
    [554, '554 5.7.1 Client certificate not trusted / Certificat client non reconnu [GW-TLS-03]', 'temporary', 'tls'],
    [550, '550 5.7.1 Certificate not listed for this sender domain / Certificat non reference pour ce domaine [GW-MAIL-02]', 'temporary', 'tls'],
    [452, '452 4.2.2 The email account that you tried to reach is over quota.', 'temporary', 'mailbox-full'],
    [552, '552 5.2.2 <dr@hopital-a.mssante.fr> Quota exceeded (mailbox for user is full)', 'temporary', 'mailbox-full'],
    [552, '552 Mailbox full', 'temporary', 'mailbox-full'],
    [421, '421 4.7.0 Too many connections, try again later / Trop de connexions, reessayez plus tard [GW-CONN-01]', 'rate-limited', 'rate'],
    [421, '421 4.7.0 mx.hopital-a.mssante.fr Error: too many connections from 203.0.113.7', 'rate-limited', 'rate'],
    [451, '451 4.7.1 Too many messages from this domain, slow down / Trop de messages, ralentissez [GW-MAIL-05]', 'rate-limited', 'rate'],
    [450, '450 4.2.1 The user you are trying to contact is receiving mail too quickly. Please resend your message at a later time.', 'rate-limited', 'rate'],
    [451, '451 4.7.500 Server busy. Please try again later from [203.0.113.7]. (S77714)', 'rate-limited', 'rate'],
    [454, '454 Throttling failure: Maximum sending rate exceeded.', 'rate-limited', 'rate'],
    [421, '421 4.7.0 Try again later, closing connection.', 'rate-limited', 'rate'],
    [451, '451 4.7.1 Please try again later', 'rate-limited', 'rate'],
    [421, '421 4.3.2 Server shutting down, try again later / Arret en cours [GW-PROTO-05]', 'temporary', 'service'],
    [421, '421 4.4.2 Timeout, closing connection / Delai depasse [GW-PROTO-04]', 'temporary', 'service'],
    [421, '421 mx.hopital-a.mssante.fr Service not available, closing transmission channel', 'temporary', 'service'],
    [451, '451 4.3.0 Temporary failure, try again later / Erreur temporaire, reessayez [GW-RCPT-05]', 'temporary', 'service'],
    [452, '452 4.3.1 Insufficient system storage', 'temporary', 'service'],
    [451, '451 4.4.1 No answer from host', 'temporary', 'network'],
    [550, '550 5.1.1 <dr@hopital-a.mssante.fr>: Recipient address rejected: User unknown in virtual mailbox table', 'permanent', 'recipient'],
    [550, '550 5.1.1 Recipient unknown to Mon espace sante / Destinataire inconnu de Mon espace sante [GW-RCPT-03]', 'permanent', 'recipient'],
    [550, '550 5.1.1 The email account that you tried to reach does not exist.', 'permanent', 'recipient'],
    [553, '553 5.1.3 <dr@hopital-a..mssante.fr>: Recipient address rejected: bad address syntax', 'permanent', 'recipient'],
    [550, '550 5.2.1 Patient mailbox closed / Messagerie du patient fermee [GW-RCPT-04]', 'permanent', 'recipient'],
    [550, '550 5.4.1 Recipient address rejected: Access denied. AS(201806281) [AM0PR01MB1234.eurprd01.prod.protection.outlook.com]', 'permanent', 'recipient'],
    [550, '550 No such user here', 'permanent', 'recipient'],
    [552, '552 5.3.4 Message too big / Message trop volumineux [GW-DATA-01]', 'permanent', 'message-size'],
    [552, '552 5.3.4 Message size exceeds fixed limit', 'permanent', 'message-size'],
    [552, '552 5.2.3 Message length exceeds administrative limit', 'permanent', 'message-size'],
    [554, '554 5.7.1 Service unavailable; Client host [203.0.113.7] blocked using zen.spamhaus.org', 'temporary', 'blacklist'],
    [550, '550 5.7.1 Your IP address is listed by https://spamhaus.org/zen, correct this', 'temporary', 'blacklist'],
    [554, '554 5.7.1 <dr@hopital-a.mssante.fr>: Message rejected: virus found (Eicar-Signature)', 'permanent', 'content'],
    [550, '550 5.7.1 Message rejected as spam', 'permanent', 'content'],
    [554, '554 5.4.6 Too many hops', 'permanent', 'loop'],
    [503, '503 5.5.1 Error: need RCPT command', 'temporary', 'protocol'],
    [500, '500 5.5.2 Command not recognized / Commande inconnue [GW-PROTO-03]', 'permanent', 'protocol'],
    [550, '550 5.5.2 Bare LF line ending not allowed, use CRLF / Fin de ligne LF seule interdite [GW-DATA-02]', 'permanent', 'protocol'],
    [554, '554 5.7.1 <dr@hopital-a.mssante.fr>: Relay access denied', 'permanent', 'policy'],
    [550, '550 5.7.1 Sender domain is not an authorised MSSante domain / Domaine expediteur non autorise [GW-MAIL-01]', 'permanent', 'policy'],
    [undefined, 'Error initiating TLS - unable to verify the first certificate', 'temporary', 'tls'],
    [undefined, 'Client network socket disconnected before secure TLS connection was established', 'temporary', 'tls'],
    [undefined, 'connect ECONNREFUSED 127.0.0.1:25', 'temporary', 'network'],
    [undefined, 'Connection closed unexpectedly', 'temporary', 'network'],
    // fallbacks by class
    [450, '450 Requested mail action not taken: mailbox unavailable', 'temporary', 'other'],
    [554, '554 Transaction failed', 'permanent', 'other'],
    [250, '250 2.0.0 Ok', 'temporary', 'protocol'],
  ];

  it.each(cases)('%s %s → %s/%s', (code, reply, action, category) => {
    expect(classifyReply(code, reply)).toEqual({ action, category });
  });

  it('sees the same verdict whether or not the text carries the code', () => {
    expect(classifyReply(550, '5.1.1 User unknown')).toEqual({ action: 'permanent', category: 'recipient' });
    expect(classifyReply(421, '4.7.0 Rate limit exceeded, try again later')).toEqual({ action: 'rate-limited', category: 'rate' });
  });

  it('only a 5xx reply is ever permanent', () => {
    const samples = cases.map(([, reply]) => reply.replace(/^\d{3}/, ''));
    for (const text of samples) {
      for (const code of [undefined, 421, 450, 451, 452]) {
        expect(classifyReply(code, text).action).not.toBe('permanent');
      }
    }
  });

  it('every rule carries an action, a category and a note', () => {
    expect(REPLY_RULES.length).toBeGreaterThan(15);
    for (const rule of REPLY_RULES) {
      expect(['temporary', 'permanent', 'rate-limited']).toContain(rule.action);
      expect(rule.category).toMatch(/^[a-z-]+$/);
      expect(rule.note.length).toBeGreaterThan(10);
      expect(rule.pattern.global).toBe(false); // a /g regex would keep state between .test() calls
    }
  });
});

describe('patientFailureReason', () => {
  it('gives a fixed French sentence for every category, never a reply text', () => {
    expect(patientFailureReason('recipient', 'refused')).toMatch(/^l'adresse du professionnel n'existe pas/);
    expect(patientFailureReason('mailbox-full', 'refused')).toMatch(/pleine$/);
    for (const rule of REPLY_RULES) {
      const reason = patientFailureReason(rule.category, 'refused');
      expect(reason).not.toMatch(/\d{3}|[A-Z]{4,}/);
    }
    expect(patientFailureReason('recipient', 'expired')).toBe(EXPIRED_REASON);
    expect(patientFailureReason('550 5.7.1 <x@y.fr> spam', 'refused')).toBe(DEFAULT_REFUSAL_REASON);
    expect(patientFailureReason('__proto__', 'refused')).toBe(DEFAULT_REFUSAL_REASON);
  });
});

describe('parseRoutes', () => {
  it('parses domain=host:port entries, lower-cases domains, accepts bracketed IPv6', () => {
    const routes = parseRoutes(' Hopital-A.mssante.fr.=127.0.0.1:2526 , cabinet-b.mssante.fr=[::1]:2527,lab.mssante.fr=smtp.lab.example:25,');
    expect([...routes.entries()]).toEqual([
      ['hopital-a.mssante.fr', { host: '127.0.0.1', port: 2526 }],
      ['cabinet-b.mssante.fr', { host: '::1', port: 2527 }],
      ['lab.mssante.fr', { host: 'smtp.lab.example', port: 25 }],
    ]);
  });

  it('is empty when unset or blank', () => {
    expect(parseRoutes(undefined).size).toBe(0);
    expect(parseRoutes('  ').size).toBe(0);
  });

  it.each([
    ['hopital-a.mssante.fr', /has no domain=/],
    ['=127.0.0.1:25', /has no domain=/],
    ['hopital-a.mssante.fr=127.0.0.1', /has no host:port/],
    ['hopital-a.mssante.fr=::1:25', /has no host:port/],
    ['hopital-a.mssante.fr=[nothex]:25', /has no host:port/],
    ['hopital-a.mssante.fr=127.0.0.1:0', /invalid port "0"/],
    ['hopital-a.mssante.fr=127.0.0.1:65536', /invalid port "65536"/],
    ['hop ital.fr=127.0.0.1:25', /invalid domain/],
    ['hopital-a.mssante.fr=bad_host:25', /invalid host/],
    ['a.fr=127.0.0.1:25,A.fr=127.0.0.1:26', /repeats the domain a\.fr/],
  ])('throws a clear error for %s', (env, message) => {
    expect(() => parseRoutes(env)).toThrow(/^RELAY_ROUTES: entry /);
    expect(() => parseRoutes(env)).toThrow(message);
  });
});

describe('relayMaxConnections', () => {
  it('defaults to 5 and reads RELAY_MAX_CONNECTIONS', () => {
    expect(RELAY_MAX_CONNECTIONS_PER_DESTINATION).toBe(5);
    expect(relayMaxConnections(undefined)).toBe(5);
    expect(relayMaxConnections('')).toBe(5);
    expect(relayMaxConnections(' 12 ')).toBe(12);
    for (const bad of ['0', '-1', '2.5', 'many']) {
      expect(() => relayMaxConnections(bad)).toThrow(/RELAY_MAX_CONNECTIONS must be a positive integer/);
    }
  });
});
