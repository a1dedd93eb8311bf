// productionTrustProblems: NODE_ENV=production names every setting still on development trust material.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/index.js';
import { productionTrustMessage, productionTrustProblems, type ProductionTrustInput } from '../../config/rules/index.js';

const GOOD: Record<string, string> = {
  NODE_ENV: 'production',
  DATA_DIR: '/srv/mesgw/data',
  TRUST_ANCHORS: '/etc/mesgw/igc-sante.pem',
  WHITELIST_FILE: '/etc/mesgw/ListeBlancheMSSante.xml',
  PRO_JWKS_URL: 'discovery',
  PRO_ISSUER: 'https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet',
  MASTER_KEY_FILE: '/etc/mesgw/keys/master.key',
};

/** The rule's input as app/gateway.ts builds it, from an environment and the facts found on disk. */
function input(
  env: Record<string, string>,
  facts: Partial<Pick<ProductionTrustInput, 'masterKeyMode' | 'serverCertificatePresent'>> = {},
): ProductionTrustInput {
  const c = loadConfig(env);
  return {
    production: c.production,
    explicit: c.explicit,
    dataDir: c.dataDir,
    masterKeyFile: c.masterKeyFile,
    proIssuer: c.pro.issuer,
    pkiDir: c.pkiDir,
    masterKeyMode: 0o100600,
    serverCertificatePresent: true,
    ...facts,
  };
}
const settingsOf = (i: ProductionTrustInput) => productionTrustProblems(i).map((p) => p.setting);

describe('productionTrustProblems', () => {
  it('asks nothing outside production (development defaults stay zero-setup)', () => {
    expect(productionTrustProblems(input({}, { masterKeyMode: null, serverCertificatePresent: false }))).toEqual([]);
    expect(productionTrustProblems(input({ NODE_ENV: 'test' }, { masterKeyMode: 0o644 }))).toEqual([]);
  });

  it('accepts a production configuration with explicit trust material and a 0600 (or 0400) key outside DATA_DIR', () => {
    expect(productionTrustProblems(input(GOOD))).toEqual([]);
    expect(productionTrustProblems(input(GOOD, { masterKeyMode: 0o100400 }))).toEqual([]);
  });

  it('names every missing setting at once when nothing is configured', () => {
    const i = input({ NODE_ENV: 'production' }, { masterKeyMode: null, serverCertificatePresent: false });
    expect(settingsOf(i)).toEqual(['TRUST_ANCHORS', 'WHITELIST_FILE', 'PKI_DIR', 'PRO_JWKS_URL', 'PRO_ISSUER', 'MASTER_KEY_FILE']);
    const message = productionTrustMessage(productionTrustProblems(i));
    for (const name of settingsOf(i)) expect(message).toContain(name);
    expect(message).toContain('PRO_JWKS_FILE'); // the alternative is named too
    expect(message.split('\n')).toHaveLength(7); // the summary line, then one line per problem
  });

  it.each([['TRUST_ANCHORS'], ['WHITELIST_FILE'], ['PRO_JWKS_URL'], ['MASTER_KEY_FILE']])('names %s alone when only it is missing', (name) => {
    const env = { ...GOOD };
    delete env[name];
    expect(settingsOf(input(env))).toEqual([name]);
  });

  it("accepts the provider's keys from an https JWKS URL, from discovery, or from a file", () => {
    const { PRO_JWKS_URL: _unused, ...withoutUrl } = GOOD;
    expect(
      productionTrustProblems(
        input({ ...withoutUrl, PRO_JWKS_URL: 'https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet/protocol/openid-connect/certs' }),
      ),
    ).toEqual([]);
    expect(productionTrustProblems(input({ ...withoutUrl, PRO_JWKS_URL: 'discovery' }))).toEqual([]);
    expect(productionTrustProblems(input({ ...withoutUrl, PRO_JWKS_FILE: '/etc/mesgw/psc-jwks.json' }))).toEqual([]);
    expect(settingsOf(input(withoutUrl))).toEqual(['PRO_JWKS_URL']);
  });

  it('refuses the development issuer, even set explicitly', () => {
    expect(settingsOf(input({ ...GOOD, PRO_ISSUER: '' }))).toEqual(['PRO_ISSUER']);
    expect(settingsOf(input({ ...GOOD, PRO_ISSUER: 'https://pro-auth.dev.mes-gateway.local' }))).toEqual(['PRO_ISSUER']);
  });

  it('refuses a master key inside DATA_DIR, unreadable, or readable by group or others', () => {
    const inside = productionTrustProblems(input({ ...GOOD, MASTER_KEY_FILE: '/srv/mesgw/data/keys/master.key' }));
    expect(inside).toEqual([{ setting: 'MASTER_KEY_FILE', problem: expect.stringMatching(/inside DATA_DIR/) }]);
    expect(settingsOf(input({ ...GOOD, MASTER_KEY_FILE: '/srv/mesgw/data/../data/master.key' }))).toEqual(['MASTER_KEY_FILE']);
    expect(settingsOf(input({ ...GOOD, MASTER_KEY_FILE: '/srv/mesgw/data-keys/master.key' }))).toEqual([]); // a sibling is outside
    expect(productionTrustProblems(input(GOOD, { masterKeyMode: null }))).toEqual([
      { setting: 'MASTER_KEY_FILE', problem: expect.stringMatching(/cannot be read/) },
    ]);
    for (const mode of [0o100644, 0o100640, 0o100604, 0o100660]) {
      expect(productionTrustProblems(input(GOOD, { masterKeyMode: mode }))).toEqual([
        { setting: 'MASTER_KEY_FILE', problem: expect.stringContaining(`mode 0${(mode & 0o777).toString(8)}`) },
      ]);
    }
  });

  it("refuses to run without the gateway's own certificate (never generated in production)", () => {
    expect(settingsOf(input(GOOD, { serverCertificatePresent: false }))).toEqual(['PKI_DIR']);
  });
});
