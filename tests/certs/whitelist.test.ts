import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  WhitelistFormatError,
  buildWhitelistXml,
  isSenderAuthorised,
  loadWhitelistFile,
  normalizeDn,
  parseWhitelist,
  type Whitelist,
} from '../../certs/index.js';
import { makeTempDir } from './helpers.js';

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'whitelist-sample.xml');
const CNAM1 = 'CN=smtps1.ens.atos-infogerance.fr,OU=318003502400041,O=CNAM,ST=Paris (75),C=FR';
const CNAM2 = 'CN=smtps2.ens.atos-infogerance.fr,OU=318003502400041,O=CNAM,ST=Paris (75),C=FR';

const wrap = (inner: string, root = '<ListeBlancheMSSante xmlns="https://listeblanche.mssante.fr/schema">', end = '</ListeBlancheMSSante>'): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n${root}<DateDeGeneration>2025-03-13T02:00:03Z</DateDeGeneration><ListeDomaines>${inner}</ListeDomaines>${end}`;
const domaine = (nom: string, dn: string): string =>
  `<Domaine><Nom>${nom}</Nom><Description>d</Description><DNCertificatOperateur>${dn}</DNCertificatOperateur><ResponsableContact/><SupportContact/><DateMAJ>2024-03-06</DateMAJ></Domaine>`;

describe('parseWhitelist on the sample file', () => {
  let list: Whitelist;
  beforeAll(async () => {
    list = await loadWhitelistFile(FIXTURE);
  });

  it('reads the generation date and every usable entry', () => {
    expect(list.generatedAt?.toISOString()).toBe('2025-03-13T02:00:03.000Z');
    expect(list.entries).toHaveLength(7);
    expect([...list.byDomain.keys()].sort()).toEqual([
      '15-20.mssante.fr',
      'cabinet-lyon.mssante.fr',
      'ch-exemple.mssante.fr',
      'interop-mssante.messagerie-test.org',
      'patient.mssante.fr',
    ]);
  });

  it('groups several operator DNs under one domain', () => {
    expect(list.byDomain.get('patient.mssante.fr')).toEqual(new Set([normalizeDn(CNAM1), normalizeDn(CNAM2)]));
    expect(list.byDomain.get('15-20.mssante.fr')?.size).toBe(2);
  });

  it('keeps the DN as written next to its normalised form', () => {
    const interop = list.entries.find((e) => e.domain === 'interop-mssante.messagerie-test.org')!;
    expect(interop.dn).toBe('CN=mailin.interop-mssante.messagerie-test.org, OU=399999999900044, O=MESSAGERIE TEST, ST=Rhône (69), C=FR');
    expect(interop.normalizedDn).toBe('CN=mailin.interop-mssante.messagerie-test.org,OU=399999999900044,O=messagerie test,ST=rhône (69),C=fr');
    const lyon = list.entries.find((e) => e.domain === 'cabinet-lyon.mssante.fr')!;
    expect(lyon.normalizedDn).toContain(',L=lyon,');
  });

  it('decodes entities and keeps multi-line contacts', () => {
    const ch = list.entries.find((e) => e.domain === 'ch-exemple.mssante.fr')!;
    expect(ch.description).toBe('Centre hospitalier départemental & EHPAD <site nord>');
    expect(ch.responsable).toBe('04 00 00 00 00, mssante@example.invalid');
    expect(ch.support).toBe('04 00 00 00 01,\nsupport-msspro@example.invalid');
  });

  it('reads DateMAJ as a bare date or a timestamp', () => {
    const [first, second] = list.entries.filter((e) => e.domain === 'patient.mssante.fr');
    expect(first!.updatedAt?.toISOString()).toBe('2024-03-06T00:00:00.000Z');
    expect(second!.updatedAt?.toISOString()).toBe('2024-03-06T09:12:44.000Z');
  });

  it('reports an entry with an unparseable DN instead of trusting or dropping it silently', () => {
    expect(list.skipped).toHaveLength(1);
    expect(list.skipped[0]).toMatchObject({ index: 7, domain: 'saisie-cassee.mssante.fr' });
    expect(list.skipped[0]!.reason).toMatch(/Expected '='/);
    expect(list.byDomain.has('saisie-cassee.mssante.fr')).toBe(false);
  });
});

describe('isSenderAuthorised', () => {
  let list: Whitelist;
  beforeAll(async () => {
    list = await loadWhitelistFile(FIXTURE);
  });

  it("answers 'ok' for a listed DN, whatever the spacing and case", () => {
    expect(isSenderAuthorised(list, 'patient.mssante.fr', CNAM2)).toBe('ok');
    expect(isSenderAuthorised(list, 'Patient.MSSante.fr.', 'cn=SMTPS1.ens.atos-infogerance.fr, ou=318003502400041, o=cnam, st=paris (75), c=fr')).toBe('ok');
    expect(
      isSenderAuthorised(
        list,
        'CH-EXEMPLE.mssante.fr',
        'CN=mss.editeur-test.example,OU=399999999900028,O=EDITEUR SUD TEST,ST=Bouches-du-Rh\\C3\\B4ne (13),C=FR',
      ),
    ).toBe('ok');
  });

  it("answers 'domain-not-listed' for an unknown domain", () => {
    expect(isSenderAuthorised(list, 'inconnu.mssante.fr', CNAM1)).toBe('domain-not-listed');
    expect(isSenderAuthorised(list, 'saisie-cassee.mssante.fr', CNAM1)).toBe('domain-not-listed');
  });

  it("answers 'dn-not-listed-for-domain' for a DN listed elsewhere, a near miss, or a malformed/empty DN", () => {
    expect(isSenderAuthorised(list, '15-20.mssante.fr', CNAM1)).toBe('dn-not-listed-for-domain');
    // ST= where the list says L=.
    expect(isSenderAuthorised(list, 'cabinet-lyon.mssante.fr', 'CN=mail.operateur-lyon.example,OU=399999999900036,O=OPERATEUR LYON TEST,ST=Lyon,C=FR')).toBe(
      'dn-not-listed-for-domain',
    );
    expect(isSenderAuthorised(list, 'patient.mssante.fr', 'CN=smtps1.ens.atos-infogerance.fr')).toBe('dn-not-listed-for-domain');
    expect(isSenderAuthorised(list, 'patient.mssante.fr', 'not a dn')).toBe('dn-not-listed-for-domain');
    expect(isSenderAuthorised(list, 'patient.mssante.fr', '')).toBe('dn-not-listed-for-domain');
  });
});

describe('parseWhitelist variants and errors', () => {
  it('accepts a namespace prefix and a single Domaine (still an array)', () => {
    const xml = wrap(
      domaine('a.mssante.fr', 'CN=a,O=A,C=FR')
        .replace(/<(\/?)(\w+)/g, '<$1ls:$2')
        .replace(/<ls:(\w+)\/>/g, '<ls:$1/>'),
      '<ls:ListeBlancheMSSante xmlns:ls="https://listeblanche.mssante.fr/schema">',
      '</ls:ListeBlancheMSSante>',
    )
      .replace('<DateDeGeneration>', '<ls:DateDeGeneration>')
      .replace('</DateDeGeneration>', '</ls:DateDeGeneration>')
      .replace('<ListeDomaines>', '<ls:ListeDomaines>')
      .replace('</ListeDomaines>', '</ls:ListeDomaines>');
    expect(xml).toContain('<ls:Domaine><ls:Nom>');
    const list = parseWhitelist(xml);
    expect(Array.isArray(list.entries)).toBe(true);
    expect(list.entries).toHaveLength(1);
    expect(list.byDomain.get('a.mssante.fr')).toEqual(new Set(['CN=a,O=a,C=fr']));
    expect(list.generatedAt?.toISOString()).toBe('2025-03-13T02:00:03.000Z');
  });

  it('accepts a document without namespace and a BOM', () => {
    const list = parseWhitelist(`\uFEFF${wrap(domaine('a.mssante.fr', 'CN=a,O=A,C=FR'), '<ListeBlancheMSSante>')}`);
    expect(list.entries[0]!.domain).toBe('a.mssante.fr');
  });

  it('keeps numeric-looking values as strings', () => {
    const list = parseWhitelist(wrap(domaine('a.mssante.fr', 'CN=a,OU=0123,O=A,C=FR').replace('<Description>d', '<Description>00123')));
    expect(list.entries[0]!.description).toBe('00123');
    expect(list.entries[0]!.normalizedDn).toBe('CN=a,OU=0123,O=a,C=fr');
  });

  it('skips an entry with two DNs rather than picking one', () => {
    const twoDns = domaine('b.mssante.fr', 'CN=b1,O=B,C=FR').replace(
      '</DNCertificatOperateur>',
      '</DNCertificatOperateur><DNCertificatOperateur>CN=b2,O=B,C=FR</DNCertificatOperateur>',
    );
    const list = parseWhitelist(wrap(domaine('a.mssante.fr', 'CN=a,O=A,C=FR') + twoDns));
    expect(list.byDomain.has('b.mssante.fr')).toBe(false);
    expect(list.skipped).toEqual([{ index: 1, reason: 'several DNCertificatOperateur elements' }]);
  });

  it('refuses a wrong root element with a clear message', () => {
    const xml = wrap(domaine('a.mssante.fr', 'CN=a,O=A,C=FR'), '<WhiteList>', '</WhiteList>');
    expect(() => parseWhitelist(xml)).toThrow(WhitelistFormatError);
    expect(() => parseWhitelist(xml)).toThrow(/root element must be ListeBlancheMSSante, found WhiteList/);
  });

  it('refuses a list without any usable entry', () => {
    expect(() => parseWhitelist(wrap(''))).toThrow(/no usable entry \(no Domaine element\)/);
    expect(() => parseWhitelist(wrap(domaine('a.mssante.fr', 'garbage')))).toThrow(/all 1 Domaine elements unusable/);
  });

  it('refuses malformed XML and any DTD (no entity expansion)', () => {
    expect(() => parseWhitelist('<ListeBlancheMSSante><ListeDomaines></ListeBlancheMSSante>')).toThrow(/not well-formed/);
    expect(() => parseWhitelist('not xml')).toThrow(WhitelistFormatError);
    const xxe = `<?xml version="1.0"?><!DOCTYPE ListeBlancheMSSante [<!ENTITY x SYSTEM "file:///etc/passwd">]>${wrap(domaine('a.mssante.fr', 'CN=&x;,C=FR')).replace(/^<\?xml[^>]*>\n/, '')}`;
    expect(() => parseWhitelist(xxe)).toThrow(/DTD/);
  });
});

describe('buildWhitelistXml', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  beforeAll(async () => {
    tmp = await makeTempDir('certs-whitelist');
  });
  afterAll(async () => tmp.cleanup());

  it('round-trips through parseWhitelist, escaping XML special characters', async () => {
    const generatedAt = new Date('2025-03-13T02:00:03.456Z');
    const entries = [
      { domain: 'Patient.mssante.fr', dn: CNAM1, description: 'Usagers & "BAL" <auto>', responsable: "l'équipe\nligne 2", support: 's' },
      { domain: 'patient.mssante.fr', dn: CNAM2 },
      { domain: 'b.mssante.fr', dn: 'CN=smtp.b.fr,O=B\\, Inc.,L=Lyon,C=FR', updatedAt: new Date('2024-03-06T00:00:00Z') },
    ];
    const xml = buildWhitelistXml(entries, generatedAt);
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?><ListeBlancheMSSante xmlns="https://listeblanche.mssante.fr/schema">')).toBe(true);
    expect(xml).toContain('<DateDeGeneration>2025-03-13T02:00:03Z</DateDeGeneration>');
    expect(xml).toContain('Usagers &amp; &quot;BAL&quot; &lt;auto&gt;');
    const file = path.join(tmp.dir, 'liste.xml');
    await writeFile(file, xml);
    const list = await loadWhitelistFile(file);
    expect(list.generatedAt?.toISOString()).toBe('2025-03-13T02:00:03.000Z');
    expect(list.entries.map((e) => [e.domain, e.dn])).toEqual([
      ['patient.mssante.fr', CNAM1],
      ['patient.mssante.fr', CNAM2],
      ['b.mssante.fr', 'CN=smtp.b.fr,O=B\\, Inc.,L=Lyon,C=FR'],
    ]);
    expect(list.entries[0]).toMatchObject({ description: 'Usagers & "BAL" <auto>', responsable: "l'équipe\nligne 2", support: 's' });
    expect(list.entries[1]!.description).toBeUndefined();
    expect(list.entries[2]!.updatedAt?.toISOString()).toBe('2024-03-06T00:00:00.000Z');
    expect(isSenderAuthorised(list, 'b.mssante.fr', 'CN=smtp.b.fr,O="B, Inc.",L=Lyon,C=FR')).toBe('ok');
    expect(list.skipped).toEqual([]);
  });

  it('refuses entries it could not write faithfully', () => {
    expect(() => buildWhitelistXml([{ domain: ' ', dn: 'CN=a' }])).toThrow(WhitelistFormatError);
    expect(() => buildWhitelistXml([{ domain: 'a.fr', dn: 'CN' }])).toThrow(/Invalid DN for domain a.fr/);
    expect(() => buildWhitelistXml([{ domain: 'a.fr', dn: 'CN=a', description: 'bell\u0007' }])).toThrow(/XML 1.0/);
  });
});
