import { describe, expect, it } from 'vitest';
import { parseWhitelist } from '../../certs/index.js';
import { AuthorFieldCapture, MAX_FIELD_BYTES, authorFieldsVerdict, type AuthorFields } from '../../gateway/ingress/rules/author-fields.js';

const DN_A = 'CN=smtp.hopital-a.mssante.fr,O=Hopital A,C=FR';
const DN_B = 'CN=smtp.cabinet-b.mssante.fr,O=Cabinet B,C=FR';
const domaine = (nom: string, dn: string): string =>
  `<Domaine><Nom>${nom}</Nom><Description>d</Description><DNCertificatOperateur>${dn}</DNCertificatOperateur><ResponsableContact/><SupportContact/><DateMAJ>2024-03-06</DateMAJ></Domaine>`;
const list = parseWhitelist(
  `<?xml version="1.0" encoding="UTF-8"?>\n<ListeBlancheMSSante xmlns="https://listeblanche.mssante.fr/schema"><DateDeGeneration>2025-03-13T02:00:03Z</DateDeGeneration><ListeDomaines>${[
    domaine('hopital-a.mssante.fr', DN_A),
    domaine('labo.hopital-a.mssante.fr', DN_A),
    domaine('cabinet-b.mssante.fr', DN_B),
  ].join('')}</ListeDomaines></ListeBlancheMSSante>`,
);

const fields = (from: string[], replyTo: string[] = []): AuthorFields => ({ from, replyTo, overlong: false });
const capture = (header: string) => {
  const c = new AuthorFieldCapture();
  c.feed(Buffer.from(header, 'utf8'));
  return c.result();
};

describe('authorFieldsVerdict', () => {
  it('accepts From and Reply-To on domains listed for the certificate', () => {
    expect(authorFieldsVerdict(list, DN_A, fields(['"Dr Durand" <dr.durand@hopital-a.mssante.fr>'], ['<secretariat@labo.hopital-a.mssante.fr>']))).toBe('ok');
    expect(authorFieldsVerdict(list, DN_A, fields(['Equipe: a@hopital-a.mssante.fr, b@labo.hopital-a.mssante.fr;']))).toBe('ok');
  });
  it("refuses another operator's From, a Reply-To outside the whitelist, and one outside address among several", () => {
    expect(authorFieldsVerdict(list, DN_A, fields(['Dr B <dr.b@cabinet-b.mssante.fr>']))).toBe('not-listed');
    expect(authorFieldsVerdict(list, DN_A, fields(['dr.durand@hopital-a.mssante.fr'], ['someone@gmail.com']))).toBe('not-listed');
    expect(authorFieldsVerdict(list, DN_A, fields(['a@hopital-a.mssante.fr, b@cabinet-b.mssante.fr']))).toBe('not-listed');
    expect(authorFieldsVerdict(list, DN_B, fields(['dr.b@cabinet-b.mssante.fr'], ['dr.durand@hopital-a.mssante.fr']))).toBe('not-listed');
  });
  it('requires exactly one From with addresses, at most one Reply-To, and domains everywhere', () => {
    expect(authorFieldsVerdict(list, DN_A, fields([]))).toBe('from-invalid');
    expect(authorFieldsVerdict(list, DN_A, fields(['a@hopital-a.mssante.fr', 'a@hopital-a.mssante.fr']))).toBe('from-invalid');
    expect(authorFieldsVerdict(list, DN_A, fields(['a@hopital-a.mssante.fr'], ['a@hopital-a.mssante.fr', 'b@hopital-a.mssante.fr']))).toBe('from-invalid');
    expect(authorFieldsVerdict(list, DN_A, fields(['undisclosed-recipients:;']))).toBe('from-invalid');
    expect(authorFieldsVerdict(list, DN_A, fields(['Dr Durand <dr.durand>']))).toBe('from-invalid');
    expect(authorFieldsVerdict(list, DN_A, { ...fields(['a@hopital-a.mssante.fr']), overlong: true })).toBe('from-invalid');
  });
});

describe('AuthorFieldCapture', () => {
  it('reads field names case-insensitively, unfolds continuation lines and ignores look-alike names', () => {
    const f = capture('FROM: Dr A\r\n\t<a@x.fr>\r\nX-From: evil@y.fr\r\nReply-To-Not: z@y.fr\r\nreply-to : <r@x.fr>\r\n');
    expect(f.from.map((v) => v.replace(/\s+/g, ' '))).toEqual(['Dr A <a@x.fr>']);
    expect(f.replyTo).toEqual(['<r@x.fr>']);
  });
  it('counts every occurrence, so a second From cannot hide behind the first', () => {
    expect(capture('From: a@x.fr\r\nSubject: s\r\nFrom: b@y.fr\r\n').from).toEqual(['a@x.fr', 'b@y.fr']);
  });
  it('bounds what it keeps: an author field over the limit is flagged, other long fields cost nothing', () => {
    const long = capture(`From: ${'a'.repeat(MAX_FIELD_BYTES + 10)}@x.fr\r\n`);
    expect(long.overlong).toBe(true);
    expect(long.from[0]!.length).toBeLessThanOrEqual(MAX_FIELD_BYTES);
    const other = capture(`Subject: ${'s'.repeat(1 << 20)}\r\nFrom: a@x.fr\r\n`);
    expect(other).toEqual({ from: ['a@x.fr'], replyTo: [], overlong: false });
  });
});
