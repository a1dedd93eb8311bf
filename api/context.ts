/** What the HTTP layer needs from the rest of the gateway: it calls the modules, never SQL or queues itself. */
import type { Registry } from 'prom-client';
import type { ProKeys } from '../access/index.js';
import type { Config } from '../config/index.js';
import type { VirusScanner, BlobStore, Keyring } from '../vault/index.js';
import type { ReportDeps } from '../mailbox/index.js';
import type { Db } from '../db/index.js';
import type { Notifier } from '../gateway/notify/index.js';

export interface ApiContext {
  config: Config;
  db: Db;
  keyring: Keyring;
  blobs: BlobStore;
  notifier: Notifier;
  adminToken: string;
  isMssanteDomain: (domain: string) => boolean;
  reportDeps: ReportDeps;
  kickOutbox: () => void;
  /** The professional identity provider's keys, kept current (access/pro-auth/key-source.ts). */
  proKeys: ProKeys;
  scanner: VirusScanner;
  metrics?: Registry;
  ready: () => Promise<boolean>;
}
