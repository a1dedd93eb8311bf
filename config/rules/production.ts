/**
 * What NODE_ENV=production refuses to start with: development trust material.
 *
 * Without their variables the gateway trusts a PKI, a professional issuer and a master key it generates itself
 * under DATA_DIR (config/settings.ts): convenient on a laptop, a hole in production, where anyone who can read
 * the data directory could then mint professionals' tokens, issue client certificates or decrypt the vault.
 * `productionTrustProblems` lists every missing or unsafe setting, each naming its variable, so one start-up
 * error tells the operator everything to fix at once. Pure: the caller gathers the facts (the master key file's
 * mode) and refuses to start when the list is not empty (app/gateway.ts).
 */
import path from 'node:path';
import { SETTINGS } from '../settings.js';

export interface ProductionTrustInput {
  production: boolean;
  /** Environment variables set explicitly (Config.explicit). */
  explicit: ReadonlySet<string>;
  dataDir: string;
  masterKeyFile: string;
  proIssuer: string;
  /** The master key file's permission bits, or null when it cannot be read (missing, no access). */
  masterKeyMode: number | null;
  pkiDir: string;
  /** Whether $PKI_DIR holds the gateway's server.crt and server.key (a development PKI is never generated). */
  serverCertificatePresent: boolean;
}

export interface ProductionTrustProblem {
  /** The environment variable to set or fix. */
  setting: string;
  problem: string;
}

/** True when `file` is `dir` or inside it (resolved paths). */
function isInside(dir: string, file: string): boolean {
  const rel = path.relative(path.resolve(dir), path.resolve(file));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

export function productionTrustProblems(i: ProductionTrustInput): ProductionTrustProblem[] {
  if (!i.production) return [];
  const out: ProductionTrustProblem[] = [];
  const unset = (setting: string, problem: string) => {
    if (!i.explicit.has(setting)) out.push({ setting, problem });
  };
  unset('TRUST_ANCHORS', "not set: the CA certificates that operators' client certificates must chain to (IGC-Santé)");
  unset('WHITELIST_FILE', 'not set: the ANS ListeBlancheMSSante file (with WHITELIST_URL, where its last good copy is kept)');
  if (!i.serverCertificatePresent) {
    out.push({ setting: 'PKI_DIR', problem: `${i.pkiDir} holds no server.crt and server.key: the gateway's own certificate is never generated in production` });
  }
  // The provider's keys: fetched (PRO_JWKS_URL, an https URL or `discovery`) or, offline, a file (PRO_JWKS_FILE).
  if (!i.explicit.has('PRO_JWKS_URL') && !i.explicit.has('PRO_JWKS_FILE')) {
    out.push({
      setting: 'PRO_JWKS_URL',
      problem:
        "not set (nor PRO_JWKS_FILE): where the professional identity provider's public keys come from, its https JWKS URL or `discovery` from PRO_ISSUER; the development issuer is never trusted in production",
    });
  }
  // PRO_ISSUER's default is the development issuer (access/pro-auth/dev-issuer.ts).
  if (i.proIssuer === SETTINGS.proIssuer.default) {
    out.push({ setting: 'PRO_ISSUER', problem: "not set: the professional identity provider's issuer (iss), not the development issuer" });
  }
  if (!i.explicit.has('MASTER_KEY_FILE')) {
    out.push({ setting: 'MASTER_KEY_FILE', problem: 'not set: the key-encryption key file, kept outside DATA_DIR (mode 0600)' });
  } else if (isInside(i.dataDir, i.masterKeyFile)) {
    out.push({ setting: 'MASTER_KEY_FILE', problem: `${i.masterKeyFile} is inside DATA_DIR: keep the master key apart from the data and its backups` });
  } else if (i.masterKeyMode === null) {
    out.push({ setting: 'MASTER_KEY_FILE', problem: `${i.masterKeyFile} cannot be read (it is never generated in production)` });
  } else if ((i.masterKeyMode & 0o077) !== 0) {
    out.push({
      setting: 'MASTER_KEY_FILE',
      problem: `${i.masterKeyFile} has mode ${(i.masterKeyMode & 0o777).toString(8).padStart(4, '0')}: it must be 0600 (readable by the gateway's user only)`,
    });
  }
  return out;
}

/** The start-up error listing every problem, one per line. */
export function productionTrustMessage(problems: readonly ProductionTrustProblem[]): string {
  return [
    `NODE_ENV=production: refusing to start with development trust material; set ${problems.map((p) => p.setting).join(', ')}:`,
    ...problems.map((p) => `  - ${p.setting}: ${p.problem}`),
  ].join('\n');
}
