/**
 * The browser project's set-up: that of tests/support/global-setup.ts (PostgreSQL, clamd) plus Debian's
 * Chromium, installed with apt-get when missing and run as root; no Redis (no webmail test puts the queues there).
 */
import { startServers } from './global-setup.js';

export default function setup(): Promise<() => void> {
  return startServers({ redis: false, browser: true });
}
