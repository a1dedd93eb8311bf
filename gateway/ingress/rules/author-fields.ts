/**
 * The author fields of a message (From, Reply-To) read from the header block as it streams past, and the rule
 * tying them to the presenting certificate: the domain of every address in From and in Reply-To must be listed in
 * the whitelist for that certificate's DN, as the MAIL FROM domain is. Without it an operator A could write
 * `From: <a doctor at operator B>` with `Reply-To: <someone at A>`: the patient would see B's doctor, answer A,
 * and a spoofed `[FIN]` would end the patient's exchange with B's professional.
 *
 * Pure and bounded: the capture keeps at most MAX_FIELD_BYTES of each wanted field and a fixed number of
 * occurrences, whatever the header block holds; nothing here runs a regular expression on sender text.
 * RFC 5322 §3.6: exactly one From, at most one Reply-To; a message that breaks that is refused (a second From
 * after the first is how a display could be made to differ from what was checked).
 */
import addressparser from 'nodemailer/lib/addressparser';
import { isSenderAuthorised, type Whitelist } from '../../../certs/index.js';

/** Longer author fields are not letters: 100 addresses of ~80 characters. */
export const MAX_FIELD_BYTES = 8 * 1024;
const WANTED = new Set(['from', 'reply-to']);
const MAX_NAME = 64;

export interface AuthorFields {
  from: string[];
  replyTo: string[];
  /** A wanted field was longer than MAX_FIELD_BYTES. */
  overlong: boolean;
}

/** Feeds header bytes (up to the blank line, CRLF or LF endings) and collects From and Reply-To. */
export class AuthorFieldCapture {
  private mode: 'start' | 'name' | 'value' | 'skip' = 'start';
  private name = '';
  private field: string | null = null;
  private value: number[] = [];
  private readonly seen: Record<string, string[]> = { from: [], 'reply-to': [] };
  private overlong = false;

  /** Bytes start..end of chunk belong to the header block. */
  feed(chunk: Buffer, start = 0, end = chunk.length): void {
    for (let i = start; i < end; i++) this.byte(chunk[i]!);
  }

  private byte(b: number): void {
    if (b === 0x0d) return;
    if (b === 0x0a) {
      if (this.mode === 'value') this.push(0x20); // an unfolded line break is a space (RFC 5322 §2.2.3)
      this.mode = 'start';
      return;
    }
    switch (this.mode) {
      case 'start':
        if ((b === 0x20 || b === 0x09) && this.field) {
          this.mode = 'value';
          return;
        }
        if (b === 0x20 || b === 0x09) {
          this.mode = 'skip';
          return;
        }
        this.close();
        this.name = String.fromCharCode(b | 0x20);
        this.mode = 'name';
        return;
      case 'name':
        if (b === 0x3a) {
          const name = this.name.trimEnd();
          if (WANTED.has(name)) {
            this.field = name;
            this.mode = 'value';
          } else this.mode = 'skip';
        } else if (this.name.length >= MAX_NAME) this.mode = 'skip';
        else this.name += String.fromCharCode(b >= 0x41 && b <= 0x5a ? b | 0x20 : b);
        return;
      case 'value':
        this.push(b);
        return;
      default:
    }
  }

  private push(b: number): void {
    if (this.value.length < MAX_FIELD_BYTES) this.value.push(b);
    else this.overlong = true;
  }

  private close(): void {
    if (this.field) {
      const list = this.seen[this.field]!;
      if (list.length < 4) list.push(Buffer.from(this.value).toString('utf8').trim());
      else this.overlong = true;
    }
    this.field = null;
    this.value = [];
  }

  /** The fields seen; call once the header block has ended (or the data ended without a blank line). */
  result(): AuthorFields {
    this.close();
    return { from: [...this.seen.from!], replyTo: [...this.seen['reply-to']!], overlong: this.overlong };
  }
}

export type AuthorVerdict = 'ok' | 'from-invalid' | 'not-listed';

interface ParsedAddress {
  address?: string;
  group?: ParsedAddress[];
}

/** Every address of one field value (groups flattened); null when one of them has no domain. */
export function fieldAddresses(value: string): string[] | null {
  const out: string[] = [];
  const walk = (list: ParsedAddress[]): boolean => {
    for (const a of list) {
      if (a.group) {
        if (!walk(a.group)) return false;
        continue;
      }
      const addr = (a.address ?? '').trim();
      const at = addr.lastIndexOf('@');
      if (at <= 0 || at === addr.length - 1) return false;
      out.push(addr.toLowerCase());
    }
    return true;
  };
  return walk(addressparser(value) as ParsedAddress[]) ? out : null;
}

/**
 * Whether the author fields may be sent by the holder of `peerDn`: exactly one From with at least one address,
 * at most one Reply-To, every address with a domain, and every domain listed for that DN.
 */
export function authorFieldsVerdict(list: Whitelist, peerDn: string, fields: AuthorFields): AuthorVerdict {
  if (fields.overlong || fields.from.length !== 1 || fields.replyTo.length > 1) return 'from-invalid';
  const from = fieldAddresses(fields.from[0]!);
  if (!from || from.length === 0) return 'from-invalid';
  const replyTo = fields.replyTo.length ? fieldAddresses(fields.replyTo[0]!) : [];
  if (!replyTo) return 'from-invalid';
  for (const address of [...from, ...replyTo]) {
    if (isSenderAuthorised(list, address.slice(address.lastIndexOf('@') + 1), peerDn) !== 'ok') return 'not-listed';
  }
  return 'ok';
}
