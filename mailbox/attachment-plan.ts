/**
 * What of a message's attachments is filed, in two steps so that a message to several patients is parsed,
 * scanned and inflated once (SPEC §5 limits hold per message, not per recipient):
 * - `planAttachments` (once per message): scan and sniff verdicts, IHE XDM archives read under the message's one
 *   budget of inflated bytes, plain ZIP archives vetted member by member (vault/zip-members.ts);
 * - `attachmentsFor` (once per recipient): an XDM archive is filed only when every patient identifier in it is
 *   this recipient's INS (otherwise nothing of it is filed and the sender is told); the documents' blobs are
 *   written once per message and shared by every recipient's document rows.
 *
 * Infected attachments are quarantined (kept only inside the encrypted raw message), refused types (executables,
 * unknown binaries, active content) are not filed. With scanning on and the scanner failing, planning throws
 * ScannerUnavailableError: every delivery of the message waits, nothing is filed unscanned. Blobs written here and
 * never referenced (a crash before the delivery's commit) are unreferenced and collected.
 */
import type { Limits } from '../config/index.js';
import {
  type BlobStore,
  type DocumentToFile,
  type StoredBlob,
  storeBuffer,
  type IntakeResult,
  DEFAULT_RUBRIC,
  MEDIA,
  markupIn,
  sniffMediaType,
  withMarkupVerdict,
  type SniffResult,
  classifyXdmArchive,
  readXdmZip,
  XdmError,
  type XdmArchive,
  vetZipMembers,
} from '../vault/index.js';

export interface ParsedAttachment {
  stored: StoredBlob;
  filename: string;
  /** Declared by the sender (not trusted). */
  mediaType: string;
  contentId: string | null;
  intake: IntakeResult;
}

export interface FileToFile extends DocumentToFile {
  classCode: string | null;
  cda: Record<string, unknown> | null;
  /** Only for a part filed as it came (an inline image the HTML body refers to by `cid:`). */
  contentId?: string | null;
}

export interface Removed {
  filename: string;
  reason: 'virus' | 'refused' | 'xdm';
}

/** A temporary failure (the scanner is down): the delivery is retried, nothing is filed unscanned. */
export class ScannerUnavailableError extends Error {}

type Planned =
  | { kind: 'removed'; removed: Removed }
  | { kind: 'file'; attachment: ParsedAttachment }
  | { kind: 'xdm'; attachment: ParsedAttachment; archive: XdmArchive }
  | { kind: 'xdm-refused'; attachment: ParsedAttachment; error: XdmError };

export interface AttachmentPlan {
  items: Planned[];
  /** True when several recipients file from this plan: blobs are then written before any of their statements. */
  shared: boolean;
  /** XDM documents' verdicts and blobs, by archive position and path, computed once. */
  readonly innerSniffs: Map<string, Promise<SniffResult>>;
  readonly innerBlobs: Map<string, Promise<StoredBlob>>;
}

export interface AttachmentsForRecipient {
  files: FileToFile[];
  removed: Removed[];
  xdmRefused: XdmError | null;
  codeCda: string | null;
}

/** The per-message half: verdicts, archives read, budget of inflated bytes spent once. */
export async function planAttachments(deps: { limits: Limits; blobs: BlobStore }, attachments: ParsedAttachment[], shared: boolean): Promise<AttachmentPlan> {
  const items: Planned[] = [];
  // One budget of inflated bytes for every archive of the message (each archive also has its own caps).
  let budget = deps.limits.maxInflatedBytesPerMessage;
  for (const a of attachments) {
    const { scan, sniff, zip } = a.intake;
    if (scan.verdict === 'error') throw new ScannerUnavailableError(`virus scanner unavailable: ${scan.reason}`);
    if (scan.verdict === 'infected') {
      items.push({ kind: 'removed', removed: { filename: a.filename, reason: 'virus' } });
      continue;
    }
    if (sniff.verdict === 'refused') {
      items.push({ kind: 'removed', removed: { filename: a.filename, reason: 'refused' } });
      continue;
    }
    if (!zip) {
      items.push({ kind: 'file', attachment: await fileable(deps.blobs, a, shared) });
      continue;
    }
    let archive: XdmArchive | null = null;
    try {
      archive = await readXdmZip(zip, { maxTotalBytes: Math.max(0, budget) });
    } catch (e) {
      if (!(e instanceof XdmError)) throw e;
      if (e.code !== 'no-metadata' && e.code !== 'not-zip') {
        items.push({ kind: 'xdm-refused', attachment: a, error: e });
        continue;
      }
    }
    if (archive) {
      for (const b of archive.entries.values()) budget -= b.length;
      items.push({ kind: 'xdm', attachment: a, archive });
      continue;
    }
    // Not an XDM archive. A plain ZIP is filed as it is only if each member would be (office documents,
    // ZIP-based too, are judged as documents by the sniffer).
    if (sniff.mediaType === MEDIA.zip) {
      const members = await vetZipMembers(zip, { maxTotalBytes: Math.max(0, budget) });
      if (!members.ok) {
        items.push({ kind: 'removed', removed: { filename: a.filename, reason: 'refused' } });
        continue;
      }
      budget -= members.inflatedBytes;
    }
    items.push({ kind: 'file', attachment: await fileable(deps.blobs, a, shared) });
  }
  return { items, shared, innerSniffs: new Map(), innerBlobs: new Map() };
}

/** A blob several recipients' rows will reference: written now if it was still to be written inline. */
async function shareable(blobs: BlobStore, stored: StoredBlob): Promise<StoredBlob> {
  if (!stored.inline) return stored;
  await blobs.persistNow(stored);
  return { ...stored, inline: null };
}

/** An attachment filed as it came; its blob written now when several recipients will reference it. */
async function fileable(blobs: BlobStore, a: ParsedAttachment, shared: boolean): Promise<ParsedAttachment> {
  return shared ? { ...a, stored: await shareable(blobs, a.stored) } : a;
}

/** The plan's attachments as filed for one recipient. */
export async function attachmentsFor(deps: { blobs: BlobStore }, plan: AttachmentPlan, ins: string): Promise<AttachmentsForRecipient> {
  const files: FileToFile[] = [];
  const removed: Removed[] = [];
  let xdmRefused: XdmError | null = null;
  const codes: string[] = [];
  for (const [position, item] of plan.items.entries()) {
    if (item.kind === 'removed') {
      removed.push(item.removed);
      continue;
    }
    if (item.kind === 'xdm-refused') {
      xdmRefused = item.error;
      removed.push({ filename: item.attachment.filename, reason: 'xdm' });
      continue;
    }
    if (item.kind === 'xdm') {
      const r = classifyXdmArchive(item.archive, ins);
      if (!r.ok) {
        xdmRefused = r.error;
        removed.push({ filename: item.attachment.filename, reason: 'xdm' });
        continue;
      }
      if (r.codeCda) codes.push(r.codeCda);
      for (const d of r.documents) {
        const key = `${position}:${d.path}`;
        let sniffed = plan.innerSniffs.get(key);
        if (!sniffed) {
          sniffed = sniffMediaType(d.content.subarray(0, 16 * 1024), d.mimeType, d.path).then((s) => withMarkupVerdict(s, markupIn(d.content)));
          plan.innerSniffs.set(key, sniffed);
        }
        const inner = await sniffed;
        const filename = d.path.split('/').pop() ?? d.path;
        if (inner.verdict === 'refused') {
          removed.push({ filename, reason: 'refused' });
          continue;
        }
        let stored = plan.innerBlobs.get(key);
        if (!stored) {
          stored = storeBuffer(deps.blobs, d.content).then((s) => (plan.shared ? shareable(deps.blobs, s) : s));
          plan.innerBlobs.set(key, stored);
        }
        files.push({
          stored: await stored,
          filename,
          title: d.title,
          mediaType: inner.mediaType,
          declaredType: d.mimeType ?? 'application/octet-stream',
          rubric: d.rubric,
          typeCode: d.typeCode?.code ?? null,
          classCode: d.classCode?.code ?? null,
          cda: d.cda ? { ...d.cda } : null,
        });
      }
      continue;
    }
    const a = item.attachment;
    files.push({
      stored: a.stored,
      filename: a.filename,
      title: a.filename,
      mediaType: a.intake.sniff.mediaType,
      declaredType: a.mediaType,
      rubric: DEFAULT_RUBRIC,
      typeCode: null,
      classCode: null,
      cda: null,
      contentId: a.contentId,
    });
  }
  return { files, removed, xdmRefused, codeCda: codes.length ? codes.join(',') : null };
}
