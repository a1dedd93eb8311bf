/**
 * The values of the activity history's kind columns (access/activity.ts), in one place: db/schema.ts types its
 * columns with them. Pure data, no imports (the schema imports this file).
 */

/** Every kind of event in a patient's history (the webmail has a French label for each: web/views/activity.js). */
export const ACTIVITY_KINDS = [
  'message-received',
  'exchange-ended',
  'reply-forbidden-by-sender',
  'message-sent',
  'delivery-failed',
  'document-listed',
  'document-read',
  'document-added',
  'document-masked',
  'document-deleted',
  'document-revealed',
  'access-refused',
  'emergency-access',
  // By the operator or the system (actor kind 'system'): the profile itself.
  'profile-updated',
  'profile-state-changed',
  'provisional-code-issued',
] as const;
export type ActivityKind = (typeof ACTIVITY_KINDS)[number];

/** Who acted: a professional (token), an organisation (certificate), or the system / the operator. */
export const ACTIVITY_ACTOR_KINDS = ['professional', 'organisation', 'system'] as const;
export type ActivityActorKind = (typeof ACTIVITY_ACTOR_KINDS)[number];
