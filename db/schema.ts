/**
 * The system of record: one Drizzle schema for PostgreSQL 15 and PGlite, one migration set (db/migrations).
 *
 * Health data never sits in a plain column: message subjects, bodies, sender names, attachment names and
 * patients' identity traits are stored sealed (AES-256-GCM, see vault/) in `bytea` columns. Plain columns hold
 * only what indexes, joins and state machines need. Keep every statement within PostgreSQL 15.
 */
import {
  bigint,
  bigserial,
  boolean,
  customType,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

/** `bytea` as a Node Buffer on both drivers (pg gives Buffer, PGlite gives Uint8Array). */
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
  state: text('state').notNull(),
  /** Sealed JSON {familyName, givenNames, birthDate, email}. */
  identity: bytea('identity').notNull(),
  provisionalCodeHash: text('provisional_code_hash'),
  provisionalCodeExpiresAt: tstz('provisional_code_expires_at'),
  passwordHash: text('password_hash'),
  activatedAt: tstz('activated_at'),
  failedLogins: integer('failed_logins').notNull().default(0),
  lockedUntil: tstz('locked_until'),
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
    /** queued | delivered | failed */
    status: text('status').notNull().default('queued'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    enqueuedAt: tstz('enqueued_at'),
    doneAt: tstz('done_at'),
    createdAt: createdAt(),
  },
  (t) => [
    index('deliveries_status_idx').on(t.status, t.enqueuedAt),
    index('deliveries_message_idx').on(t.messageId),
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
    folder: text('folder').notNull().default('inbox'),
    /** Sealed JSON {subject, fromName, fromAddress, replyTo, text, html, messageId, inReplyTo, references, date}. */
    content: bytea('content').notNull(),
    attachmentCount: integer('attachment_count').notNull().default(0),
    receivedAt: tstz('received_at').notNull().defaultNow(),
    readAt: tstz('read_at'),
    deletedAt: tstz('deleted_at'),
  },
  (t) => [index('mailbox_patient_received_idx').on(t.patientId, t.receivedAt, t.id)],
);

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
    /** Sealed JSON {filename, title, declaredType}. */
    meta: bytea('meta').notNull(),
    mediaType: text('media_type').notNull(),
    size: bigint('size', { mode: 'number' }).notNull(),
    sha256: text('sha256').notNull(),
    authorKind: text('author_kind').notNull(),
    originKind: text('origin_kind').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('documents_message_position_uq').on(t.mailboxMessageId, t.position),
    index('documents_patient_idx').on(t.patientId, t.createdAt),
  ],
);

/** Second factor of a login: a code sent by e-mail, stored hashed. */
export const loginChallenges = pgTable('login_challenges', {
  id: uuid('id').primaryKey().defaultRandom(),
  patientId: uuid('patient_id')
    .notNull()
    .references(() => patients.id),
  codeHash: text('code_hash').notNull(),
  attempts: integer('attempts').notNull().default(0),
  expiresAt: tstz('expires_at').notNull(),
  usedAt: tstz('used_at'),
  createdAt: createdAt(),
});

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
