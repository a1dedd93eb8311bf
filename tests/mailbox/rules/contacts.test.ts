// Who the patient may write to, and how professionals are named (mailbox/rules/contacts.ts).
import { describe, expect, it } from 'vitest';
import {
  canPatientWriteTo,
  contactAddressFor,
  contactDisplayName,
  DEFAULT_PROFESSIONAL_NAME,
  NO_WRITING_TO_PATIENTS,
  ONLY_KNOWN_PROFESSIONALS,
  parseAddress,
  PROFESSIONAL_ENDED_EXCHANGES,
} from '../../../mailbox/rules/index.js';

const PATIENT_DOMAIN = 'patient.mssante.fr';
const MSSANTE = new Set(['hopital.mssante.fr', 'labo.mssante.fr', 'medecin.mssante.fr', PATIENT_DOMAIN]);
const isMssanteDomain = (d: string) => MSSANTE.has(d);

describe('parseAddress', () => {
  it.each([
    ['dr.martin@hopital.mssante.fr', { local: 'dr.martin', domain: 'hopital.mssante.fr', address: 'dr.martin@hopital.mssante.fr' }],
    ['  Dr.Martin@HOPITAL.MSSante.FR \r\n', { local: 'Dr.Martin', domain: 'hopital.mssante.fr', address: 'Dr.Martin@hopital.mssante.fr' }],
    ['1234567890123@patient.mssante.fr', { local: '1234567890123', domain: 'patient.mssante.fr', address: '1234567890123@patient.mssante.fr' }],
    ['a+tag@b.c', { local: 'a+tag', domain: 'b.c', address: 'a+tag@b.c' }],
    ['x@localhost', { local: 'x', domain: 'localhost', address: 'x@localhost' }],
  ])('accepts %j', (raw, expected) => {
    expect(parseAddress(raw)).toEqual(expected);
  });

  it.each([
    ['', 'empty'],
    ['   ', 'blank'],
    ['dr.martin.hopital.fr', 'missing @'],
    ['dr martin@hopital.fr', 'space in local part'],
    ['dr@hop ital.fr', 'space in domain'],
    ['a@b@c.fr', 'two @'],
    ['@hopital.fr', 'empty local part'],
    ['dr@', 'empty domain'],
    ['dr@.fr', 'empty domain label'],
    ['dr@hopital..fr', 'empty middle label'],
    ['dr@hopital.fr.', 'trailing dot'],
    ['.dr@hopital.fr', 'leading dot in local part'],
    ['d..r@hopital.fr', 'double dot in local part'],
    ['Dr Martin <dr@hopital.fr>', 'display form'],
    ['<dr@hopital.fr>', 'angle brackets'],
    ['dr@hopital.fr,x@y.fr', 'a list'],
    ['dr@hopital.fr\r\nBcc: x@y.fr', 'header injection'],
    ['dr\u0000@hopital.fr', 'NUL'],
    [`${'a'.repeat(65)}@hopital.fr`, 'local part over 64'],
    [`a@${'b'.repeat(250)}.fr`, 'address over 254'],
  ])('rejects %j (%s)', (raw) => {
    expect(parseAddress(raw)).toBeNull();
  });

  it('rejects non-strings without throwing', () => {
    expect(parseAddress(null as unknown as string)).toBeNull();
    expect(parseAddress(42 as unknown as string)).toBeNull();
  });
});

describe('contactAddressFor', () => {
  it.each<[string, { from: string | null; replyTo: string | null }, string | null]>([
    ['Reply-To MSSanté wins over From', { from: 'dr@hopital.mssante.fr', replyTo: 'secretariat@labo.mssante.fr' }, 'secretariat@labo.mssante.fr'],
    ['Reply-To domain is lower-cased', { from: 'dr@hopital.mssante.fr', replyTo: 'Secretariat@LABO.mssante.fr' }, 'Secretariat@labo.mssante.fr'],
    ['Reply-To not MSSanté: From', { from: 'dr@hopital.mssante.fr', replyTo: 'dr@gmail.com' }, 'dr@hopital.mssante.fr'],
    ['Reply-To unparseable: From', { from: 'dr@hopital.mssante.fr', replyTo: 'not an address' }, 'dr@hopital.mssante.fr'],
    ['no Reply-To: From', { from: 'dr@hopital.mssante.fr', replyTo: null }, 'dr@hopital.mssante.fr'],
    ['From not MSSanté, no Reply-To: null', { from: 'dr@gmail.com', replyTo: null }, null],
    ['neither MSSanté: null', { from: 'dr@gmail.com', replyTo: 'x@yahoo.fr' }, null],
    ['From not MSSanté but Reply-To is', { from: 'noreply@editeur.com', replyTo: 'dr@medecin.mssante.fr' }, 'dr@medecin.mssante.fr'],
    ['nothing at all: null', { from: null, replyTo: null }, null],
    ['empty From: null', { from: '', replyTo: null }, null],
  ])('%s', (_label, msg, expected) => {
    expect(contactAddressFor(msg, isMssanteDomain)).toBe(expected);
  });

  it('passes the lower-cased domain to the whitelist', () => {
    const seen: string[] = [];
    contactAddressFor({ from: 'dr@HOPITAL.MSSANTE.FR', replyTo: null }, (d) => (seen.push(d), false));
    expect(seen).toEqual(['hopital.mssante.fr']);
  });

  it('with the patient domain given, a Reply-To to a patient is skipped in favour of the From', () => {
    const msg = { from: 'dr@hopital.mssante.fr', replyTo: '2990199123456@patient.mssante.fr' };
    expect(contactAddressFor(msg, isMssanteDomain, PATIENT_DOMAIN)).toBe('dr@hopital.mssante.fr');
    expect(contactAddressFor({ from: '2990199123456@Patient.MSSante.fr', replyTo: null }, isMssanteDomain, 'PATIENT.mssante.fr')).toBeNull();
    // Without it, the whitelist alone decides (the patient domain is on it).
    expect(contactAddressFor(msg, isMssanteDomain)).toBe('2990199123456@patient.mssante.fr');
  });
});

describe('canPatientWriteTo', () => {
  const open = { endedAt: null };
  const ended = { endedAt: new Date('2026-01-01T00:00:00Z') };
  it.each<[string, string, { endedAt: Date | null } | null, ReturnType<typeof canPatientWriteTo>]>([
    ['a contact whose exchange is open', 'dr@hopital.mssante.fr', open, { ok: true }],
    ['a contact, address case-insensitive domain', 'dr@HOPITAL.mssante.fr', open, { ok: true }],
    ['another patient', '2990199123456@patient.mssante.fr', open, { ok: false, reason: 'patient-address', message: NO_WRITING_TO_PATIENTS }],
    ['another patient, upper-case domain', '2990199123456@PATIENT.MSSANTE.FR', null, { ok: false, reason: 'patient-address', message: NO_WRITING_TO_PATIENTS }],
    ['a non-MSSanté address', 'dr@gmail.com', open, { ok: false, reason: 'not-mssante', message: ONLY_KNOWN_PROFESSIONALS }],
    ['an unparseable address', 'dr at hopital', open, { ok: false, reason: 'not-mssante', message: ONLY_KNOWN_PROFESSIONALS }],
    ['an MSSanté address that never wrote', 'autre@hopital.mssante.fr', null, { ok: false, reason: 'not-a-contact', message: ONLY_KNOWN_PROFESSIONALS }],
    ['a contact who sent [FIN]', 'dr@hopital.mssante.fr', ended, { ok: false, reason: 'exchange-ended', message: PROFESSIONAL_ENDED_EXCHANGES }],
  ])('%s', (_label, address, contact, expected) => {
    expect(canPatientWriteTo(address, { patientDomain: PATIENT_DOMAIN, isMssanteDomain, contact })).toEqual(expected);
  });

  it('uses the official wording', () => {
    expect(ONLY_KNOWN_PROFESSIONALS).toBe("Je peux uniquement contacter les professionnels qui m'ont déjà écrit et qui n'ont pas mis fin aux échanges.");
  });

  it('refuses a patient address even if the caller has a contact record for it', () => {
    const r = canPatientWriteTo('x@patient.mssante.fr', { patientDomain: ' Patient.MSSante.fr ', isMssanteDomain: () => true, contact: open });
    expect(r).toMatchObject({ ok: false, reason: 'patient-address' });
  });
});

describe('contactDisplayName', () => {
  const address = 'jdupont@hopital.mssante.fr';
  it.each<[string, { directoryName?: string | null; headerName?: string | null }, string]>([
    ['directory name first', { directoryName: 'Dr Jeanne Dupont', headerName: 'J. Dupont (secrétariat)' }, 'Dr Jeanne Dupont'],
    ['directory name trimmed', { directoryName: '  Dr Jeanne Dupont \t' }, 'Dr Jeanne Dupont'],
    ['blank directory name: header name', { directoryName: '   ', headerName: 'Cabinet Dupont' }, 'Cabinet Dupont'],
    ['null directory name: header name', { directoryName: null, headerName: 'Cabinet Dupont' }, 'Cabinet Dupont'],
    ['header name trimmed, controls removed', { headerName: ' Dr\u0000 Du\u0007pont\r\n ' }, 'Dr Du pont'],
    ['bidi override removed', { headerName: 'Dr \u202eDupont' }, 'Dr Dupont'],
    ['zero-width removed', { headerName: 'Dr\u200b Dupont' }, 'Dr Dupont'],
    ['no names: neutral label', {}, DEFAULT_PROFESSIONAL_NAME],
    ['empty names: neutral label', { directoryName: '', headerName: '' }, DEFAULT_PROFESSIONAL_NAME],
    ['only controls: neutral label', { headerName: '\u0000\u0001\r\n' }, DEFAULT_PROFESSIONAL_NAME],
    ['header name is the address: neutral label', { headerName: 'jdupont@hopital.mssante.fr' }, DEFAULT_PROFESSIONAL_NAME],
    ['header name contains an address: neutral label', { headerName: 'Dupont (jdupont@hopital.mssante.fr)' }, DEFAULT_PROFESSIONAL_NAME],
    ['header name is the local part: neutral label', { headerName: 'JDupont' }, DEFAULT_PROFESSIONAL_NAME],
    ['an @ between spaces is not an address', { headerName: 'Cabinet @ Lyon' }, 'Cabinet @ Lyon'],
  ])('%s', (_label, names, expected) => {
    expect(contactDisplayName({ ...names, address })).toBe(expected);
  });

  it('caps at 200 characters without splitting a surrogate pair', () => {
    const long = `${'é'.repeat(199)}😀😀😀`;
    const out = contactDisplayName({ headerName: long, address });
    expect(Array.from(out)).toHaveLength(200);
    expect(out.endsWith('😀')).toBe(true);
    expect(out).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
  });

  it('never returns the address, whatever the input', () => {
    for (const headerName of [address, `<${address}>`, `"${address}"`, address.toUpperCase(), null]) {
      const out = contactDisplayName({ headerName, address });
      expect(out.toLowerCase()).not.toContain('jdupont');
    }
  });
});
