// DSNs (RFC 3464) and MDNs (RFC 8098) built as raw text, and DSN parsing (mailbox/rules/reports.ts).
import { simpleParser, type ParsedMail } from 'mailparser';
import { describe, expect, it } from 'vitest';
import {
  buildDsn,
  buildMdn,
  dsnOutcome,
  parseDeliveryStatus,
  receiptAddressFor,
  rfc5322Date,
  type DsnInput,
  type MdnInput,
} from '../../../mailbox/rules/index.js';

const PATIENT = '1234567890123@patient.mssante.fr';
const DOCTOR = 'dr.martin@hopital.mssante.fr';
const ORIGINAL_HEADERS = [
  'Received: from smtp.hopital.mssante.fr by mx.patient.mssante.fr; Sun, 1 Mar 2026 10:00:00 +0000',
  `From: "Dr Martin" <${DOCTOR}>`,
  `To: ${PATIENT}`,
  'Subject: =?UTF-8?Q?R=C3=A9sultats_d=27analyse?=',
  'Message-ID: <orig-1@hopital.mssante.fr>',
  'Disposition-Notification-To: dr.martin@hopital.mssante.fr',
  '',
].join('\r\n');
const SECRET_BODY = 'Hémoglobine glyquée 9,2 % : diabète déséquilibré';

const dsnInput = (over: Partial<DsnInput> = {}): DsnInput => ({
  reportingMta: 'mx.patient.mssante.fr',
  originalEnvelopeFrom: DOCTOR,
  originalRecipient: PATIENT,
  finalRecipient: PATIENT,
  status: '5.2.1',
  action: 'failed',
  diagnostic: '550 5.2.1 Messagerie du patient fermée / Mailbox closed [GW-RCPT-03]',
  arrivalDate: new Date('2026-03-01T10:00:00Z'),
  originalHeaders: `${ORIGINAL_HEADERS}\r\n${SECRET_BODY}\r\n`,
  messageId: '<dsn-1@patient.mssante.fr>',
  date: new Date('2026-03-01T10:05:07Z'),
  from: 'MAILER-DAEMON@patient.mssante.fr',
  humanText: 'La messagerie Mon espace santé de ce patient est fermée.',
  ...over,
});

const mdnInput = (over: Partial<MdnInput> = {}): MdnInput => ({
  from: PATIENT,
  to: DOCTOR,
  originalMessageId: '<orig-1@hopital.mssante.fr>',
  originalRecipient: PATIENT,
  finalRecipient: PATIENT,
  reportingUa: 'patient.mssante.fr; mes-gateway',
  originalSubject: "Résultats d'analyse",
  originalHeaders: `${ORIGINAL_HEADERS}\r\n${SECRET_BODY}\r\n`,
  messageId: '<mdn-1@patient.mssante.fr>',
  date: new Date('2026-03-02T08:30:00Z'),
  ...over,
});

interface RawPart {
  headers: string;
  body: string;
}

/** The top-level parts of a multipart message, split by hand so the test does not depend on mailparser's view. */
function rawParts(raw: string): { topHeaders: string; parts: RawPart[] } {
  const boundary = /boundary="([^"]+)"/.exec(raw)?.[1];
  expect(boundary).toBeTruthy();
  const [head, ...segments] = raw.split(`\r\n--${boundary}`);
  expect(segments.at(-1)).toBe('--\r\n');
  const parts = segments.slice(0, -1).map((seg) => {
    expect(seg.startsWith('\r\n')).toBe(true);
    const s = seg.slice(2);
    const sep = s.indexOf('\r\n\r\n');
    return { headers: s.slice(0, sep), body: s.slice(sep + 4) };
  });
  return { topHeaders: head!.slice(0, head!.indexOf('\r\n\r\n')), parts };
}

function expectWellFormed(raw: string): void {
  expect(raw.endsWith('\r\n')).toBe(true);
  expect(raw).not.toMatch(/\r(?!\n)/);
  expect(raw).not.toMatch(/(?<!\r)\n/);
  // 7-bit: printable ASCII, TAB and CRLF only.
  expect(raw).toMatch(/^[\x20-\x7e\t\r\n]*$/);
  for (const line of raw.split('\r\n')) expect(line.length).toBeLessThanOrEqual(998);
  const head = raw.slice(0, raw.indexOf('\r\n\r\n'));
  for (const line of head.split('\r\n')) expect(line.length).toBeLessThanOrEqual(78);
  // RFC 2045 §6.7: quoted-printable lines are at most 76 characters.
  for (const part of rawParts(raw).parts) {
    if (!/^Content-Transfer-Encoding: quoted-printable$/im.test(part.headers)) continue;
    for (const line of part.body.split('\r\n')) expect(line.length).toBeLessThanOrEqual(76);
  }
}

function attachmentOfType(mail: ParsedMail, type: string) {
  return mail.attachments.find((a) => a.contentType === type);
}

describe('buildDsn', () => {
  it('is a well-formed multipart/report; report-type=delivery-status with three parts', async () => {
    const raw = buildDsn(dsnInput());
    expectWellFormed(raw);
    const mail = await simpleParser(raw);
    const ct = mail.headers.get('content-type') as { value: string; params: Record<string, string> };
    expect(ct.value).toBe('multipart/report');
    expect(ct.params['report-type']).toBe('delivery-status');
    expect(mail.subject).toBe('Message non distribué / Undelivered Mail Returned to Sender');
    expect(mail.from?.value[0]?.address).toBe('MAILER-DAEMON@patient.mssante.fr');
    expect((mail.to as { value: { address?: string }[] }).value[0]?.address).toBe(DOCTOR);
    expect(mail.messageId).toBe('<dsn-1@patient.mssante.fr>');
    expect(mail.date?.toISOString()).toBe('2026-03-01T10:05:07.000Z');
    expect(mail.headers.get('auto-submitted')).toBe('auto-replied');
    expect(mail.headers.get('mime-version')).toBe('1.0');

    const { topHeaders, parts } = rawParts(raw);
    expect(topHeaders).toMatch(/^Subject: =\?UTF-8\?B\?/m);
    expect(parts.map((p) => /^Content-Type: ([^;\r\n]+)/m.exec(p.headers)?.[1])).toEqual(['text/plain', 'message/delivery-status', 'text/rfc822-headers']);
  });

  it('has a human part in French, then English', async () => {
    const mail = await simpleParser(buildDsn(dsnInput()));
    const text = mail.text ?? '';
    const fr = text.indexOf("Votre message n'a pas pu être distribué");
    const en = text.indexOf('Your message could not be delivered');
    expect(fr).toBeGreaterThanOrEqual(0);
    expect(en).toBeGreaterThan(fr);
    expect(text).toContain('Motif : La messagerie Mon espace santé de ce patient est fermée.');
    expect(text).toContain('Code : 5.2.1');
    expect(text).toContain('Reason: 550 5.2.1 Messagerie du patient fermee / Mailbox closed [GW-RCPT-03]');
  });

  it('does not show the recipient address in the human part (it may land in a patient mailbox)', async () => {
    const mail = await simpleParser(buildDsn(dsnInput({ originalRecipient: DOCTOR, finalRecipient: DOCTOR, originalEnvelopeFrom: PATIENT })));
    const { parts } = rawParts(buildDsn(dsnInput({ originalRecipient: DOCTOR, finalRecipient: DOCTOR, originalEnvelopeFrom: PATIENT })));
    expect(parts[0]!.body).not.toContain('dr.martin');
    expect((mail.text ?? '').split('Reporting-MTA')[0]).not.toContain('dr.martin');
  });

  it('carries the RFC 3464 fields, which parseDeliveryStatus reads back', () => {
    const { parts } = rawParts(buildDsn(dsnInput()));
    const ds = parts[1]!;
    expect(ds.body).toContain('Reporting-MTA: dns; mx.patient.mssante.fr\r\nArrival-Date: Sun, 01 Mar 2026 10:00:00 +0000\r\n\r\n');
    const parsed = parseDeliveryStatus(ds.body);
    expect(parsed.perMessage).toEqual({
      'reporting-mta': 'dns; mx.patient.mssante.fr',
      'arrival-date': 'Sun, 01 Mar 2026 10:00:00 +0000',
    });
    expect(parsed.recipients).toEqual([
      {
        'original-recipient': `rfc822; ${PATIENT}`,
        'final-recipient': `rfc822; ${PATIENT}`,
        action: 'failed',
        status: '5.2.1',
        'diagnostic-code': 'smtp; 550 5.2.1 Messagerie du patient fermee / Mailbox closed [GW-RCPT-03]',
      },
    ]);
    expect(dsnOutcome(parsed.recipients)).toBe('failed');
  });

  it('includes the original header block only, never the body', async () => {
    const raw = buildDsn(dsnInput());
    const mail = await simpleParser(raw);
    const headers = attachmentOfType(mail, 'text/rfc822-headers') ?? null;
    // mailparser may show a text/* part as an attachment or append it to the text; accept either, check both.
    const shown = headers ? headers.content.toString('utf8') : (mail.text ?? '');
    expect(shown).toContain('Message-ID: <orig-1@hopital.mssante.fr>');
    expect(shown).toContain('Subject: =?UTF-8?Q?R=C3=A9sultats_d=27analyse?=');
    expect(raw).not.toContain('glyqu');
    expect(raw).not.toContain('diab');
    expect(mail.text ?? '').not.toContain('glyquée');
    const { parts } = rawParts(raw);
    expect(parts[2]!.headers).toContain('Content-Type: text/rfc822-headers');
    expect(parts[2]!.body).toBe(ORIGINAL_HEADERS);
  });

  it('reports a delay with its own subject and outcome', async () => {
    const raw = buildDsn(dsnInput({ action: 'delayed', status: '4.3.0', diagnostic: '451 4.3.0 Try again later' }));
    expectWellFormed(raw);
    const mail = await simpleParser(raw);
    expect(mail.subject).toBe('Message retardé / Delayed Mail (still being retried)');
    expect(mail.text).toContain("n'a pas encore pu être distribué");
    const parsed = parseDeliveryStatus(rawParts(raw).parts[1]!.body);
    expect(parsed.recipients[0]).toMatchObject({ action: 'delayed', status: '4.3.0' });
    expect(dsnOutcome(parsed.recipients)).toBe('delayed');
  });

  it('keeps header injection in free texts out of the fields', () => {
    const raw = buildDsn(dsnInput({ diagnostic: '550 5.0.0 refused\r\nAction: delivered\r\n\r\nX-Evil: 1', humanText: 'a\r\n--x\r\nb' }));
    expectWellFormed(raw);
    const parsed = parseDeliveryStatus(rawParts(raw).parts[1]!.body);
    expect(parsed.recipients).toHaveLength(1);
    expect(parsed.recipients[0]!['action']).toBe('failed');
    expect(parsed.recipients[0]!['x-evil']).toBeUndefined();
    expect(parsed.recipients[0]!['diagnostic-code']).toBe('smtp; 550 5.0.0 refused Action: delivered X-Evil: 1');
  });

  it('folds and caps a long diagnostic, lines under 78', () => {
    const long = `550 5.0.0 ${'mot '.repeat(400)}`;
    const raw = buildDsn(dsnInput({ diagnostic: long }));
    expectWellFormed(raw);
    const ds = rawParts(raw).parts[1]!.body;
    for (const line of ds.split('\r\n')) expect(line.length).toBeLessThanOrEqual(78);
    const code = parseDeliveryStatus(ds).recipients[0]!['diagnostic-code']!;
    expect(code.startsWith('smtp; 550 5.0.0 mot mot')).toBe(true);
    expect(code.length).toBeLessThanOrEqual(6 + 500);
  });

  it('falls back to the status when the diagnostic is empty', () => {
    const ds = rawParts(buildDsn(dsnInput({ diagnostic: ' \r\n ' }))).parts[1]!.body;
    expect(parseDeliveryStatus(ds).recipients[0]!['diagnostic-code']).toBe('smtp; 5.2.1');
  });

  it('quoted-printable-encodes non-ASCII or over-long original headers and keeps them intact', async () => {
    const longLine = `X-Long: ${'a'.repeat(2000)}`;
    const original = `Subject: Résultats bruts\nFrom: ${DOCTOR}\r\n${longLine}\r\n\r\nbody`;
    const raw = buildDsn(dsnInput({ originalHeaders: original }));
    expectWellFormed(raw);
    const part = rawParts(raw).parts[2]!;
    expect(part.headers).toContain('Content-Transfer-Encoding: quoted-printable');
    const mail = await simpleParser(raw);
    const att = attachmentOfType(mail, 'text/rfc822-headers');
    expect(att).toBeDefined();
    expect(att!.content.toString('utf8')).toBe(`Subject: Résultats bruts\r\nFrom: ${DOCTOR}\r\n${longLine}\r\n`);
  });

  it('cannot be split by an original header that contains its boundary', () => {
    const first = buildDsn(dsnInput());
    const boundary = /boundary="([^"]+)"/.exec(first)![1]!;
    const hostile = `Subject: x\r\nX-A: y\r\n--${boundary}\r\nX-B: z\r\n`;
    const raw = buildDsn(dsnInput({ originalHeaders: hostile }));
    const other = /boundary="([^"]+)"/.exec(raw)![1]!;
    expect(other).not.toBe(boundary);
    expect(rawParts(raw).parts).toHaveLength(3);
    expect(rawParts(raw).parts[2]!.body).toBe(hostile);
  });

  it('is deterministic', () => {
    expect(buildDsn(dsnInput())).toBe(buildDsn(dsnInput()));
    expect(buildDsn(dsnInput({ messageId: '<dsn-2@p>' }))).not.toBe(buildDsn(dsnInput()));
  });

  it.each<[string, Partial<DsnInput>]>([
    ['null sender', { originalEnvelopeFrom: '' }],
    ['sender with a display name', { originalEnvelopeFrom: `Dr <${DOCTOR}>` }],
    ['non-ASCII sender', { originalEnvelopeFrom: 'médecin@hopital.mssante.fr' }],
    ['bad from', { from: 'MAILER-DAEMON' }],
    ['bad recipient', { finalRecipient: 'x y@z' }],
    ['bad original recipient', { originalRecipient: '' }],
    ['bad status', { status: '5.0' }],
    ['success status', { status: '2.0.0' }],
    ['status with text', { status: '5.0.0 failed' }],
    ['bad action', { action: 'delivered' as DsnInput['action'] }],
    ['bad MTA', { reportingMta: 'mx patient.fr' }],
    ['MTA with a newline', { reportingMta: 'mx.fr\r\nX: y' }],
    ['invalid date', { date: new Date(Number.NaN) }],
    ['invalid arrival date', { arrivalDate: new Date('nope') }],
    ['bad message id', { messageId: '<a b>' }],
  ])('throws a RangeError on %s', (_label, over) => {
    expect(() => buildDsn(dsnInput(over))).toThrow(RangeError);
  });
});

describe('buildMdn', () => {
  it('is a well-formed multipart/report; report-type=disposition-notification with three parts', async () => {
    const raw = buildMdn(mdnInput());
    expectWellFormed(raw);
    const mail = await simpleParser(raw);
    const ct = mail.headers.get('content-type') as { value: string; params: Record<string, string> };
    expect(ct.value).toBe('multipart/report');
    expect(ct.params['report-type']).toBe('disposition-notification');
    expect(mail.subject).toBe("Accusé de lecture : Résultats d'analyse");
    expect(mail.from?.value[0]?.address).toBe(PATIENT);
    expect((mail.to as { value: { address?: string }[] }).value[0]?.address).toBe(DOCTOR);
    expect(mail.messageId).toBe('<mdn-1@patient.mssante.fr>');
    expect(mail.date?.toISOString()).toBe('2026-03-02T08:30:00.000Z');
    expect(mail.headers.get('auto-submitted')).toBe('auto-replied');
    expect(mail.headers.get('mime-version')).toBe('1.0');
    expect(rawParts(raw).topHeaders).toMatch(/^Subject: =\?UTF-8\?B\?/m);
    expect(rawParts(raw).parts.map((p) => /^Content-Type: ([^;\r\n]+)/m.exec(p.headers)?.[1])).toEqual([
      'text/plain',
      'message/disposition-notification',
      'text/rfc822-headers',
    ]);
  });

  it('says in French that the message was displayed', async () => {
    const mail = await simpleParser(buildMdn(mdnInput()));
    expect(mail.text).toContain("Votre message « Résultats d'analyse » a été affiché par son destinataire dans Mon espace santé le 02/03/2026 à 08:30 (UTC).");
    expect((mail.text ?? '').indexOf('Your message')).toBeGreaterThan((mail.text ?? '').indexOf('Votre message'));
  });

  it('carries the RFC 8098 fields', async () => {
    const raw = buildMdn(mdnInput());
    const part = rawParts(raw).parts[1]!.body;
    expect(part.split('\r\n')).toEqual([
      'Reporting-UA: patient.mssante.fr; mes-gateway',
      `Original-Recipient: rfc822; ${PATIENT}`,
      `Final-Recipient: rfc822; ${PATIENT}`,
      'Original-Message-ID: <orig-1@hopital.mssante.fr>',
      'Disposition: automatic-action/MDN-sent-automatically; displayed',
      '',
    ]);
    const mail = await simpleParser(raw);
    const dn = attachmentOfType(mail, 'message/disposition-notification');
    const shown = dn ? dn.content.toString('utf8') : (mail.text ?? '');
    expect(shown).toContain('Disposition: automatic-action/MDN-sent-automatically; displayed');
    expect(shown).toContain('Original-Message-ID: <orig-1@hopital.mssante.fr>');
    // Same field syntax as a DSN: the generic parser reads it.
    expect(parseDeliveryStatus(part).perMessage['final-recipient']).toBe(`rfc822; ${PATIENT}`);
  });

  it('includes the original headers and never the body', async () => {
    const raw = buildMdn(mdnInput());
    expect(raw).not.toContain('glyqu');
    const mail = await simpleParser(raw);
    expect(mail.text ?? '').not.toContain('glyquée');
    const att = attachmentOfType(mail, 'text/rfc822-headers');
    const shown = att ? att.content.toString('utf8') : (mail.text ?? '');
    expect(shown).toContain('Message-ID: <orig-1@hopital.mssante.fr>');
    expect(rawParts(raw).parts[2]!.body).toBe(ORIGINAL_HEADERS);
  });

  it('normalises the original Message-ID and omits it when there is none', () => {
    expect(buildMdn(mdnInput({ originalMessageId: 'bare@h' }))).toContain('Original-Message-ID: <bare@h>\r\n');
    const none = buildMdn(mdnInput({ originalMessageId: '' }));
    expect(none).not.toContain('Original-Message-ID');
    expect(none).toContain('Disposition: automatic-action/MDN-sent-automatically; displayed');
  });

  it('keeps a hostile subject on one header line, capped', async () => {
    const raw = buildMdn(mdnInput({ originalSubject: `Résultats\r\nBcc: evil@example.org\r\n${'x'.repeat(1000)}` }));
    expectWellFormed(raw);
    const mail = await simpleParser(raw);
    expect(mail.bcc).toBeUndefined();
    expect(mail.headers.has('bcc')).toBe(false);
    expect(mail.subject?.startsWith('Accusé de lecture : Résultats Bcc: evil@example.org xxx')).toBe(true);
    expect(Array.from(mail.subject ?? '').length).toBeLessThanOrEqual('Accusé de lecture : '.length + 201);
  });

  it('uses a neutral subject when the original has none', async () => {
    const mail = await simpleParser(buildMdn(mdnInput({ originalSubject: '  ' })));
    expect(mail.subject).toBe('Accusé de lecture : (sans objet)');
  });

  it('is deterministic', () => {
    expect(buildMdn(mdnInput())).toBe(buildMdn(mdnInput()));
  });

  it.each<[string, Partial<MdnInput>]>([
    ['bad from', { from: 'patient' }],
    ['bad to', { to: '' }],
    ['to with a newline', { to: `${DOCTOR}\r\nBcc: x@y.fr` }],
    ['bad final recipient', { finalRecipient: 'a@@b' }],
    ['bad message id', { messageId: '' }],
    ['invalid date', { date: new Date(Number.NaN) }],
  ])('throws a RangeError on %s', (_label, over) => {
    expect(() => buildMdn(mdnInput(over))).toThrow(RangeError);
  });
});

describe('rfc5322Date', () => {
  it.each<[string, string]>([
    ['2026-03-01T10:05:07Z', 'Sun, 01 Mar 2026 10:05:07 +0000'],
    ['2025-12-31T23:59:59.999Z', 'Wed, 31 Dec 2025 23:59:59 +0000'],
    ['2026-07-04T02:03:04+02:00', 'Sat, 04 Jul 2026 00:03:04 +0000'],
  ])('%s → %s', (iso, expected) => {
    expect(rfc5322Date(new Date(iso))).toBe(expected);
  });
});

describe('parseDeliveryStatus', () => {
  it.each<[string, string, ReturnType<typeof parseDeliveryStatus>]>([
    ['empty', '', { perMessage: {}, recipients: [] }],
    ['per-message only', 'Reporting-MTA: dns; a.fr\r\n', { perMessage: { 'reporting-mta': 'dns; a.fr' }, recipients: [] }],
    [
      'LF line endings, names case-insensitive',
      'REPORTING-MTA: dns; a.fr\n\nfinal-recipient: rfc822; x@y.fr\nACTION: failed\nStatus: 5.1.1\n',
      { perMessage: { 'reporting-mta': 'dns; a.fr' }, recipients: [{ 'final-recipient': 'rfc822; x@y.fr', action: 'failed', status: '5.1.1' }] },
    ],
    [
      'folded lines',
      'Reporting-MTA: dns;\r\n a.fr\r\n\r\nFinal-Recipient: rfc822; x@y.fr\r\nDiagnostic-Code: smtp; 550 5.1.1\r\n\tunknown user\r\n  here\r\n',
      {
        perMessage: { 'reporting-mta': 'dns; a.fr' },
        recipients: [{ 'final-recipient': 'rfc822; x@y.fr', 'diagnostic-code': 'smtp; 550 5.1.1 unknown user here' }],
      },
    ],
    [
      'several recipients, extra blank lines',
      '\r\n\r\nReporting-MTA: dns; a.fr\r\n\r\n\r\nFinal-Recipient: rfc822; a@y.fr\r\nAction: delivered\r\n\r\nFinal-Recipient: rfc822; b@y.fr\r\nAction: failed\r\n\r\n',
      {
        perMessage: { 'reporting-mta': 'dns; a.fr' },
        recipients: [
          { 'final-recipient': 'rfc822; a@y.fr', action: 'delivered' },
          { 'final-recipient': 'rfc822; b@y.fr', action: 'failed' },
        ],
      },
    ],
    [
      'white-space-only separator line',
      'Reporting-MTA: dns; a.fr\r\n   \r\nAction: failed\r\n',
      { perMessage: { 'reporting-mta': 'dns; a.fr' }, recipients: [{ action: 'failed' }] },
    ],
    [
      'first value of a repeated field wins, also for its folds',
      'Reporting-MTA: dns; a.fr\r\n\r\nAction: failed\r\nAction: delivered\r\n more\r\n',
      { perMessage: { 'reporting-mta': 'dns; a.fr' }, recipients: [{ action: 'failed' }] },
    ],
    [
      'garbage lines skipped',
      'this is not a field\r\nReporting-MTA: dns; a.fr\r\n: no name\r\nbad name: x\r\n\r\nStatus : 5.0.0\r\n',
      { perMessage: { 'reporting-mta': 'dns; a.fr' }, recipients: [{ status: '5.0.0' }] },
    ],
  ])('%s', (_label, text, expected) => {
    expect(parseDeliveryStatus(text)).toEqual(expected);
  });

  it('treats __proto__ as an ordinary field', () => {
    const parsed = parseDeliveryStatus('__proto__: polluted\r\nReporting-MTA: dns; a.fr\r\n\r\nconstructor: x\r\nAction: failed\r\n');
    expect(Object.getPrototypeOf(parsed.perMessage)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(parsed.perMessage, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(parsed.recipients[0]).toMatchObject({ action: 'failed' });
    expect(dsnOutcome(parsed.recipients)).toBe('failed');
  });

  it('never throws on non-strings', () => {
    expect(parseDeliveryStatus(undefined as unknown as string)).toEqual({ perMessage: {}, recipients: [] });
  });
});

describe('dsnOutcome', () => {
  it.each<[Record<string, string>[], ReturnType<typeof dsnOutcome>]>([
    [[{ action: 'failed', status: '5.1.1' }], 'failed'],
    [[{ action: 'Failed' }], 'failed'],
    [[{ action: 'failed', status: '4.4.7' }], 'failed'],
    [[{ action: 'delayed', status: '4.4.1' }], 'delayed'],
    [[{ action: 'delivered', status: '2.0.0' }], 'delivered'],
    [[{ action: 'relayed', status: '2.0.0' }], 'delivered'],
    [[{ action: 'expanded' }], 'delivered'],
    [[{ action: 'failed (mailbox closed)' }], 'failed'],
    [[{ status: '5.2.1 (closed)' }], 'failed'],
    [[{ status: '4.3.0' }], 'delayed'],
    [[{ status: '2.1.5' }], 'delivered'],
    [[{ action: 'weird', status: '5.0.0' }], 'failed'],
    [[{ action: 'weird' }], 'unknown'],
    [[{ status: '3.0.0' }], 'unknown'],
    [[{ status: '5.x' }], 'unknown'],
    [[{}], 'unknown'],
    [[], 'unknown'],
    [[{ action: 'delivered' }, { action: 'failed' }], 'delivered'],
  ])('%j → %s', (recipients, expected) => {
    expect(dsnOutcome(recipients)).toBe(expected);
  });
});

describe('receiptAddressFor (RFC 8098 §2.1)', () => {
  it('sends a receipt to the envelope sender only when the request names that address', () => {
    expect(receiptAddressFor(['Dr.Martin@hopital.mssante.fr'], DOCTOR)).toBe(DOCTOR);
    expect(receiptAddressFor(['secretariat@hopital.mssante.fr', DOCTOR], DOCTOR)).toBe(DOCTOR);
  });
  it('never to a third party named in the header, nor for a null sender or no request', () => {
    expect(receiptAddressFor(['espion@ailleurs.mssante.fr'], DOCTOR)).toBeNull();
    expect(receiptAddressFor([DOCTOR], '')).toBeNull();
    expect(receiptAddressFor([], DOCTOR)).toBeNull();
  });
});
