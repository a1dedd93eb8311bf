/**
 * The fixed French sentences the server shows a patient (mailbox notices, refusals of a send, notification
 * e-mails, notices put in the inbox), in one table, each with where its wording comes from: the official app
 * (ens-mobile, quoted in DOMAIN.md §2–3 and SPEC §4, to be reused verbatim so a patient reads the same sentence
 * everywhere) or the gateway's own wording (README "Receipts and notices"). Every caller takes its text from
 * here; none writes one of these sentences itself.
 *
 * Pure data and one pure function: `say` fills a sentence's `{placeholders}` and throws a RangeError when a value
 * is missing (a sentence with a hole must never reach a patient). Values are inserted as given: callers pass
 * display names and subjects already cleaned for display (contactDisplayName, the stored subject).
 */

export interface Sentence {
  /** The exact text; `{name}` marks a value filled by `say`. */
  readonly text: string;
  /** Where the wording comes from. */
  readonly source: string;
}

const OFFICIAL_APP = 'official app (ens-mobile lib/messagerie), DOMAIN.md §3';

export const SENTENCES = {
  // Answering and writing (mailbox/rules/exchange.ts, contacts.ts; mailbox/patient-send.ts)
  onlyKnownProfessionals: {
    text: "Je peux uniquement contacter les professionnels qui m'ont déjà écrit et qui n'ont pas mis fin aux échanges.",
    source: `${OFFICIAL_APP}, SPEC §4 (empty state of the recipient list)`,
  },
  messageForbidsReply: { text: "Ce message n'autorise pas la réponse.", source: `${OFFICIAL_APP}, SPEC §4 (X-MSS-MES: FIN)` },
  exchangeEndedBy: { text: '{name} a mis fin à vos échanges.', source: `${OFFICIAL_APP}, SPEC §4 ([FIN], on every closed message)` },
  endedByUnnamed: { text: 'Ce professionnel', source: 'gateway: the {name} of exchangeEndedBy when the professional has no display name' },
  professionalEndedExchanges: { text: 'Ce professionnel a mis fin aux échanges.', source: 'SPEC §4 ([FIN]: refusal of a send to an ended contact)' },
  noWritingToPatients: {
    text: 'Je ne peux pas écrire à un autre usager de Mon espace santé.',
    source: 'gateway, SPEC §4 (patients cannot write to other patients)',
  },
  attachmentsTooLarge: {
    text: 'La taille du ou des documents dépasse la limite autorisée.',
    source: 'official app (ens-mobile MSG_FILE_SIZE_EXCEEDED_ERROR), DOMAIN.md §2, SPEC §4 (5 MB per patient message)',
  },
  documentIdInvalid: { text: 'Identifiant de document invalide.', source: 'gateway (documentIds of a send: not a UUID)' },
  documentNotFound: { text: 'Document introuvable.', source: "gateway (documentIds of a send: not one of the patient's visible documents)" },
  documentDeleted: {
    text: 'Ce document a été supprimé : il ne peut plus être joint à un message.',
    source: 'gateway (documentIds of a send: a deleted document)',
  },
  messageNotFound: { text: 'Message introuvable.', source: 'gateway (a reply to a message that is not in the inbox)' },
  profileNotFound: { text: 'Profil introuvable.', source: 'gateway (a send from a profile that no longer exists)' },
  // Names shown instead of an address (patients never see professionals' addresses, SPEC §4)
  defaultProfessionalName: { text: 'Professionnel de santé', source: 'gateway, SPEC §4 (a professional without a usable display name)' },
  gatewayName: { text: 'Mon espace santé', source: 'gateway (the sender of the notices it puts in the inbox)' },
  // Notification e-mails (mailbox/rules/notification-window.ts; no sender, subject or health data: DOMAIN.md §3)
  newMessageSubject: { text: 'Nouveau message dans Mon espace santé', source: 'gateway, README "Receipts and notices" (a notice of messages only)' },
  activitySubject: { text: 'Du nouveau dans Mon espace santé', source: 'gateway, README "Receipts and notices" (any other notice)' },
  newMessages: {
    text: 'Vous avez reçu un ou plusieurs nouveaux messages dans votre messagerie Mon espace santé.',
    source: 'gateway, after the neutral wording DOMAIN.md §3 proposes (the official e-mail was not found)',
  },
  newDocuments: {
    text: 'Un ou plusieurs nouveaux documents ont été ajoutés à votre profil Mon espace santé.',
    source: 'gateway, README "Receipts and notices"',
  },
  professionalActions: {
    text: 'Des professionnels de santé ont réalisé des actions sur des documents de votre profil.',
    source: 'gateway, README "Receipts and notices"',
  },
  noticeGreeting: { text: 'Bonjour,', source: 'gateway (notification e-mail)' },
  noticeCallToAction: { text: 'Connectez-vous pour les consulter.', source: 'gateway (notification e-mail)' },
  noticeAutomatic: { text: 'Ceci est un message automatique, merci de ne pas y répondre.', source: 'gateway (notification e-mail)' },
  // Notices in the patient's inbox (mailbox/reports-out.ts)
  undeliveredSubject: { text: "Votre message n'a pas pu être distribué", source: 'gateway, SPEC §4 (a patient message that finally failed)' },
  undelivered: {
    text: "Votre message « {subject} »{sentAt} n'a pas pu être remis au professionnel.\n\nMotif : {reason}.\n\nVous pouvez réessayer plus tard ou contacter le professionnel par un autre moyen.",
    source: 'gateway, SPEC §4; {reason} is one of the fixed reasons of config/relay.ts, never the remote reply',
  },
  undeliveredSentAt: { text: ' envoyé le {when}', source: 'gateway (the {sentAt} of undelivered, when the date is known)' },
  unreadableSubject: { text: "Un message n'a pas pu vous être présenté", source: 'gateway (a message that failed after its 250)' },
  unreadable: {
    text: "{professional} vous a envoyé un message qui n'a pas pu vous être présenté : son contenu n'a pas pu être traité. L'expéditeur en a été informé et peut vous l'envoyer à nouveau.",
    source: 'gateway (no content of the message at all)',
  },
  unreadableForSender: {
    text: "Le message n'a pas pu être déposé dans la messagerie du patient : son contenu n'a pas pu être traité.",
    source: 'gateway (the human-readable part of the DSN to the sender)',
  },
} as const satisfies Record<string, Sentence>;

export type SentenceName = keyof typeof SENTENCES;

type Placeholders<T extends string> = T extends `${string}{${infer P}}${infer Rest}` ? P | Placeholders<Rest> : never;
type Values<N extends SentenceName> = [Placeholders<(typeof SENTENCES)[N]['text']>] extends [never]
  ? []
  : [values: Record<Placeholders<(typeof SENTENCES)[N]['text']>, string>];

/** The text of sentence `name` with its placeholders filled; a placeholder without a value throws. */
export function say<N extends SentenceName>(name: N, ...values: Values<N>): string {
  const given = (values[0] ?? {}) as Record<string, string>;
  return SENTENCES[name].text.replace(/\{(\w+)\}/g, (_, key: string) => {
    const v = given[key];
    if (typeof v !== 'string') throw new RangeError(`sentence ${name}: no value for {${key}}`);
    return v;
  });
}
