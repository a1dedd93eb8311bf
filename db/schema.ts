/**
 * The system of record: one Drizzle schema for PostgreSQL 15, one migration set (db/migrations).
 *
 * Health data never sits in a plain column: message subjects, bodies, sender names, attachment names and
 * patients' identity traits are stored sealed (AES-256-GCM, see vault/) in `bytea` columns. Plain columns hold
 * only what indexes, joins and state machines need. Keep every statement within PostgreSQL 15.
 */
import { bigint, bigserial, boolean, customType, index, integer, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { sql } from 'drizzle-orm';
// State columns are typed with the values the rules use (a TypeScript type only: the columns stay text).
import {
  ACTIVITY_ACTOR_KINDS,
  ACTIVITY_KINDS,
  DELIVERY_STATUSES,
  DOCUMENT_AUTHOR_KINDS,
  DOCUMENT_ORIGIN_KINDS,
  MAILBOX_FOLDERS,
  MAILBOX_MESSAGE_KINDS,
  OUTBOUND_KINDS,
  OUTBOUND_STATUSES,
  PROFILE_STATES,
} from './enums.js';

/** `bytea` as a Node Buffer (pg gives Buffer; a Uint8Array is wrapped without copy). */
export const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => 'bytea',
  toDriver: (v) => v,
  fromDriver: (v) => (Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength)),
});

const tstz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
const createdAt = () => tstz('created_at').notNull().defaultNow();

/** A patient's profile in "Mon espace santé"; identity traits are sealed. */
export const patients = pgTable('patients', {
  id: uuid('id').primaryKey().defaultRandom(),
  /** Canonical INS matricule (upper case, 15 characters): the local part of the patient's address. */
  ins: text('ins').notNull().unique(),
  /** pending | created | active | opposed | closed (access/rules/profile-state.ts). */
  state: text('state', { enum: PROFILE_STATES }).notNull(),
  /** Sealed JSON {familyName, givenNames, birthDate, email}. */
  identity: bytea('identity').notNull(),
  provisionalCodeHash: text('provisional_code_hash'),
  provisionalCodeExpiresAt: tstz('provisional_code_expires_at'),
  passwordHash: text('password_hash'),
  activatedAt: tstz('activated_at'),
  createdAt: createdAt(),
  updatedAt: tstz('updated_at').notNull().defaultNow(),
});

/**
 * An encrypted blob (raw message or document), stored as chunks. A blob is written chunk by chunk outside
 * the accepting transaction, then referenced by that transaction; blobs nobody references after
 * `orphanBlobAgeMs` are collected (a crash before COMMIT leaves only such orphans).
 */
export const blobs = pgTable(
  'blobs',
  {
    id: uuid('id').primaryKey(),
    purpose: text('purpose').notNull(),
    /** Data key wrapped by the master key `keyId`. */
    wrappedKey: bytea('wrapped_key').notNull(),
    keyId: text('key_id').notNull(),
    size: bigint('size', { mode: 'number' }).notNull().default(0),
    sha256: text('sha256'),
    chunkCount: integer('chunk_count').notNull().default(0),
    complete: boolean('complete').notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [index('blobs_created_idx').on(t.createdAt)],
);

export const blobChunks = pgTable(
  'blob_chunks',
  {
    blobId: uuid('blob_id')
      .notNull()
      .references(() => blobs.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    /** iv (12) | tag (16) | ciphertext; AAD binds blob id, sequence number and the last-chunk flag. */
    data: bytea('data').notNull(),
  },
  (t) => [primaryKey({ columns: [t.blobId, t.seq] })],
);

/** One accepted SMTP transaction: the raw message (encrypted, the medico-legal record) and its envelope. */
export const inboundMessages = pgTable('inbound_messages', {
  id: uuid('id').primaryKey(),
  /** The queue id given in `250 2.0.0 <queue id>`. */
  queueId: text('queue_id').notNull().unique(),
  rawBlobId: uuid('raw_blob_id')
    .notNull()
    .references(() => blobs.id),
  size: bigint('size', { mode: 'number' }).notNull(),
  mailFrom: text('mail_from').notNull(),
  sendingDomain: text('sending_domain').notNull(),
  peerDn: text('peer_dn').notNull(),
  peerFingerprint: text('peer_fingerprint').notNull(),
  clientAddress: text('client_address').notNull(),
  receivedAt: tstz('received_at').notNull().defaultNow(),
});

/** One recipient of one inbound message: the unit of processing (job id = delivery id). */
export const deliveries = pgTable(
  'deliveries',
  {
    id: uuid('id').primaryKey(),
    messageId: uuid('message_id')
      .notNull()
      .references(() => inboundMessages.id),
    patientId: uuid('patient_id')
      .notNull()
      .references(() => patients.id),
    /** queued | delivered | failed | ended | report (mailbox/rules/statuses.ts) */
    status: text('status', { enum: DELIVERY_STATUSES }).notNull().default('queued'),
    /** The sending operator (its certificate's SHA-256 fingerprint): the unit of fair scheduling. */
    sender: text('sender'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    enqueuedAt: tstz('enqueued_at'),
    doneAt: tstz('done_at'),
    createdAt: createdAt(),
  },
  (t) => [
    index('deliveries_status_idx').on(t.status, t.enqueuedAt),
    index('deliveries_message_idx').on(t.messageId),
    // A sender's current backlog, counted at every enqueue (fair scheduling): only queued rows are indexed.
    index('deliveries_sender_queued_idx')
      .on(t.sender)
      .where(sql`status = 'queued'`),
  ],
);

/** Transactional outbox: written in the accepting transaction, drained into BullMQ by the relay. */
export const outbox = pgTable('outbox', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  topic: text('topic').notNull(),
  refId: uuid('ref_id').notNull(),
  createdAt: createdAt(),
});

/** A message in a patient's mailbox; its readable content is sealed. */
export const mailboxMessages = pgTable(
  'mailbox_messages',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    patientId: uuid('patient_id')
      .notNull()
      .references(() => patients.id),
    /** Idempotency: one mailbox message per delivery, whatever the number of retries. */
    deliveryId: uuid('delivery_id')
      .references(() => deliveries.id)
      .unique(),
    inboundMessageId: uuid('inbound_message_id').references(() => inboundMessages.id),
    /** inbox | sent */
    folder: text('folder', { enum: MAILBOX_FOLDERS }).notNull().default('inbox'),
    /** message (from a professional or the patient) | notice (from the gateway: delivery failure...) */
    kind: text('kind', { enum: MAILBOX_MESSAGE_KINDS }).notNull().default('message'),
    /** Sealed JSON {subject, fromName, fromAddress, replyTo, text, html, messageId, inReplyTo, references, date}. */
    content: bytea('content').notNull(),
    attachmentCount: integer('attachment_count').notNull().default(0),
    /** The professional this message is from (inbox) or to (sent). */
    contactId: uuid('contact_id').references(() => contacts.id),
    /** The professional's From address (lower-cased; not health data, like contacts.address): a [FIN] from it closes the message. */
    authorAddress: text('author_address'),
    /** Message-ID header, for threading and matching receipts. */
    messageIdHeader: text('message_id_header'),
    threadKey: text('thread_key'),
    /** X-MSS-MES: FIN: this message alone may not be answered. */
    noReply: boolean('no_reply').notNull().default(false),
    /** Set when the professional later ended the exchange ([FIN]). */
    closedAt: tstz('closed_at'),
    /** Disposition-Notification-To, when the sender asked for a read receipt. */
    mdnTo: text('mdn_to'),
    mdnQueuedAt: tstz('mdn_queued_at'),
    /** For the sent folder: the outbound message and its delivery status (queued | sent | delayed | failed). */
    outboundId: uuid('outbound_id'),
    receivedAt: tstz('received_at').notNull().defaultNow(),
    readAt: tstz('read_at'),
    deletedAt: tstz('deleted_at'),
  },
  (t) => [
    index('mailbox_patient_received_idx').on(t.patientId, t.receivedAt, t.id),
    index('mailbox_patient_msgid_idx').on(t.patientId, t.messageIdHeader),
    index('mailbox_contact_idx').on(t.contactId),
  ],
);

/**
 * The professionals a patient may write to: added when a professional's message is delivered (its Reply-To when
 * that is an MSSanté address, else its From); ended by [FIN], reopened by a later message.
 */
export const contacts = pgTable(
  'contacts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    patientId: uuid('patient_id')
      .notNull()
      .references(() => patients.id),
    address: text('address').notNull(),
    /** Sealed JSON {headerName}: the display name the professional's mail carried. */
    meta: bytea('meta').notNull(),
    endedAt: tstz('ended_at'),
    lastMessageAt: tstz('last_message_at').notNull().defaultNow(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('contacts_patient_address_uq').on(t.patientId, t.address),
    // The contacts listing: newest writer first, keyset on (last_message_at, id) (mailbox/read.ts).
    index('contacts_patient_recent_idx').on(t.patientId, t.lastMessageAt, t.id),
  ],
);

/** The professionals' directory (importable): MSSanté address -> RPPS, profession, display name. */
export const professionals = pgTable('professionals', {
  address: text('address').primaryKey(),
  rpps: text('rpps'),
  professionCode: text('profession_code'),
  displayName: text('display_name').notNull(),
  updatedAt: tstz('updated_at').notNull().defaultNow(),
});

/** Messages leaving the gateway: patients' replies, read receipts (MDN), delivery reports (DSN). */
export const outboundMessages = pgTable(
  'outbound_messages',
  {
    id: uuid('id').primaryKey(),
    patientId: uuid('patient_id').references(() => patients.id),
    /** patient | mdn | dsn */
    kind: text('kind', { enum: OUTBOUND_KINDS }).notNull(),
    /** Empty for the null sender (MDN, DSN). */
    envelopeFrom: text('envelope_from').notNull(),
    rcpt: text('rcpt').notNull(),
    rawBlobId: uuid('raw_blob_id')
      .notNull()
      .references(() => blobs.id),
    messageIdHeader: text('message_id_header').notNull(),
    /** queued | sent | failed (mailbox/rules/statuses.ts) */
    status: text('status', { enum: OUTBOUND_STATUSES }).notNull().default('queued'),
    attempts: integer('attempts').notNull().default(0),
    lastResponse: text('last_response'),
    enqueuedAt: tstz('enqueued_at'),
    doneAt: tstz('done_at'),
    createdAt: createdAt(),
  },
  (t) => [index('outbound_status_idx').on(t.status, t.enqueuedAt), index('outbound_msgid_idx').on(t.messageIdHeader)],
);

/** Grouping of new-message notification e-mails: at most one per patient per window. */
export const notificationState = pgTable('notification_state', {
  patientId: uuid('patient_id')
    .primaryKey()
    .references(() => patients.id),
  lastSentAt: tstz('last_sent_at'),
  pendingSince: tstz('pending_since'),
});

/** What happened in a patient's space, by anyone other than the patient; append-only, hash-chained per patient. */
export const activityEvents = pgTable(
  'activity_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    patientId: uuid('patient_id')
      .notNull()
      .references(() => patients.id),
    /** access/rules/activity-kinds.ts */
    kind: text('kind', { enum: ACTIVITY_KINDS }).notNull(),
    /** Who acted (a professional's address or RPPS, 'system'...). */
    actor: text('actor').notNull(),
    /** professional | organisation | system */
    actorKind: text('actor_kind', { enum: ACTIVITY_ACTOR_KINDS }).notNull().default('professional'),
    actorRpps: text('actor_rpps'),
    documentId: uuid('document_id'),
    /** Sealed JSON with the details (document, reason...). */
    detail: bytea('detail'),
    /** Position in the patient's chain, assigned by the chainer (null until sealed). */
    chainSeq: integer('chain_seq'),
    prevHash: text('prev_hash'),
    /** SHA-256 over the previous hash and the event; null until the chainer seals it (seconds). */
    hash: text('hash'),
    createdAt: createdAt(),
  },
  (t) => [index('activity_patient_idx').on(t.patientId, t.id), index('activity_patient_chain_idx').on(t.patientId, t.chainSeq)],
);

/**
 * The head of each patient's activity chain, signed with a key derived from the master key (outside the
 * database): a chain cut at its end, or rewritten and re-hashed whole, no longer matches its signed head.
 */
export const activityHeads = pgTable('activity_heads', {
  patientId: uuid('patient_id')
    .primaryKey()
    .references(() => patients.id),
  chainSeq: integer('chain_seq').notNull(),
  hash: text('hash').notNull(),
  /** HMAC-SHA256 over patient id, position and hash (access/activity.ts `headMac`). */
  mac: text('mac').notNull(),
  /** The master key the MAC key was derived from. */
  keyId: text('key_id').notNull(),
});

/** A document in the patient's vault (attachments of delivered messages, uploads). */
export const documents = pgTable(
  'documents',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    patientId: uuid('patient_id')
      .notNull()
      .references(() => patients.id),
    mailboxMessageId: uuid('mailbox_message_id').references(() => mailboxMessages.id),
    /** Attachment index inside its message (idempotency with mailboxMessageId). */
    position: integer('position'),
    blobId: uuid('blob_id')
      .notNull()
      .references(() => blobs.id),
    rubric: text('rubric').notNull().default('autres-documents'),
    /** Sealed JSON {filename, title, declaredType, typeCode, classCode, authorName, cda}. */
    meta: bytea('meta').notNull(),
    mediaType: text('media_type').notNull(),
    size: bigint('size', { mode: 'number' }).notNull(),
    sha256: text('sha256').notNull(),
    /** professional | patient | insurer | establishment */
    authorKind: text('author_kind', { enum: DOCUMENT_AUTHOR_KINDS }).notNull(),
    /** The author's RPPS when a professional identified by the professional API. */
    authorRpps: text('author_rpps'),
    /** The depositing organisation's structure id when an organisation certificate deposited it (establishment, insurer). */
    authorOrganisation: text('author_organisation'),
    /** message | upload */
    originKind: text('origin_kind', { enum: DOCUMENT_ORIGIN_KINDS }).notNull(),
    /** Masked to professionals (except its author and the administrator doctor). */
    /** Masked to professionals by the patient (only the patient clears it). */
    masked: boolean('masked').notNull().default(false),
    /** Masked to professionals by the document's author (only the author clears it). */
    maskedByAuthor: boolean('masked_by_author').notNull().default(false),
    /** Hidden from the patient until an announcement consultation. */
    hiddenFromPatient: boolean('hidden_from_patient').notNull().default(false),
    /** When a hidden document becomes visible by itself (its author chose the date); null: only by its author. */
    revealAt: tstz('reveal_at'),
    /** Version chain: the document this one replaces. */
    previousVersionId: uuid('previous_version_id'),
    supersededAt: tstz('superseded_at'),
    deletedAt: tstz('deleted_at'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('documents_message_position_uq').on(t.mailboxMessageId, t.position),
    index('documents_patient_idx').on(t.patientId, t.createdAt),
    index('documents_reveal_idx')
      .on(t.revealAt)
      .where(sql`reveal_at IS NOT NULL`),
  ],
);

/** The patient's access settings (SPEC §6.4). */
export const accessSettings = pgTable('access_settings', {
  patientId: uuid('patient_id')
    .primaryKey()
    .references(() => patients.id),
  allMasked: boolean('all_masked').notNull().default(false),
  /** Access by the SAMU regulator (médecin régulateur) allowed by the patient (DOMAIN.md §6: its own setting). */
  samuRegulatorAllowed: boolean('samu_regulator_allowed').notNull().default(true),
  /** "Bris de glace": any authorised professional when the patient's life is at risk, allowed by the patient. */
  breakGlassAllowed: boolean('break_glass_allowed').notNull().default(true),
  administratorRpps: text('administrator_rpps'),
  updatedAt: tstz('updated_at').notNull().defaultNow(),
});

/** Professionals the patient blocked: they see nothing. */
export const blockedProfessionals = pgTable(
  'blocked_professionals',
  {
    patientId: uuid('patient_id')
      .notNull()
      .references(() => patients.id),
    rpps: text('rpps').notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.patientId, t.rpps] })],
);

/** Establishments (by FINESS) the patient blocked: none of their professionals or systems sees anything. */
export const blockedEstablishments = pgTable(
  'blocked_establishments',
  {
    patientId: uuid('patient_id')
      .notNull()
      .references(() => patients.id),
    finess: text('finess').notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.patientId, t.finess] })],
);

/**
 * One row per document an organisation deposited with an idempotency key (bulk pre-admission): written in the
 * same statement as the document, so a retried batch finds the key and files nothing twice.
 */
export const organisationDeposits = pgTable(
  'organisation_deposits',
  {
    /** The organisation's structure id from its certificate ('1' + FINESS, or '3' + SIRET). */
    organisationId: text('organisation_id').notNull(),
    idempotencyKey: text('idempotency_key').notNull(),
    documentId: uuid('document_id')
      .notNull()
      .references(() => documents.id),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.organisationId, t.idempotencyKey] })],
);

/** Second factor of a login: a code sent by e-mail, stored hashed. */
export const loginChallenges = pgTable(
  'login_challenges',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    patientId: uuid('patient_id')
      .notNull()
      .references(() => patients.id),
    codeHash: text('code_hash').notNull(),
    attempts: integer('attempts').notNull().default(0),
    expiresAt: tstz('expires_at').notNull(),
    usedAt: tstz('used_at'),
    createdAt: createdAt(),
  },
  (t) => [index('login_challenges_patient_idx').on(t.patientId)],
);

/**
 * Unproven authentication attempts per (client address, INS), for the growing delays of
 * access/rules/login-throttle.ts. Keyed by SHA-256(address, INS): neither is stored, and an unknown INS gets a
 * row exactly like an existing one.
 */
export const loginThrottle = pgTable('login_throttle', {
  key: text('key').primaryKey(),
  failures: integer('failures').notNull().default(0),
  lastFailureAt: tstz('last_failure_at'),
});

/** HTTP rate-limit counters (api/rate-limit.ts): one fixed window per key, shared by every API process. */
export const httpRateLimits = pgTable(
  'http_rate_limits',
  {
    key: text('key').primaryKey(),
    n: integer('n').notNull().default(0),
    resetsAt: tstz('resets_at').notNull(),
  },
  (t) => [index('http_rate_limits_resets_idx').on(t.resetsAt)],
);

/** Patient sessions, stored by the SHA-256 of their token. */
export const sessions = pgTable(
  'sessions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tokenHash: text('token_hash').notNull().unique(),
    patientId: uuid('patient_id')
      .notNull()
      .references(() => patients.id),
    createdAt: createdAt(),
    lastSeenAt: tstz('last_seen_at').notNull().defaultNow(),
    expiresAt: tstz('expires_at').notNull(),
    revokedAt: tstz('revoked_at'),
  },
  (t) => [index('sessions_patient_idx').on(t.patientId)],
);

/**
 * The gateway processes sharing this database (ROLES scale-out), each refreshing its heartbeat every few
 * seconds; a process silent for longer than the shared-limit lease is dead and its counts no longer count.
 */
export const gatewayProcesses = pgTable('gateway_processes', {
  id: text('id').primaryKey(),
  roles: text('roles').notNull(),
  host: text('host').notNull(),
  pid: integer('pid').notNull(),
  startedAt: createdAt(),
  heartbeatAt: tstz('heartbeat_at').notNull().defaultNow(),
});

/** Open SMTP sessions per peer certificate, per process (limit per certificate across processes). */
export const certConnections = pgTable(
  'cert_connections',
  {
    processId: text('process_id')
      .notNull()
      .references(() => gatewayProcesses.id, { onDelete: 'cascade' }),
    fingerprint: text('fingerprint').notNull(),
    n: integer('n').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.processId, t.fingerprint] }), index('cert_connections_fp_idx').on(t.fingerprint)],
);

/** Messages per sending domain per minute, summed over every process (flushed by each every half second). */
export const rateCounters = pgTable(
  'rate_counters',
  {
    key: text('key').notNull(),
    /** The minute: floor(epoch ms / 60 000). */
    bucket: bigint('bucket', { mode: 'number' }).notNull(),
    n: integer('n').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.key, t.bucket] })],
);
