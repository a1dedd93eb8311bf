/**
 * Threads by Message-ID / In-Reply-To / References (SPEC §4 "Threads", RFC 5322 §3.6.4).
 *
 * Pure functions; the lookup of already-known messages is a callback, which the caller must scope to ONE
 * patient's mailbox (a lookup across patients would let a sender graft a message into another patient's
 * thread, or learn thread keys). Message-IDs are kept in their `<...>` form everywhere, so the value stored, the
 * value looked up and the value written into a reply's headers are the same string.
 *
 * Bad input: an identifier that is not a plausible msg-id (white space inside, empty, too long, stray angle
 * brackets or controls) is ignored rather than trusted; a message with no usable identifier gets the caller's
 * fallback key. Nothing here throws.
 */

/** RFC 5322 §2.1.1: no line may exceed 998 characters, so neither can an identifier written on one. */
export const MAX_MESSAGE_ID_LENGTH = 998;
/** References kept in a reply (RFC 5322 leaves the trimming to the writer; long chains only grow headers). */
export const MAX_REFERENCES = 20;
/**
 * Lookups made for one message: a hostile References header may list thousands of ids, each costing the caller
 * a query. The nearest ancestors are looked at first, so the cap only drops far-away ones.
 */
export const MAX_THREAD_LOOKUPS = 100;

/** `<id>` for a plausible msg-id (with or without its brackets), else null. */
export function normalizeMessageId(raw: string | null | undefined): string | null {
  if (typeof raw !== 'string') return null;
  let s = raw.trim();
  if (s.startsWith('<') && s.endsWith('>')) s = s.slice(1, -1);
  // eslint-disable-next-line no-control-regex -- controls inside an identifier are never legitimate
  if (s.length === 0 || /[\s<>\u0000-\u001f\u007f]/.test(s)) return null;
  const id = `<${s}>`;
  return id.length > MAX_MESSAGE_ID_LENGTH ? null : id;
}

/**
 * The identifiers of an In-Reply-To or References value, in order. RFC 5322 allows several msg-ids (and
 * comments or phrases from old clients) in one field, so bracketed tokens are taken when there are any; a value
 * without brackets is read as white-space separated ids.
 */
/** 100 ids of ~160 characters: longer In-Reply-To or References values are cut before they are read. */
const MAX_ID_LIST = 16 * 1024;

export function parseMessageIdList(raw: string | null | undefined): string[] {
  if (typeof raw !== 'string') return [];
  raw = raw.slice(0, MAX_ID_LIST);
  const bracketed = raw.match(/<[^<>]*>/g);
  const tokens = bracketed ?? raw.split(/\s+/);
  const out: string[] = [];
  for (const t of tokens) {
    const id = normalizeMessageId(t);
    if (id !== null) out.push(id);
  }
  return out;
}

function idsOf(values: readonly string[] | null | undefined): string[] {
  if (!Array.isArray(values)) return [];
  return values.flatMap((v) => parseMessageIdList(v));
}

/**
 * The thread a message belongs to: the thread of the nearest ancestor already in the mailbox (In-Reply-To
 * first, the direct parent; then References from the last, the nearest, to the first, the root), else a new
 * thread keyed by the message's own Message-ID, else `fallback` (the caller's stable id for this message, so a
 * retried delivery lands in the same thread).
 */
export function threadKeyFor(
  msg: { messageId: string | null; inReplyTo: string | null; references: string[] },
  known: (messageId: string) => string | null,
  fallback: string,
): string {
  const own = normalizeMessageId(msg.messageId);
  const candidates = [...parseMessageIdList(msg.inReplyTo), ...idsOf(msg.references).reverse()];
  const seen = new Set<string>();
  for (const id of candidates) {
    if (seen.size >= MAX_THREAD_LOOKUPS) break;
    // A message citing itself must not count as its own known ancestor.
    if (id === own || seen.has(id)) continue;
    seen.add(id);
    const thread = known(id);
    if (typeof thread === 'string' && thread.length > 0) return thread;
  }
  return own ?? fallback;
}

/**
 * In-Reply-To and References for a reply to `parent` (RFC 5322 §3.6.4): the parent's References (or, without
 * them, its single In-Reply-To) followed by the parent's Message-ID, the last 20 kept, duplicates dropped.
 */
export function referencesFor(parent: { messageId: string | null; references: string[]; inReplyTo?: string | null }): {
  inReplyTo: string | null;
  references: string[];
} {
  const parentId = normalizeMessageId(parent.messageId);
  let chain = idsOf(parent.references);
  if (chain.length === 0) {
    const irt = parseMessageIdList(parent.inReplyTo);
    if (irt.length === 1) chain = irt;
  }
  if (parentId !== null) chain.push(parentId);
  // Keep the last occurrence of a repeated id, so the parent stays last and order stays chronological.
  const deduped: string[] = [];
  const seen = new Set<string>();
  for (let i = chain.length - 1; i >= 0; i--) {
    const id = chain[i]!;
    if (!seen.has(id)) {
      seen.add(id);
      deduped.push(id);
    }
  }
  return { inReplyTo: parentId, references: deduped.reverse().slice(-MAX_REFERENCES) };
}
