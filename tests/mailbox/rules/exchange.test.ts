// [FIN], X-MSS-MES: FIN, answerability and reply subjects (mailbox/rules/exchange.ts).
import { describe, expect, it } from 'vitest';
import {
  answerability,
  closedByEndOfExchange,
  endOfExchangeAddresses,
  forbidsReply,
  isEndOfExchange,
  MESSAGE_FORBIDS_REPLY,
  ONLY_KNOWN_PROFESSIONALS,
  replySubject,
} from '../../../mailbox/rules/index.js';

describe('isEndOfExchange', () => {
  it.each<[string | null | undefined, boolean]>([
    ['[FIN]', true],
    ['  [FIN]  ', true],
    ['\t[FIN]\r\n', true],
    ['\r\n [FIN]', true],
    ['\u00a0[FIN]\u00a0', true],
    ['[fin]', false],
    ['[Fin]', false],
    ['[FIN] merci', false],
    ['Re: [FIN]', false],
    ['FIN', false],
    ['[ FIN ]', false],
    ['[FIN].', false],
    ['[FIN][FIN]', false],
    ['', false],
    [null, false],
    [undefined, false],
  ])('%j → %s', (subject, expected) => {
    expect(isEndOfExchange(subject)).toBe(expected);
  });

  it('ignores non-strings', () => {
    expect(isEndOfExchange(['[FIN]'] as unknown as string)).toBe(false);
  });
});

describe('forbidsReply', () => {
  it.each<[Record<string, string>, boolean]>([
    [{ 'x-mss-mes': 'FIN' }, true],
    [{ 'x-mss-mes': 'fin' }, true],
    [{ 'x-mss-mes': 'Fin' }, true],
    [{ 'x-mss-mes': '  FIN \r\n' }, true],
    [{ 'X-MSS-MES': 'FIN' }, true],
    [{ 'x-mss-mes': 'FINI' }, false],
    [{ 'x-mss-mes': 'FIN; motif' }, false],
    [{ 'x-mss-mes': '' }, false],
    [{ 'x-mss-mes': 'fın' }, false], // dotless i: Unicode upper-casing would make it "FIN"
    [{ subject: 'FIN' }, false],
    [{ 'x-mss-mes-other': 'FIN' }, false],
    [{}, false],
  ])('%j → %s', (headers, expected) => {
    expect(forbidsReply(headers)).toBe(expected);
  });

  it('ignores bad input', () => {
    expect(forbidsReply(null as unknown as Record<string, string>)).toBe(false);
    expect(forbidsReply({ 'x-mss-mes': ['FIN'] } as unknown as Record<string, string>)).toBe(false);
  });
});

describe('answerability', () => {
  type Input = Parameters<typeof answerability>[0];
  const base: Input = { noReplyHeader: false, closedAt: null, contactEnded: false, contactDisplayName: 'Dr Dupont', hasContact: true };
  const closedAt = new Date('2026-02-01T08:00:00Z');
  const ENDED = 'Dr Dupont a mis fin à vos échanges.';
  it.each<[string, Partial<Input>, { canReply: boolean; closedNotice: string | null }]>([
    ['answerable', {}, { canReply: true, closedNotice: null }],
    ['closed by a later [FIN]', { closedAt }, { canReply: false, closedNotice: ENDED }],
    ['X-MSS-MES: FIN', { noReplyHeader: true }, { canReply: false, closedNotice: MESSAGE_FORBIDS_REPLY }],
    ['no contact', { hasContact: false }, { canReply: false, closedNotice: ONLY_KNOWN_PROFESSIONALS }],
    ['contact ended without closedAt', { contactEnded: true }, { canReply: false, closedNotice: ENDED }],
    // Precedence: closedAt, then the header, then the contact.
    ['closedAt beats the header', { closedAt, noReplyHeader: true }, { canReply: false, closedNotice: ENDED }],
    ['closedAt beats no contact', { closedAt, hasContact: false }, { canReply: false, closedNotice: ENDED }],
    ['closedAt beats everything', { closedAt, noReplyHeader: true, hasContact: false, contactEnded: true }, { canReply: false, closedNotice: ENDED }],
    ['the header beats no contact', { noReplyHeader: true, hasContact: false }, { canReply: false, closedNotice: MESSAGE_FORBIDS_REPLY }],
    ['the header beats contact ended', { noReplyHeader: true, contactEnded: true }, { canReply: false, closedNotice: MESSAGE_FORBIDS_REPLY }],
    ['no contact beats contact ended', { hasContact: false, contactEnded: true }, { canReply: false, closedNotice: ONLY_KNOWN_PROFESSIONALS }],
    ['blank name falls back', { closedAt, contactDisplayName: '  ' }, { canReply: false, closedNotice: 'Ce professionnel a mis fin à vos échanges.' }],
  ])('%s', (_label, over, expected) => {
    expect(answerability({ ...base, ...over })).toEqual(expected);
  });

  it('uses the official wordings', () => {
    expect(MESSAGE_FORBIDS_REPLY).toBe("Ce message n'autorise pas la réponse.");
    expect(answerability({ ...base, closedAt, contactDisplayName: 'Laboratoire Cerballiance' }).closedNotice).toBe(
      'Laboratoire Cerballiance a mis fin à vos échanges.',
    );
  });
});

describe('replySubject', () => {
  it.each<[string, string]>([
    ['Vos résultats', 'Re: Vos résultats'],
    ['  Vos résultats  ', 'Re: Vos résultats'],
    ['Re: Vos résultats', 'Re: Vos résultats'],
    ['RE: Vos résultats', 'RE: Vos résultats'],
    ['re: Vos résultats', 're: Vos résultats'],
    ['Re : Vos résultats', 'Re : Vos résultats'],
    ['Re[2]: Vos résultats', 'Re[2]: Vos résultats'],
    ['Réf : dossier 12', 'Réf : dossier 12'],
    ['RÉF. dossier 12', 'RÉF. dossier 12'],
    ['réf: dossier 12', 'réf: dossier 12'],
    ['Référence de votre dossier', 'Re: Référence de votre dossier'],
    ['Regarding your visit', 'Re: Regarding your visit'],
    ['Résultats', 'Re: Résultats'],
    ['Fwd: Compte rendu', 'Re: Fwd: Compte rendu'],
    ['', 'Re: (sans objet)'],
    ['   \t ', 'Re: (sans objet)'],
    ['Ligne 1\r\n Ligne 2', 'Re: Ligne 1 Ligne 2'],
    ['A\u0000B', 'Re: A B'],
  ])('%j → %j', (original, expected) => {
    expect(replySubject(original)).toBe(expected);
  });

  it('caps at 200 characters, prefix included', () => {
    const out = replySubject('x'.repeat(500));
    expect(out).toHaveLength(200);
    expect(out.startsWith('Re: xxx')).toBe(true);
    expect(replySubject(`Re: ${'y'.repeat(300)}`)).toHaveLength(200);
  });

  it('never splits a surrogate pair when capping', () => {
    const out = replySubject('😀'.repeat(300));
    expect(Array.from(out)).toHaveLength(200);
    expect(out).not.toMatch(/[\ud800-\udbff]$/);
  });

  it('treats a non-string as empty', () => {
    expect(replySubject(undefined as unknown as string)).toBe('Re: (sans objet)');
  });
});

describe('closedByEndOfExchange', () => {
  const X = 'dr.x@hopital-a.mssante.fr';
  const SEC = 'secretariat@hopital-a.mssante.fr';
  const Y = 'dr.y@hopital-a.mssante.fr';
  it.each([
    ['same From, no Reply-To anywhere', { from: X, contact: X }, { from: X, contact: X }, true],
    ['[FIN] from the doctor closes the messages that carried the secretariat as Reply-To', { from: X, contact: X }, { from: X, contact: SEC }, true],
    ['[FIN] sent with the secretariat as Reply-To closes the secretariat contact messages', { from: X, contact: SEC }, { from: Y, contact: SEC }, true],
    ['[FIN] from the secretariat closes what the doctor sent through it', { from: SEC, contact: SEC }, { from: X, contact: SEC }, true],
    ['another doctor, another contact: untouched', { from: X, contact: X }, { from: Y, contact: Y }, false],
    ['case and spaces do not matter', { from: ` ${X.toUpperCase()} `, contact: null }, { from: X, contact: null }, true],
    ['a message without From nor contact is never closed', { from: X, contact: X }, { from: null, contact: null }, false],
    ['a [FIN] without addresses closes nothing', { from: null, contact: null }, { from: X, contact: X }, false],
  ])('%s', (_name, fin, message, expected) => {
    expect(closedByEndOfExchange(fin, message)).toBe(expected);
  });
  it('speaks for its From and its contact, once each', () => {
    expect(endOfExchangeAddresses({ from: X, contact: X.toUpperCase() })).toEqual([X]);
    expect(endOfExchangeAddresses({ from: X, contact: SEC })).toEqual([X, SEC]);
    expect(endOfExchangeAddresses({ from: '', contact: null })).toEqual([]);
  });
});
