// The table of the fixed sentences a patient reads (mailbox/rules/sentences.ts) and the notices built from it
// (mailbox/rules/notices.ts): the official app's wordings verbatim, holes filled or refused, never left open.
import { describe, expect, it } from 'vitest';
import {
  answerability,
  canPatientWriteTo,
  notificationNotice,
  parisDateTime,
  say,
  SENTENCES,
  undeliveredNoticeText,
  unreadableNoticeText,
  type SentenceName,
} from '../../../mailbox/rules/index.js';

describe('SENTENCES', () => {
  it('keeps the official app’s wordings verbatim (SPEC §4, DOMAIN.md §2–3)', () => {
    expect(SENTENCES.onlyKnownProfessionals.text).toBe(
      "Je peux uniquement contacter les professionnels qui m'ont déjà écrit et qui n'ont pas mis fin aux échanges.",
    );
    expect(SENTENCES.messageForbidsReply.text).toBe("Ce message n'autorise pas la réponse.");
    expect(say('exchangeEndedBy', { name: 'Dr Martin' })).toBe('Dr Martin a mis fin à vos échanges.');
    expect(SENTENCES.professionalEndedExchanges.text).toBe('Ce professionnel a mis fin aux échanges.');
    expect(SENTENCES.attachmentsTooLarge.text).toBe('La taille du ou des documents dépasse la limite autorisée.');
  });

  it('says where every sentence comes from, and no two say the same', () => {
    const names = Object.keys(SENTENCES) as SentenceName[];
    for (const n of names) {
      expect(SENTENCES[n].text.trim().length, n).toBeGreaterThan(0);
      expect(SENTENCES[n].source.length, n).toBeGreaterThan(5);
    }
    const texts = names.map((n) => SENTENCES[n].text);
    expect(texts.filter((t, i) => texts.indexOf(t) !== i)).toEqual([]);
  });

  it('is what the rules answer', () => {
    expect(answerability({ noReplyHeader: false, closedAt: new Date(0), contactEnded: false, contactDisplayName: '  ', hasContact: true }).closedNotice).toBe(
      say('exchangeEndedBy', { name: SENTENCES.endedByUnnamed.text }),
    );
    const ctx = { patientDomain: 'patient.mssante.fr', isMssanteDomain: () => true, contact: { endedAt: new Date(0) } };
    expect(canPatientWriteTo('dr@hopital.mssante.fr', ctx)).toMatchObject({ ok: false, message: SENTENCES.professionalEndedExchanges.text });
    const notice = notificationNotice('jeanne@example.org', ['new-document']);
    expect(notice.subject).toBe(SENTENCES.activitySubject.text);
    expect(notice.text.split('\r\n')).toEqual([
      SENTENCES.noticeGreeting.text,
      '',
      SENTENCES.newDocuments.text,
      SENTENCES.noticeCallToAction.text,
      '',
      SENTENCES.noticeAutomatic.text,
      '',
    ]);
  });
});

describe('say', () => {
  it('fills every placeholder, once, with the value as given', () => {
    expect(say('unreadable', { professional: 'Dr {name}' })).toBe(
      "Dr {name} vous a envoyé un message qui n'a pas pu vous être présenté : son contenu n'a pas pu être traité. L'expéditeur en a été informé et peut vous l'envoyer à nouveau.",
    );
    expect(say('messageForbidsReply')).toBe(SENTENCES.messageForbidsReply.text);
  });

  it('refuses to leave a hole', () => {
    expect(() => (say as (n: SentenceName, v?: Record<string, string>) => string)('exchangeEndedBy', {})).toThrow(/no value for \{name\}/);
    expect(() => (say as (n: SentenceName, v?: Record<string, string>) => string)('undelivered', { subject: 's', reason: 'r' })).toThrow(/\{sentAt\}/);
  });
});

describe('notices', () => {
  it('names the undelivered message, when it was sent (Paris time) and why', () => {
    expect(undeliveredNoticeText({ subject: 'Ordonnance', date: '2026-03-12T13:05:09Z' }, 'la messagerie du professionnel est pleine')).toBe(
      "Votre message « Ordonnance » envoyé le 12/03/2026 14:05:09 n'a pas pu être remis au professionnel.\n\n" +
        'Motif : la messagerie du professionnel est pleine.\n\n' +
        'Vous pouvez réessayer plus tard ou contacter le professionnel par un autre moyen.',
    );
  });

  it('leaves out a date it does not have or cannot read, and an unknown subject reads as empty', () => {
    const text = (original: { subject?: string | null; date?: string | null } | null) => undeliveredNoticeText(original, 'r').split('\n')[0];
    expect(text({ subject: 'Bilan' })).toBe("Votre message « Bilan » n'a pas pu être remis au professionnel.");
    expect(text({ subject: 'Bilan', date: 'mardi' })).toBe("Votre message « Bilan » n'a pas pu être remis au professionnel.");
    expect(text(null)).toBe("Votre message «  » n'a pas pu être remis au professionnel.");
    expect(parisDateTime('2026-07-01T22:30:00Z')).toBe('02/07/2026 00:30:00');
    expect(parisDateTime(null)).toBeNull();
  });

  it('tells the patient a message could not be shown, naming only the professional', () => {
    expect(unreadableNoticeText('Dr Martin')).toMatch(/^Dr Martin vous a envoyé un message qui n'a pas pu vous être présenté/);
  });
});
