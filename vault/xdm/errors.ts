/**
 * XdmError: the one error type of the IHE XDM reader, CDA header reader and classifier.
 *
 * Guarantees:
 * - Every refusal carries a stable `code` (searchable in logs and usable by callers to pick a notice), a
 *   French and an English sentence written for the SENDER (`fr`, `en`), and a `detail` for operators.
 * - The sender-facing sentences are fixed texts per code, filled only with our own numbers (caps). They never
 *   quote names, identifiers or values taken from the archive: those are attacker-controlled (header
 *   injection, phishing text in a notice) and may be health data. What the archive contained goes to
 *   `detail` only, stripped of control characters and truncated.
 */

export type XdmErrorCode =
  | 'not-zip'
  | 'corrupt'
  | 'too-many-entries'
  | 'too-large'
  | 'ratio'
  | 'size-mismatch'
  | 'path'
  | 'symlink'
  | 'encrypted'
  | 'unsupported'
  | 'no-metadata'
  | 'metadata-invalid'
  | 'doctype'
  | 'cda-invalid'
  | 'integrity'
  | 'patient-missing'
  | 'patient-mismatch';

interface Texts {
  fr: string;
  en: string;
}

/** Numbers a message may mention; all come from our configuration, never from the archive. */
export interface XdmMessageParams {
  maxEntries?: number;
  maxEntryMiB?: number;
  maxTotalMiB?: number;
  maxRatio?: number;
}

function texts(code: XdmErrorCode, p: XdmMessageParams): Texts {
  switch (code) {
    case 'not-zip':
      return {
        fr: "La pièce jointe IHE_XDM.ZIP n'est pas une archive ZIP lisible.",
        en: 'The IHE_XDM.ZIP attachment is not a readable ZIP archive.',
      };
    case 'corrupt':
      return {
        fr: "L'archive IHE_XDM.ZIP est endommagée ou incohérente (en-têtes, sommes de contrôle ou fichiers qui se chevauchent).",
        en: 'The IHE_XDM.ZIP archive is damaged or inconsistent (headers, checksums or overlapping entries).',
      };
    case 'too-many-entries':
      return {
        fr: `L'archive IHE_XDM.ZIP contient trop de fichiers (au plus ${p.maxEntries ?? '?'} sont acceptés).`,
        en: `The IHE_XDM.ZIP archive holds too many files (at most ${p.maxEntries ?? '?'} are accepted).`,
      };
    case 'too-large':
      return {
        fr: `L'archive IHE_XDM.ZIP est trop volumineuse une fois décompressée (au plus ${p.maxEntryMiB ?? '?'} Mio par fichier et ${p.maxTotalMiB ?? '?'} Mio au total).`,
        en: `The IHE_XDM.ZIP archive is too large once decompressed (at most ${p.maxEntryMiB ?? '?'} MiB per file and ${p.maxTotalMiB ?? '?'} MiB in total).`,
      };
    case 'ratio':
      return {
        fr: `L'archive IHE_XDM.ZIP contient un fichier anormalement compressé (plus de ${p.maxRatio ?? '?'} pour 1) ; elle est refusée par sécurité.`,
        en: `The IHE_XDM.ZIP archive holds an abnormally compressed file (more than ${p.maxRatio ?? '?'} to 1); it is refused for safety.`,
      };
    case 'size-mismatch':
      return {
        fr: "Les tailles déclarées dans l'archive IHE_XDM.ZIP ne correspondent pas à son contenu ; elle est refusée par sécurité.",
        en: 'The sizes declared in the IHE_XDM.ZIP archive do not match its content; it is refused for safety.',
      };
    case 'path':
      return {
        fr: "L'archive IHE_XDM.ZIP contient un nom de fichier interdit (chemin absolu, « .. », barre oblique inverse, caractère de contrôle ou doublon).",
        en: 'The IHE_XDM.ZIP archive holds a forbidden file name (absolute path, "..", backslash, control character or duplicate).',
      };
    case 'symlink':
      return {
        fr: "L'archive IHE_XDM.ZIP contient un lien symbolique ou un fichier spécial, ce qui est interdit.",
        en: 'The IHE_XDM.ZIP archive holds a symbolic link or a special file, which is forbidden.',
      };
    case 'encrypted':
      return {
        fr: "L'archive IHE_XDM.ZIP contient un fichier chiffré ; elle ne peut pas être lue ni classée.",
        en: 'The IHE_XDM.ZIP archive holds an encrypted file; it cannot be read or filed.',
      };
    case 'unsupported':
      return {
        fr: "L'archive IHE_XDM.ZIP utilise une méthode de compression non prise en charge (seules « stored » et « deflate » le sont).",
        en: 'The IHE_XDM.ZIP archive uses an unsupported compression method (only "stored" and "deflate" are).',
      };
    case 'no-metadata':
      return {
        fr: "L'archive IHE_XDM.ZIP ne contient aucun fichier IHE_XDM/SUBSETxx/METADATA.XML.",
        en: 'The IHE_XDM.ZIP archive holds no IHE_XDM/SUBSETxx/METADATA.XML file.',
      };
    case 'metadata-invalid':
      return {
        fr: "Le fichier METADATA.XML de l'archive IHE_XDM.ZIP est invalide ou incomplet (ou désigne un document absent de l'archive).",
        en: 'The METADATA.XML file of the IHE_XDM.ZIP archive is invalid or incomplete (or names a document missing from the archive).',
      };
    case 'doctype':
      return {
        fr: "Un fichier XML de l'archive IHE_XDM.ZIP contient une déclaration DOCTYPE ou ENTITY, interdite pour des raisons de sécurité.",
        en: 'An XML file of the IHE_XDM.ZIP archive holds a DOCTYPE or ENTITY declaration, forbidden for safety.',
      };
    case 'cda-invalid':
      return {
        fr: "Un document CDA de l'archive IHE_XDM.ZIP est invalide (XML mal formé ou en-tête illisible).",
        en: 'A CDA document of the IHE_XDM.ZIP archive is invalid (malformed XML or unreadable header).',
      };
    case 'integrity':
      return {
        fr: "Un document de l'archive IHE_XDM.ZIP ne correspond pas à l'empreinte (hash) ou à la taille déclarées dans METADATA.XML.",
        en: 'A document of the IHE_XDM.ZIP archive does not match the hash or size declared in METADATA.XML.',
      };
    case 'patient-missing':
      return {
        fr: "Aucun identifiant patient (INS) n'est indiqué pour un document de l'archive IHE_XDM.ZIP ; aucun document n'a été déposé.",
        en: 'No patient identifier (INS) is given for a document of the IHE_XDM.ZIP archive; no document was filed.',
      };
    case 'patient-mismatch':
      return {
        fr: "L'identifiant patient (INS) indiqué dans l'archive IHE_XDM.ZIP ne correspond pas à celui du destinataire ; aucun document n'a été déposé.",
        en: "The patient identifier (INS) given in the IHE_XDM.ZIP archive does not match the recipient's; no document was filed.",
      };
  }
}

/** Strip control characters and bound the length: `detail` ends up in logs, which must stay one line each. */
export function sanitizeDetail(s: string, max = 300): string {
  // eslint-disable-next-line no-control-regex
  const clean = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

export class XdmError extends Error {
  readonly code: XdmErrorCode;
  /** Sentence for the sender, in French. */
  readonly fr: string;
  /** Sentence for the sender, in English. */
  readonly en: string;
  /** Technical detail for operators (logs); may quote sanitised archive content; never send it out. */
  readonly detail: string;

  constructor(code: XdmErrorCode, detail: string, params: XdmMessageParams = {}, options?: { cause?: unknown }) {
    const t = texts(code, params);
    const d = sanitizeDetail(detail);
    super(`${code}: ${t.en} (${d})`, options);
    this.name = 'XdmError';
    this.code = code;
    this.fr = t.fr;
    this.en = t.en;
    this.detail = d;
  }

  /** The bilingual text to put in the notice sent back to the sender (French first: MSSanté is French). */
  get senderNotice(): string {
    return `${this.fr}\n${this.en}`;
  }
}
