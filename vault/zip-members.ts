/**
 * The member check of a plain ZIP attachment (one that is not an IHE XDM archive): a ZIP is filed only when
 * every member would be filed on its own. Each member is read under the XDM caps (path traversal, links,
 * encryption, sizes, ratio, overlaps: vault/xdm/read-zip.ts) and judged by the same sniffer as attachments:
 * executables and scripts by content, type or name, active web content and unknown binaries are refused, and
 * so are nested archives, which would need the same check again. Pure apart from inflating in memory; never
 * throws for a malformed archive (that is a refusal too: what cannot be read cannot be checked).
 */
import { markupIn, sniffMediaType, withMarkupVerdict, MEDIA } from './sniff.js';
import { readZipEntries, XdmError, type XdmCaps } from './xdm/index.js';

export type ZipMembersVerdict = { ok: true; inflatedBytes: number } | { ok: false; reason: string };

const HEAD = 16 * 1024;

export async function vetZipMembers(zip: Buffer, caps?: Partial<XdmCaps>): Promise<ZipMembersVerdict> {
  let entries: Map<string, Buffer>;
  try {
    entries = await readZipEntries(zip, caps);
  } catch (e) {
    if (e instanceof XdmError) return { ok: false, reason: `unreadable archive (${e.code})` };
    throw e;
  }
  let inflatedBytes = 0;
  for (const [name, data] of entries) {
    inflatedBytes += data.length;
    const sniff = withMarkupVerdict(await sniffMediaType(data.subarray(0, HEAD), null, name), markupIn(data));
    if (sniff.verdict === 'refused') return { ok: false, reason: `member refused: ${sniff.reason ?? sniff.mediaType}` };
    if (sniff.mediaType === MEDIA.zip) return { ok: false, reason: 'nested archive' };
  }
  return { ok: true, inflatedBytes };
}
