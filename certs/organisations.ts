/**
 * Development organisation certificates (IGC-Santé "ORG" offer, usage AUTH_CLI: DOMAIN.md §4), one per test
 * organisation, issued by the development PKI's issuing CA for the organisation API over mutual TLS.
 *
 * Guarantees: each certificate is issued once and kept (`ensureDevelopmentOrganisations` never overwrites a
 * pair that exists, unless forced after the PKI was regenerated); each file is written to a temporary name then renamed, the key last-but-one and the
 * certificate last, so a present certificate means its key is present; keys are mode 0600. Needs the issuing
 * CA key, so it runs only on a development PKI folder (initDevelopmentPki); on any other folder it throws.
 * The identifiers are fictional with the real prefixes: '1' + FINESS (99: no real department), '3' + SIRET.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { issueCertificate, pkiPaths, writeAtomic, type CertKeyPaths, type CertificateSubject } from './pki.js';

export const DEV_ORGANISATIONS = {
  'chu-test': { CN: 'CHU TEST PREADMISSION', OU: '1990000011', O: 'CHU TEST', ST: 'Paris (75)', C: 'FR' },
  'clinique-test': { CN: 'CLINIQUE TEST DPI', OU: '1990000029', O: 'CLINIQUE TEST', L: 'Lyon', C: 'FR' },
  'assurance-maladie-test': { CN: 'CAISSE TEST HISTORIQUE DES SOINS', OU: '399999999900029', O: 'CAISSE TEST ASSURANCE MALADIE', ST: 'Paris (75)', C: 'FR' },
} as const satisfies Record<string, CertificateSubject>;

export type DevOrganisation = keyof typeof DEV_ORGANISATIONS;

/** Where a development organisation's certificate (leaf + issuing CA) and key live. */
export function organisationPaths(pkiDir: string, name: DevOrganisation): CertKeyPaths {
  const base = path.join(pkiDir, 'organisations', name);
  return { cert: `${base}.crt`, key: `${base}.key` };
}

/**
 * Issues the certificates of DEV_ORGANISATIONS that do not exist yet (all of them again with `force`, after the
 * PKI itself was regenerated); returns every pair's paths.
 */
export async function ensureDevelopmentOrganisations(pkiDir: string, opts: { force?: boolean } = {}): Promise<Record<DevOrganisation, CertKeyPaths>> {
  const pki = pkiPaths(pkiDir);
  if (opts.force) await rm(path.join(pkiDir, 'organisations'), { recursive: true, force: true });
  const out = {} as Record<DevOrganisation, CertKeyPaths>;
  let issuer: { certPem: string; keyPem: string } | null = null;
  await mkdir(path.join(pkiDir, 'organisations'), { recursive: true });
  for (const name of Object.keys(DEV_ORGANISATIONS) as DevOrganisation[]) {
    const paths = organisationPaths(pkiDir, name);
    out[name] = paths;
    if (existsSync(paths.cert)) continue;
    issuer ??= { certPem: await readFile(pki.issuingCa, 'utf8'), keyPem: await readFile(pki.issuingCaKey, 'utf8') };
    const issued = issueCertificate({
      issuerCertPem: issuer.certPem,
      issuerKeyPem: issuer.keyPem,
      subject: DEV_ORGANISATIONS[name],
      sans: [],
      usages: ['clientAuth'],
    });
    await writeAtomic(paths.key, issued.keyPem, 0o600);
    await writeAtomic(paths.cert, issued.certPem + issuer.certPem, 0o644);
  }
  return out;
}
