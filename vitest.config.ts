/**
 * Three test projects, all run by `npm test` (`vitest run`), each also alone (`npm run test:unit`, …):
 *
 * - unit: pure rules and in-process components (TLS, PKI, parsers, the README's tables, the deployment files).
 *   No global set-up: no database, Redis, clamd or browser is started, and TEST_DATABASE_URL / TEST_REDIS_URL
 *   are emptied, so a file listed here that needs a server fails instead of quietly using one. Files share one
 *   module graph per worker (isolate: false: a third of the CPU time), so none may rely on a module's state being
 *   fresh. About 15 s on 2 idle cores, under 30 s.
 * - integration: everything else under tests/ (a new test file lands here by default): real PostgreSQL (the
 *   embedded server's binaries), Redis and clamd, started by tests/support/global-setup.ts, which installs
 *   what only Debian provides when it can (tests/support/system-packages.ts).
 * - browser: the webmail in Debian's Chromium (tests/web/), same servers plus Chromium.
 *
 * Integration tests start real servers (PostgreSQL, Redis, SMTP over TLS); parallelism stays modest on 2 cores.
 */
import { configDefaults, defineConfig } from 'vitest/config';

/** Files that need no server. */
const UNIT = [
  'tests/access/access-decision.test.ts',
  'tests/access/authorization-grid.test.ts',
  'tests/access/csv-file.test.ts',
  'tests/access/ins.test.ts',
  'tests/access/known-professionals.test.ts',
  'tests/access/login-throttle.test.ts',
  'tests/access/organisation-rules.test.ts',
  'tests/access/patient-csv.test.ts',
  'tests/access/profile-state.test.ts',
  'tests/access/reveal-date.test.ts',
  'tests/access/scrypt-gate.test.ts',
  'tests/access/secrets.test.ts',
  'tests/access/self-service.test.ts',
  'tests/api/problems.test.ts',
  'tests/app/delivery-job-id.test.ts',
  'tests/certs/**/*.test.ts',
  'tests/ci/module-boundaries.test.ts',
  'tests/ci/system-packages.test.ts',
  'tests/config/**/*.test.ts',
  'tests/db/cte.test.ts',
  'tests/db/keyset.test.ts',
  'tests/docs/**/*.test.ts',
  'tests/gateway/author-fields.test.ts',
  'tests/gateway/data-guard.test.ts',
  'tests/gateway/mime-structure.test.ts',
  'tests/mailbox/rules/**/*.test.ts',
  'tests/relay/**/*.test.ts',
  'tests/vault/envelope.test.ts',
  'tests/vault/xdm/**/*.test.ts',
  'tests/vault/zip-members.test.ts',
  'tests/web/labels.test.ts',
];

/** The webmail in a real browser. */
const BROWSER = ['tests/web/**/*.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: UNIT,
          isolate: false,
          env: { TEST_DATABASE_URL: '', TEST_REDIS_URL: '' },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['tests/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...UNIT, ...BROWSER],
          globalSetup: ['tests/support/global-setup.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          include: BROWSER,
          exclude: [...configDefaults.exclude, ...UNIT],
          globalSetup: ['tests/support/global-setup-browser.ts'],
        },
      },
    ],
  },
});
