import { defineConfig } from 'vitest/config';

// Integration tests start real servers (PostgreSQL, Redis, SMTP over TLS); keep parallelism modest on 2 cores.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
