// Every pattern the code runs on sender-controlled text, fed 1 MiB built to make a backtracking regular
// expression quadratic or worse. Nothing is timed: each call just has to return within the test's normal time
// (a quadratic pattern on these inputs takes hours). Checked values make sure the call did its work.
import { describe, expect, it } from 'vitest';
import {
  contactDisplayName,
  dsnOutcome,
  forbidsReply,
  isEndOfExchange,
  normalizeMessageId,
  parseAddress,
  parseDeliveryStatus,
  parseMessageIdList,
  receiptAddressFor,
  replySubject,
} from '../../../mailbox/rules/index.js';
import { AuthorFieldCapture, fieldAddresses } from '../../../gateway/ingress/rules/author-fields.js';
import { sniffMediaType } from '../../../vault/sniff.js';
import { decodeXml, hasDoctypeOrEntity, xmlText } from '../../../vault/xdm/xml.js';

const MiB = 1 << 20;
const run = (unit: string) => unit.repeat(Math.ceil(MiB / unit.length)).slice(0, MiB);

describe('patterns on sender text finish on 1 MiB hostile input', () => {
  it('read-receipt address: no "@" anywhere, or a run of address characters', () => {
    expect(receiptAddressFor([run('a'), run('a.')], 'dr@hopital-a.mssante.fr')).toBeNull();
    expect(receiptAddressFor(['DR@hopital-a.mssante.fr'], 'dr@hopital-a.mssante.fr')).toBe('dr@hopital-a.mssante.fr');
    expect(fieldAddresses(run('a'))).toBeNull();
    expect(fieldAddresses(run('<a@b.fr>, '))?.length).toBeGreaterThan(1000);
  });

  it('author field capture over a header block of one huge line and of many short ones', () => {
    const c = new AuthorFieldCapture();
    c.feed(Buffer.from(`From: ${run('(')}\r\n`));
    c.feed(Buffer.from(run('From: a@b.fr\r\n')));
    const f = c.result();
    expect(f.overlong).toBe(true);
  });

  it('delivery reports: unmatched comment parentheses, digits without dots, endless folded lines', () => {
    expect(dsnOutcome([{ action: run('('), status: run('5') }])).toBe('unknown');
    expect(dsnOutcome([{ action: `failed ${run('(')}` }])).toBe('unknown');
    const status = parseDeliveryStatus(`Reporting-MTA: dns; a.fr\r\n\r\nFinal-Recipient: rfc822; x@y.fr\r\nAction: failed\r\n${run(' x\r\n')}`);
    expect(status.recipients).toHaveLength(1);
    expect(parseDeliveryStatus(run('a:')).recipients).toHaveLength(0);
  });

  it('subjects: "re" followed by white space, prefixes, [FIN] look-alikes', () => {
    expect(replySubject(`re${run(' ')}`)).toMatch(/^re|^Re:/i);
    expect(replySubject(run('re:')).length).toBeLessThanOrEqual(200);
    expect(isEndOfExchange(`${run(' ')}[FIN]`)).toBe(true);
    expect(forbidsReply({ 'x-mss-mes': run(' ') })).toBe(false);
  });

  it('message ids: brackets never closed, ids with no brackets, one id of 1 MiB', () => {
    expect(parseMessageIdList(run('<'))).toEqual([]);
    expect(parseMessageIdList(run('<a@b> ')).length).toBeGreaterThan(100);
    expect(parseMessageIdList(run('a@b '))).not.toHaveLength(0);
    expect(normalizeMessageId(`<${run('a')}>`)).toBeNull();
  });

  it('addresses and display names', () => {
    expect(parseAddress(run('a.'))).toBeNull();
    expect(contactDisplayName({ headerName: run(' \u200b'), address: 'a@b.fr' }).length).toBeLessThanOrEqual(200);
  });

  it('file names made of dots and spaces, and XML heads and texts', async () => {
    const sniffed = await sniffMediaType(Buffer.from('%PDF-1.7\n'), 'application/pdf', `x${run('. ')}y`);
    expect(sniffed.mediaType).toBe('application/pdf');
    expect(decodeXml(Buffer.from(`<?xml ${run(' ')}`))).not.toBeNull();
    expect(hasDoctypeOrEntity(`<!${run(' ')}`)).toBe(false);
    expect(xmlText(run('&#1')).length).toBe(MiB);
  });
});
