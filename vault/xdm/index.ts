/**
 * IHE XDM classification: from an `IHE_XDM.ZIP` attachment and the recipient's INS to the list of documents
 * to file, each with its rubric, plus the recomputed `X-MSS-CODECDA` value.
 *
 * Guarantees:
 * - All or nothing: either every document listed in every submission set is returned (`ok: true`), or none
 *   is and `error` says why (`ok: false`). A refusal never leaves some documents filed and others not.
 * - Patient check (SPEC §5, DOMAIN.md §8.3): every patientId of the archive (each document entry, each
 *   submission set, each folder) and the INS of every CDA's `recordTarget` must be an INS equal to
 *   `recipientIns` (upper-case compare). One that differs, or that is not an INS at all, gives
 *   `patient-mismatch`; a document with no patientId anywhere (neither its own nor its submission set's)
 *   gives `patient-missing`. In both cases nothing is returned.
 * - Refusals of the archive itself (caps, paths, metadata, DOCTYPE, integrity) come from readXdmZip and
 *   cdaHeader as the same `{ ok: false, error }`. Only programming errors throw.
 * - `mimeType` is the one DECLARED in METADATA.XML: sniff the content (vault/sniff.ts) before storing it.
 * - `patientOid` tells which INS OID the archive used, so that the caller can refuse the test and demo OIDs
 *   (…4.10, …4.11) in production; this module has no notion of environment.
 */
import { rubricFor } from '../../config/index.js';
import type { RubricId } from '../rubrics.js';
import { cdaHeader, codeCdaValue, isCdaDocument, type CdaHeader } from './cda.js';
import { XdmError } from './errors.js';
import { patientInsFromXdsId, type XdsCode } from './metadata.js';
import { readXdmZip, type XdmArchive, type XdmCaps } from './read-zip.js';

export { XdmError, sanitizeDetail, type XdmErrorCode } from './errors.js';
export { readXdmZip, readZipEntries, DEFAULT_XDM_CAPS, type XdmCaps, type XdmArchive } from './read-zip.js';
export { parseXdmMetadata, patientInsFromXdsId, isInsOid, INS_OIDS, XDS, type XdmSubmissionSet, type XdmDocumentEntry, type XdsCode } from './metadata.js';
export { cdaHeader, isCdaDocument, mssCodeCdaHeader, codeCdaValue, type CdaHeader } from './cda.js';

export interface ClassifiedDocument {
  /** Path of the document inside the archive. */
  path: string;
  content: Buffer;
  /** Metadata title, else the CDA title, else the file name. */
  title: string;
  /** As declared in METADATA.XML (not sniffed). */
  mimeType: string | null;
  rubric: RubricId;
  typeCode: XdsCode | null;
  classCode: XdsCode | null;
  creationTime: string | null;
  /** OID of the INS the archive identified the patient with. */
  patientOid: string;
  /** Header of the document when it is a CDA, else null. */
  cda: CdaHeader | null;
}

export type ClassifyResult =
  | { ok: true; documents: ClassifiedDocument[]; codeCda: string | null; /** Bytes inflated from the archive. */ inflatedBytes: number }
  | { ok: false; error: XdmError };

/** Read, check and classify an XDM archive for one recipient. See the header for the guarantees. */
export async function classifyXdm(zip: Buffer, recipientIns: string, caps?: Partial<XdmCaps>): Promise<ClassifyResult> {
  let archive: XdmArchive;
  try {
    archive = await readXdmZip(zip, caps);
  } catch (e) {
    if (e instanceof XdmError) return { ok: false, error: e };
    throw e;
  }
  return classifyXdmArchive(archive, recipientIns);
}

/**
 * Classify an archive already read (readXdmZip) for one recipient: a message to several patients reads and
 * inflates its archives once, then checks each recipient's identifiers against them.
 */
export function classifyXdmArchive(archive: XdmArchive, recipientIns: string): ClassifyResult {
  const recipient = recipientIns.trim().toUpperCase();
  try {
    const documents: ClassifiedDocument[] = [];
    const codes: (string | null)[] = [];

    // Every patient identifier must name the recipient; `oid` is the one seen (they agree once they all match).
    const checkIns = (where: string, ins: string | null, oidSeen: string | null): string => {
      if (ins === null || ins !== recipient) {
        // The detail says where, never which INS: it is a health identifier and logs are not the place.
        throw new XdmError('patient-mismatch', `${where}: patient identifier is not the recipient's INS`);
      }
      return oidSeen ?? '';
    };

    for (const set of archive.submissionSets) {
      let setOid: string | null = null;
      for (const pid of [set.patientId, ...set.otherPatientIds]) {
        if (pid === null) continue;
        const p = patientInsFromXdsId(pid);
        setOid = checkIns(`${set.folder} submission set/folder`, p?.ins ?? null, p?.oid ?? null);
      }
      for (const d of set.documents) {
        let oid = setOid;
        if (d.patientId !== null) {
          const p = patientInsFromXdsId(d.patientId);
          oid = checkIns(`${d.path}`, p?.ins ?? null, p?.oid ?? null);
        }
        if (oid === null) throw new XdmError('patient-missing', `${d.path}: no patientId on the entry or its submission set`);

        const content = archive.entries.get(d.path)!;
        let cda: CdaHeader | null = null;
        if (isCdaDocument(content)) {
          cda = cdaHeader(content);
          if (cda.patientIns !== null) checkIns(`${d.path} CDA recordTarget`, cda.patientIns, cda.patientInsOid);
          codes.push(cda.code);
        }
        const fileName = d.path.slice(d.path.lastIndexOf('/') + 1);
        documents.push({
          path: d.path,
          content,
          title: d.title ?? cda?.title ?? fileName,
          mimeType: d.mimeType,
          // The CDA code IS the typeCode (ANS "lien entre l'en-tête CDA et les métadonnées XDS"): use it when the
          // metadata left typeCode out.
          rubric: rubricFor({ typeCode: d.typeCode?.code ?? cda?.code ?? null, classCode: d.classCode?.code ?? null }),
          typeCode: d.typeCode,
          classCode: d.classCode,
          creationTime: d.creationTime,
          patientOid: oid,
          cda,
        });
      }
    }
    let inflatedBytes = 0;
    for (const b of archive.entries.values()) inflatedBytes += b.length;
    return { ok: true, documents, codeCda: codeCdaValue(codes), inflatedBytes };
  } catch (e) {
    if (e instanceof XdmError) return { ok: false, error: e };
    throw e;
  }
}
