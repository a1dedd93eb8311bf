import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DnParseError,
  dnFromOpenSslMultiline,
  dnFromX509,
  initDevelopmentPki,
  issueCertificate,
  normalizeDn,
  parseWhitelist,
  sameDn,
  subjectToDn,
  type CertificateSubject,
  type PkiPaths,
} from '../../certs/index.js';
import { makeTempDir, readCerts } from './helpers.js';

describe('normalizeDn', () => {
  const CNAM = 'CN=smtps1.ens.atos-infogerance.fr,OU=318003502400041,O=CNAM,ST=Paris (75),C=FR';

  it('produces the canonical form: short upper-case types, lower-case values, order kept', () => {
    expect(normalizeDn(CNAM)).toBe('CN=smtps1.ens.atos-infogerance.fr,OU=318003502400041,O=cnam,ST=paris (75),C=fr');
  });

  it('ignores spaces after commas and around "="', () => {
    expect(normalizeDn('CN=smtps1.ens.atos-infogerance.fr, OU=318003502400041 ,O = CNAM,  ST=Paris (75), C=FR')).toBe(normalizeDn(CNAM));
  });

  it('is case-insensitive on types and values', () => {
    expect(sameDn(CNAM, 'cn=SMTPS1.ENS.ATOS-INFOGERANCE.FR,ou=318003502400041,o=cnam,st=PARIS (75),c=fr')).toBe(true);
  });

  it('collapses internal whitespace runs and trims values', () => {
    expect(normalizeDn('O=  GIP   MIPIH \t ,C=FR')).toBe('O=gip mipih,C=fr');
  });

  it('keeps escaped commas and plus signs inside the value', () => {
    const dn = 'CN=smtp.x.fr,O=Hopital A\\, Site \\+ Nord,C=FR';
    expect(normalizeDn(dn)).toBe('CN=smtp.x.fr,O=hopital a\\, site \\+ nord,C=fr');
    expect(sameDn(dn, 'CN=smtp.x.fr,O="Hopital A, Site + Nord",C=FR')).toBe(true);
    // Unescaped, the comma splits the RDN: a different name.
    expect(sameDn(dn, 'CN=smtp.x.fr,O=Hopital A,OU=Site,C=FR')).toBe(false);
  });

  it('decodes hex escapes (UTF-8) and #hex BER values', () => {
    expect(sameDn('ST=Bouches-du-Rh\\C3\\B4ne (13)', 'ST=Bouches-du-Rhône (13)')).toBe(true);
    expect(normalizeDn('CN=#0c03616263')).toBe('CN=abc');
    // A #hex value that is not a string stays binary, distinct from the text "#0101ff".
    expect(normalizeDn('CN=#0101ff')).toBe('CN=#0101ff');
    expect(sameDn('CN=#0101ff', 'CN=\\#0101ff')).toBe(false);
  });

  it('sorts the parts of multi-valued RDNs but does not merge them with separate RDNs', () => {
    expect(sameDn('CN=a+OU=b,O=x', 'OU=b + CN=a,O=x')).toBe(true);
    expect(normalizeDn('OU=b+CN=a,O=x')).toBe('CN=a+OU=b,O=x');
    expect(sameDn('CN=a+OU=b,O=x', 'CN=a,OU=b,O=x')).toBe(false);
  });

  it('maps OIDs and long names to short names', () => {
    expect(normalizeDn('2.5.4.3=smtp.x.fr,organizationalUnitName=318003502400041,organizationName=CNAM,stateOrProvinceName=Paris (75),countryName=FR')).toBe(
      normalizeDn('CN=smtp.x.fr,OU=318003502400041,O=CNAM,ST=Paris (75),C=FR'),
    );
    expect(normalizeDn('commonName=a,localityName=Lyon,emailAddress=a@b.fr,serialNumber=12,OID.2.5.4.11=u')).toBe('CN=a,L=lyon,E=a@b.fr,SERIALNUMBER=12,OU=u');
    expect(normalizeDn('1.2.3.4=x')).toBe('1.2.3.4=x');
  });

  it('does not treat L= and ST= as equal', () => {
    expect(sameDn('CN=smtp.x.fr,O=X,L=Lyon,C=FR', 'CN=smtp.x.fr,O=X,ST=Lyon,C=FR')).toBe(false);
  });

  it('treats RDN order as significant', () => {
    expect(sameDn('CN=a,O=b,C=FR', 'C=FR,O=b,CN=a')).toBe(false);
  });

  it('is idempotent and re-escapes per RFC 4514', () => {
    const inputs = [CNAM, 'CN=\\#x\\ ,O=a\\;b\\<c\\>d\\"e\\\\f=g', 'CN=a+OU=b,O="q, r"', 'CN=#0101ff', 'CN=x\\0Ay'];
    for (const dn of inputs) {
      const once = normalizeDn(dn);
      expect(normalizeDn(once)).toBe(once);
    }
    expect(normalizeDn('CN=\\#x\\ ,O=a\\;b\\<c\\>d\\"e\\\\f=g')).toBe('CN=\\#x,O=a\\;b\\<c\\>d\\"e\\\\f\\=g');
  });

  it('throws DnParseError on malformed input', () => {
    for (const bad of ['CN', 'CN=a,', 'CN="abc', '=x', 'CN=a\\', 'CN=#0c0', 'CN=\\C3', 'CN="a"b', 'C N=x']) {
      expect(() => normalizeDn(bad), bad).toThrow(DnParseError);
    }
  });

  it('sameDn never throws and never matches empty or malformed names', () => {
    expect(sameDn('', '')).toBe(false);
    expect(sameDn('CN', 'CN')).toBe(false);
    expect(sameDn(CNAM, 'garbage')).toBe(false);
  });
});

describe('dnFromOpenSslMultiline', () => {
  it('reverses root-first lines and parses multi-valued RDNs and escapes', () => {
    expect(dnFromOpenSslMultiline('C=FR\nO=Org\\, Inc\nCN=a + UID=b')).toBe('CN=a+UID=b,O=org\\, inc,C=fr');
  });
});

describe('dnFromX509 on generated certificates', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let paths: PkiPaths;

  beforeAll(async () => {
    tmp = await makeTempDir('certs-dn');
    paths = await initDevelopmentPki(tmp.dir);
  });
  afterAll(async () => tmp.cleanup());

  it('equals normalizeDn of the whitelist DN for every generated leaf', async () => {
    const whitelist = parseWhitelist(await readFile(paths.whitelist, 'utf8'));
    const dnOf = (domain: string): string => {
      const entry = whitelist.entries.find((e) => e.domain === domain);
      if (!entry) throw new Error(`no whitelist entry for ${domain}`);
      return entry.dn;
    };
    const cases: [string, string][] = [
      [paths.server.cert, 'patient.mssante.fr'],
      [paths.operators['hopital-a.mssante.fr'].cert, 'hopital-a.mssante.fr'],
      [paths.operators['cabinet-b.mssante.fr'].cert, 'cabinet-b.mssante.fr'],
      // Same subject as hopital-a: the DN alone cannot tell these apart, the chain and validity must.
      [paths.untrusted.client.cert, 'hopital-a.mssante.fr'],
      [paths.expired.cert, 'hopital-a.mssante.fr'],
      [paths.revoked.cert, 'hopital-a.mssante.fr'],
    ];
    for (const [file, domain] of cases) {
      const [leaf] = await readCerts(file);
      expect(dnFromX509(leaf!), file).toBe(normalizeDn(dnOf(domain)));
    }
    expect(dnFromX509((await readCerts(paths.operators['cabinet-b.mssante.fr'].cert))[0]!)).toContain(',L=lyon,');
  });

  it('reads the two-OU CA subjects in RFC 4514 order', async () => {
    const [root, issuing] = await readCerts(paths.ca);
    expect(dnFromX509(root!)).toBe(normalizeDn('CN=TEST AC RACINE IGC-SANTE ELEMENTAIRE,OU=IGC-SANTE TEST,OU=0002 187512751,O=ASIP-SANTE,C=FR'));
    expect(dnFromX509(issuing!)).toBe(normalizeDn('CN=TEST AC IGC-SANTE ELEMENTAIRE ORGANISATIONS,OU=IGC-SANTE TEST,OU=0002 187512751,O=ASIP-SANTE,C=FR'));
  });

  it('handles commas, quotes, plus, parentheses, accents and leading "#" in certificate values', async () => {
    const issuerCertPem = await readFile(paths.issuingCa, 'utf8');
    const issuerKeyPem = await readFile(paths.issuingCaKey, 'utf8');
    const subject: CertificateSubject = {
      CN: 'smtp.hôpital-test.example',
      OU: ['#42 Service "Urgences"', '399999999900011'],
      O: 'CENTRE HOSPITALIER, SITE A + B; <NORD>',
      ST: 'Bouches-du-Rhône (13)',
      C: 'FR',
    };
    const { certPem } = issueCertificate({ issuerCertPem, issuerKeyPem, subject });
    const cert = new X509Certificate(certPem);
    const written = subjectToDn(subject);
    expect(written).toBe(
      'CN=smtp.hôpital-test.example,OU=\\#42 Service \\"Urgences\\",OU=399999999900011,' +
        'O=CENTRE HOSPITALIER\\, SITE A \\+ B\\; \\<NORD\\>,ST=Bouches-du-Rhône (13),C=FR',
    );
    expect(dnFromX509(cert)).toBe(normalizeDn(written));
    expect(sameDn(dnFromX509(cert), written)).toBe(true);
    // Spaces after commas and different case in the whitelist copy still match.
    expect(sameDn(dnFromX509(cert), written.replace(/,(?=[A-Z]+=)/g, ', ').toUpperCase())).toBe(true);
  });
});
