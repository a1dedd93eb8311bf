/**
 * Composition of one gateway process: database, job queues, keys, PKI and whitelist (`openCore`), then the parts
 * named in ROLES, each started by a function of its own: the delivery worker with the outbox relay, the outbound
 * relay and the periodic jobs (`startWorkerRole`), the SMTP ingress (`startSmtpRole`), the HTTP API with the
 * organisation mutual-TLS listener and the professional identity provider's keys (`startApiRole`), or, without
 * the api role, the status listener; the reloaders (whitelist, CRLs, the provider's keys) keep trust material
 * current meanwhile. With NODE_ENV=production it first refuses to start on development trust material
 * (config/rules/production.ts: one error naming every missing setting) and never generates a PKI, an issuer or a
 * master key.
 *
 * Guarantees: `close()` stops accepting first, then lets in-flight work finish, then closes the stores (every
 * step is registered in `Cleanups` as it starts and run in reverse order, each bounded by CLOSE_STEP_TIMEOUT_MS),
 * so SIGINT/SIGTERM never cut a transaction in half; a kill -9 is covered by the durable accept and the outbox
 * instead. A start-up that fails half-way closes what it had started and rethrows. While running, the whitelist
 * (file, and WHITELIST_URL daily) and the CRLs (CRL_FILE) are kept current by certs/whitelist-refresh.ts and
 * certs/revocation.ts: the ingress and the outbound relay always check peers against what is in force; a bad
 * update keeps it and alerts. No usable whitelist at start (file unusable and no download) stops the start, and
 * so does an unreadable PRO_JWKS_FILE; an identity provider unreachable at start (PRO_JWKS_URL, discovery) does
 * not: it is alerted (PRO-JWKS) and professionals' tokens are refused until its keys arrive
 * (access/pro-auth/key-source.ts).
 *
 * Logs (app/logger.ts, re-exported here): JSON lines by default; readable lines (pino-pretty) when stdout is a
 * terminal outside production. Redaction and the request serializer apply either way: no health data in logs.
 */
import crypto from 'node:crypto';
import { constants as fsConstants, existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Queue, Worker } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { endOppositionWindows, revealDueDocuments, sealActivity, ProKeys, ensureDevIssuer, keyFetcherFor } from '../access/index.js';
import { buildApi, buildOrganisationApi, startStatusServer, updateOrganisationCrl, type ApiContext, type OrganisationTls } from '../api/index.js';
import {
  CrlReloader,
  WhitelistKeeper,
  ensureDevelopmentOrganisations,
  initDevelopmentPki,
  loadTrustMaterial,
  pkiPaths,
  type TrustMaterial,
  type Whitelist,
} from '../certs/index.js';
import { type Config, productionTrustMessage, productionTrustProblems, parseRoutes } from '../config/index.js';
import { openDatabase, type Database } from '../db/index.js';
import { startIngress, type Ingress, SharedLimits } from '../gateway/ingress/index.js';
import { createNotifier, type Notifier } from '../gateway/notify/index.js';
import { BlobStore, loadKeyring, type Keyring, type VirusScanner } from '../vault/index.js';
import { createLogger } from './logger.js';
import { MeasuredScanner, createMetrics, type GatewayMetrics } from './metrics.js';
import { queueDsnForFailedDelivery, queueUnreadableNotice, queueXdmRefusalNotice, type ReportDeps } from '../mailbox/index.js';
import { NotificationDispatcher } from './notification-dispatcher.js';
import { createOutboundQueue, startOutboundWorker } from './outbound-worker.js';
import { OutboxRelay, type DeliveryJob, type OutboundJob } from './outbox-relay.js';
import { openQueueBackend, type QueueBackend } from './queue-backend.js';
import { createInboundQueue, startInboundWorker } from './worker.js';

export { createLogger };

export interface GatewayHandle {
  config: Config;
  database: Database;
  keyring: Keyring;
  blobs: BlobStore;
  smtpPort: number | null;
  apiPort: number | null;
  /** The organisation API's mutual-TLS port (PRO_API_MTLS_PORT), null when not served. */
  organisationApiPort: number | null;
  relay: OutboxRelay | null;
  queue: Queue<DeliveryJob>;
  logger: Logger;
  close(): Promise<void>;
}

export async function ensureAdminToken(file: string): Promise<string> {
  try {
    return (await fs.readFile(file, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    await fs.writeFile(file, `${crypto.randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return (await fs.readFile(file, 'utf8')).trim();
}

/**
 * Generates the development PKI only where the default location is used and nothing is there yet (never in
 * production); with the organisation API on, a development PKI also gets its test organisations' certificates.
 */
export async function ensurePki(config: Config): Promise<void> {
  if (config.production) return;
  try {
    await fs.access(path.join(config.pkiDir, 'server.crt'));
    await fs.access(config.trustAnchorsFile);
  } catch {
    await initDevelopmentPki(config.pkiDir, { gatewayHostname: config.smtp.hostname });
  }
  if (config.organisations.mtlsPort !== null && existsSync(pkiPaths(config.pkiDir).issuingCaKey)) await ensureDevelopmentOrganisations(config.pkiDir);
}

const readable = (file: string) =>
  fs.access(file, fsConstants.R_OK).then(
    () => true,
    () => false,
  );

/** NODE_ENV=production: throws one error naming every setting still on development trust material. */
export async function checkProductionTrust(config: Config): Promise<void> {
  if (!config.production) return;
  const masterKeyMode = (await readable(config.masterKeyFile)) ? (await fs.stat(config.masterKeyFile)).mode : null;
  const serverCertificatePresent = (await readable(path.join(config.pkiDir, 'server.crt'))) && (await readable(path.join(config.pkiDir, 'server.key')));
  const problems = productionTrustProblems({
    production: config.production,
    explicit: config.explicit,
    dataDir: config.dataDir,
    masterKeyFile: config.masterKeyFile,
    proIssuer: config.pro.issuer,
    masterKeyMode,
    pkiDir: config.pkiDir,
    serverCertificatePresent,
  });
  if (problems.length) throw new Error(productionTrustMessage(problems));
}

/** Longest wait for one close step (worker drain, pool end...) before the next one runs anyway. */
const CLOSE_STEP_TIMEOUT_MS = 3_000;

/**
 * The close steps of a process, registered as each part starts. `closeAll` runs them in reverse order (stop
 * accepting first, the stores last), each bounded: a store that went away (a frozen PostgreSQL or Redis) must not
 * keep the process from stopping (main.ts: 9 s in all). A step that fails or times out is logged and skipped.
 */
class Cleanups {
  readonly #steps: (() => Promise<unknown>)[] = [];
  constructor(private readonly logger: Logger) {}

  push(step: () => Promise<unknown>): void {
    this.#steps.push(step);
  }

  async closeAll(): Promise<void> {
    for (const c of this.#steps.splice(0).reverse()) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), CLOSE_STEP_TIMEOUT_MS)));
      const outcome = await Promise.race([c().catch((err: Error) => this.logger.warn({ err: err.message }, 'close step failed')), timeout]);
      clearTimeout(timer);
      if (outcome === 'timeout') this.logger.warn({ step: c.name || 'anonymous' }, 'close step did not finish in time; going on');
    }
  }
}

/** What every role is built on (`openCore`). */
interface Core {
  config: Config;
  logger: Logger;
  cleanups: Cleanups;
  database: Database;
  queues: QueueBackend;
  keyring: Keyring;
  blobs: BlobStore;
  queue: Queue<DeliveryJob>;
  outboundQueue: Queue<OutboundJob>;
  schedule: number[];
  metrics: GatewayMetrics;
  ready: () => Promise<boolean>;
  whitelist: () => Whitelist | null;
  isMssanteDomain: (domain: string) => boolean;
  peerTrust: TrustMaterial;
  crls: CrlReloader | null;
  notifier: Notifier;
  reportDeps: ReportDeps;
  scanner: VirusScanner;
}

/** The database (migrated), the job queues and the keys: every role needs them. */
async function openStores(config: Config, logger: Logger, cleanups: Cleanups) {
  await ensurePki(config);
  const keyring = await loadKeyring(config.masterKeyFile, !config.explicit.has('MASTER_KEY_FILE') && !config.production);
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, embeddedUser: config.embeddedPgUser });
  cleanups.push(() => database.close());
  logger.info({ db: database.kind }, 'database open, migrations applied');
  const queues: QueueBackend = await openQueueBackend({ redisUrl: config.redisUrl, redisPrefix: config.redisPrefix, databaseUrl: database.url });
  cleanups.push(() => queues.close());
  logger.info({ queues: queues.describe }, 'job queues ready');
  const blobs = new BlobStore(database.db, keyring, config.limits.blobChunkBytes, {
    inlineBytes: config.limits.blobInlineBytes,
    writePool: database.writePool,
  });
  return { keyring, database, queues, blobs };
}

/**
 * The whitelist: WHITELIST_FILE (the last good copy) and, with WHITELIST_URL, a daily download; checked every
 * LIMIT_WHITELIST_RELOAD_MS, alerting at every check while stale (certs/whitelist-refresh.ts). Then the trust
 * anchors and CRLs for peers, in and out; CRL_FILE re-read every LIMIT_CRL_RELOAD_MS (certs/revocation.ts, started
 * by `startCrlReloads` once the ingress listens for its changes).
 */
async function startTrust(config: Config, logger: Logger, cleanups: Cleanups, metrics: GatewayMetrics) {
  const keeper = new WhitelistKeeper({
    file: config.whitelistFile,
    url: config.whitelistUrl,
    ca: config.whitelistCaFile ? (await loadTrustMaterial({ caFile: config.whitelistCaFile })).ca : undefined,
    limits: {
      maxAgeMs: config.limits.whitelistMaxAgeMs,
      downloadEveryMs: config.limits.whitelistDownloadMs,
      downloadTimeoutMs: config.limits.whitelistDownloadTimeoutMs,
      maxBytes: config.limits.whitelistMaxBytes,
      futureSkewMs: config.limits.whitelistFutureSkewMs,
    },
    logger: logger.child({ part: 'whitelist' }),
  });
  const initialList = await keeper.init();
  logger.info({ entries: initialList.entries.length, skipped: initialList.skipped.length }, 'whitelist loaded');
  const whitelist = () => keeper.current();
  metrics.watchWhitelist(() => whitelist()?.generatedAt ?? null);
  keeper.start(config.limits.whitelistReloadMs);
  cleanups.push(() => keeper.stop());
  const isMssanteDomain = (domain: string) => {
    const d = domain.toLowerCase();
    return d !== config.patientDomain && (whitelist()?.byDomain.has(d) ?? false);
  };
  const peerTrust = await loadTrustMaterial({ caFile: config.trustAnchorsFile, crlFiles: config.crlFiles });
  const crls = peerTrust.crl
    ? new CrlReloader({ files: config.crlFiles, ca: peerTrust.ca, initial: peerTrust.crl, logger: logger.child({ part: 'crl' }) })
    : null;
  return { whitelist, isMssanteDomain, peerTrust, crls };
}

/** Stores, queues, metrics, trust material, notifier and scanner, in this order (their close steps run in reverse). */
async function openCore(config: Config, logger: Logger, cleanups: Cleanups): Promise<Core> {
  const { keyring, database, queues, blobs } = await openStores(config, logger, cleanups);
  const queue = createInboundQueue(queues, config.inboundRetrySchedule);
  const metrics = createMetrics();
  const ready = async () => {
    await database.db.execute('select 1' as never);
    return true;
  };
  metrics.watchQueue(queue);
  cleanups.push(() => queue.close());
  const trust = await startTrust(config, logger, cleanups, metrics);
  const schedule = config.relay.retrySchedule;
  const outboundQueue = createOutboundQueue(queues, schedule);
  cleanups.push(() => outboundQueue.close());
  metrics.watchQueue(outboundQueue);
  const notifier = createNotifier({ smtpUrl: config.notifySmtpUrl, dir: path.join(config.dataDir, 'notifications'), from: config.notifyFrom });
  cleanups.push(async () => notifier.close());
  const reportDeps: ReportDeps = {
    db: database.db,
    blobs,
    keyring,
    patientDomain: config.patientDomain,
    reportingMta: config.smtp.hostname,
    isMssanteDomain: trust.isMssanteDomain,
  };
  const scanner = new MeasuredScanner(config.clamd ? { ...config.clamd, timeoutMs: 60_000, maxBytes: config.limits.maxMessageBytes } : null, (v) =>
    metrics.scanned(v),
  );
  metrics.watchScanner(scanner);
  return {
    config,
    logger,
    cleanups,
    database,
    queues,
    keyring,
    blobs,
    queue,
    outboundQueue,
    schedule,
    metrics,
    ready,
    notifier,
    reportDeps,
    scanner,
    ...trust,
  };
}

/** The worker role: outbox relay, outbound relay, inbound delivery worker, then the periodic jobs. */
async function startWorkerRole(core: Core): Promise<OutboxRelay> {
  const { config, database, blobs, keyring, queues, logger, cleanups, metrics } = core;
  const relay = new OutboxRelay(database.db, core.queue, {
    sweepMs: config.limits.outboxSweepMs,
    staleMs: config.limits.staleEnqueueMs,
    logger: logger.child({ part: 'outbox' }),
    outboundQueue: core.outboundQueue,
  });
  const { crls } = core;
  const outWorker = startOutboundWorker(
    {
      db: database.db,
      blobs,
      keyring,
      whitelist: core.whitelist,
      tls: {
        cert: await fs.readFile(config.relay.certFile),
        key: await fs.readFile(config.relay.keyFile),
        ca: core.peerTrust.ca,
        get crl() {
          return crls?.current();
        },
      },
      routes: parseRoutes(config.relay.routes || undefined),
      heloName: config.smtp.hostname,
      schedule: core.schedule,
      maxConnectionsPerDestination: config.relay.maxConnections,
    },
    queues,
    logger,
  );
  watchRelayOutcomes(outWorker, metrics);
  cleanups.push(() => outWorker.close());
  const dispatcher = new NotificationDispatcher(database.db, keyring, core.notifier, {
    windowSeconds: config.notifyWindowSeconds,
    tickMs: 1000,
    logger: logger.child({ part: 'notify' }),
  });
  dispatcher.start();
  cleanups.push(() => dispatcher.stop());
  cleanups.push(startPeriodicJobs(core));
  const reportDeps = core.reportDeps;
  const worker: Worker = startInboundWorker(
    {
      db: database.db,
      blobs,
      keyring,
      limits: config.limits,
      isMssanteDomain: core.isMssanteDomain,
      scanner: core.scanner,
      onXdmRefused: (id, err) => queueXdmRefusalNotice(reportDeps, id, err).then(() => relay.kick()),
      onPermanentFailure: (id, reason) =>
        Promise.all([queueDsnForFailedDelivery(reportDeps, id, reason), queueUnreadableNotice(reportDeps, id)]).then(() => relay.kick()),
    },
    queues,
    config.inboundRetrySchedule,
    config.limits.workerConcurrency,
    logger,
    metrics,
  );
  cleanups.push(() => worker.close());
  cleanups.push(() => relay.stop());
  relay.start();
  return relay;
}

/** mesgw_relay_outcomes_total from the outbound worker's job events (app/outbound-worker.ts returns or throws). */
function watchRelayOutcomes(worker: Worker<OutboundJob>, metrics: GatewayMetrics): void {
  worker.on('completed', (_job, result) => metrics.relayOutcome(result === 'sent' ? 'sent' : 'skipped'));
  worker.on('failed', (job, err) => {
    const final = err?.name === 'UnrecoverableError' || (job !== undefined && job.attemptsMade >= (job.opts.attempts ?? 1));
    metrics.relayOutcome(final ? 'failed' : 'deferred');
  });
}

/**
 * The worker's periodic jobs: activity sealing (every second, one run at a time), the lifecycle (opposition
 * windows, scheduled reveals, every LIMIT_LIFECYCLE_CHECK_MS) and the orphan blob collection. Returns the step
 * that stops them (waiting for a sealing run in progress).
 */
function startPeriodicJobs({ config, database, keyring, blobs, logger }: Core): () => Promise<void> {
  let sealing: Promise<unknown> | null = null;
  const chainer = setInterval(() => {
    sealing ??= sealActivity(database.db, keyring)
      .catch((err: Error) => logger.warn({ err: err.message }, 'activity sealing failed'))
      .finally(() => (sealing = null));
  }, 1000);
  const lifecycle = setInterval(() => {
    endOppositionWindows(database.db, config.limits.oppositionWindowMs).then(
      (n) => n && logger.info({ n }, 'opposition windows ended: profiles created'),
      (err: Error) => logger.warn({ err: err.message }, 'lifecycle job failed'),
    );
    revealDueDocuments({ db: database.db, keyring }).then(
      (n) => n && logger.info({ n }, 'hidden documents revealed at their date'),
      (err: Error) => logger.warn({ err: err.message }, 'scheduled reveal failed'),
    );
  }, config.limits.lifecycleCheckMs);
  const gc = setInterval(
    () => {
      blobs.collectOrphans(config.limits.orphanBlobAgeMs).then(
        (n) => n && logger.info({ n }, 'orphan blobs collected'),
        (err: Error) => logger.warn({ err: err.message }, 'orphan collection failed'),
      );
    },
    Math.max(60_000, config.limits.orphanBlobAgeMs / 4),
  );
  for (const t of [chainer, lifecycle, gc]) t.unref();
  return async function stopPeriodicJobs() {
    clearInterval(gc);
    clearInterval(lifecycle);
    clearInterval(chainer);
    await sealing;
  };
}

/** The smtp role: limits shared across processes, then the ingress (given each new CRL set). */
async function startSmtpRole(core: Core, relay: OutboxRelay | null): Promise<Ingress> {
  const { config, database, logger, cleanups, metrics, crls } = core;
  const sharedLimits = new SharedLimits(database.db, {
    perMinutePerDomain: config.limits.messagesPerMinutePerDomain,
    maxPerCertificate: config.limits.maxConnectionsPerCertificate,
    roles: [...config.roles].join(','),
    logger: logger.child({ part: 'limits' }),
  });
  await sharedLimits.start();
  cleanups.push(() => sharedLimits.stop());
  const smtp = await startIngress({
    sharedLimits,
    host: config.smtp.host,
    port: config.smtp.port,
    hostname: config.smtp.hostname,
    patientDomain: config.patientDomain,
    tls: {
      key: await fs.readFile(path.join(config.pkiDir, 'server.key')),
      cert: await fs.readFile(path.join(config.pkiDir, 'server.crt')),
      ca: core.peerTrust.ca,
      crl: crls?.current(),
    },
    limits: config.limits,
    db: database.db,
    blobs: core.blobs,
    whitelist: core.whitelist,
    onAccepted: (_id, bytes, seconds) => {
      metrics.smtpAccepted(bytes, seconds);
      metrics.smtpReply(250, 'GW-DATA-00');
      relay?.kick();
    },
    onRefused: (code, suffix) => metrics.smtpReply(code, suffix),
    logger,
  });
  cleanups.push(() => smtp.close());
  crls?.onChange((crl) => smtp.updateCrl(crl));
  return smtp;
}

function startCrlReloads({ config, crls, cleanups }: Core): void {
  if (!crls) return;
  crls.start(config.limits.crlReloadMs);
  cleanups.push(async () => crls.stop());
}

/**
 * The professional identity provider's keys (config/rules/pro-keys.ts): the development issuer's file, created
 * when absent, PRO_JWKS_FILE, PRO_JWKS_URL or discovery; refreshed every LIMIT_PRO_JWKS_REFRESH_MS and on an
 * unknown kid. A file must load at start; a remote provider may be down then (alert PRO-JWKS at every failure).
 */
async function startProKeys({ config, logger, cleanups, metrics }: Core): Promise<ProKeys> {
  if (config.pro.usesDevIssuer) ensureDevIssuer(config.pro.devIssuerDir, config.pro.issuer);
  const log = logger.child({ part: 'pro-keys' });
  const ca = config.pro.jwksCaFile ? (await loadTrustMaterial({ caFile: config.pro.jwksCaFile })).ca : undefined;
  const keys = new ProKeys({
    fetcher: keyFetcherFor(config.pro.keys, { ca, timeoutMs: config.limits.proJwksTimeoutMs }),
    refreshMs: config.limits.proJwksRefreshMs,
    cooldownMs: config.limits.proJwksCooldownMs,
    onFailure: (err) => log.error({ alert: 'PRO-JWKS', err: err.message }, "identity provider's keys not refreshed; keeping the keys in force"),
    onChange: (n) => log.info({ keys: n, source: keys.describe }, "identity provider's keys loaded"),
  });
  const remote = config.pro.keys.kind === 'url' || config.pro.keys.kind === 'discovery';
  await keys.init({ required: !remote });
  keys.start();
  cleanups.push(async () => keys.stop());
  metrics.watchProKeys(() => keys.loadedAt());
  return keys;
}

/** The api role: the patients' and professionals' API, and the organisation API on its mutual-TLS listener. */
async function startApiRole(core: Core, relay: OutboxRelay | null) {
  const { config, logger, cleanups } = core;
  const apiCtx: ApiContext = {
    config,
    db: core.database.db,
    keyring: core.keyring,
    blobs: core.blobs,
    notifier: core.notifier,
    adminToken: await ensureAdminToken(config.adminTokenFile),
    metrics: core.metrics.registry,
    isMssanteDomain: core.isMssanteDomain,
    reportDeps: core.reportDeps,
    kickOutbox: () => relay?.kick(),
    proKeys: await startProKeys(core),
    scanner: core.scanner,
    ready: core.ready,
  };
  const api = await buildApi(apiCtx, logger);
  await api.listen({ host: config.api.host, port: config.api.port });
  cleanups.push(() => api.close());
  const organisationApi = config.organisations.mtlsPort === null ? null : await startOrganisationListener(core, apiCtx, config.organisations.mtlsPort);
  return { api, organisationApi };
}

/** PRO_API_MTLS_PORT: the organisation API, its TLS context renewed with each new CRL set. */
async function startOrganisationListener(core: Core, apiCtx: ApiContext, port: number): Promise<FastifyInstance> {
  const { config, crls } = core;
  const orgTls: OrganisationTls = {
    key: await fs.readFile(path.join(config.pkiDir, 'server.key')),
    cert: await fs.readFile(path.join(config.pkiDir, 'server.crt')),
    ca: core.peerTrust.ca,
    crl: crls?.current(),
  };
  const app = await buildOrganisationApi(apiCtx, core.logger, orgTls);
  await app.listen({ host: config.api.host, port });
  core.cleanups.push(() => app.close());
  crls?.onChange((crl) => updateOrganisationCrl(app, orgTls, crl));
  return app;
}

/** SMTP-only and worker-only processes: /health, /ready and /metrics on API_HOST:API_PORT all the same. */
async function startStatusListener({ config, ready, metrics, cleanups }: Core): Promise<FastifyInstance> {
  const status = await startStatusServer(config.api.host, config.api.port, { ready, metrics: metrics.registry });
  cleanups.push(() => status.close());
  return status;
}

export async function startGateway(config: Config, opts: { logger?: Logger } = {}): Promise<GatewayHandle> {
  const logger = opts.logger ?? createLogger(config.logLevel, undefined, { production: config.production });
  await checkProductionTrust(config);
  await fs.mkdir(path.dirname(config.dataDir), { recursive: true }); // missing parents: the usual mode, not private
  await fs.mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const cleanups = new Cleanups(logger);
  try {
    const core = await openCore(config, logger, cleanups);
    const relay = config.roles.has('worker') ? await startWorkerRole(core) : null;
    const smtp = config.roles.has('smtp') ? await startSmtpRole(core, relay) : null;
    startCrlReloads(core);
    const { api, organisationApi } = config.roles.has('api')
      ? await startApiRole(core, relay)
      : { api: await startStatusListener(core), organisationApi: null };
    return {
      config,
      database: core.database,
      keyring: core.keyring,
      blobs: core.blobs,
      smtpPort: smtp?.port ?? null,
      apiPort: portOf(api),
      organisationApiPort: portOf(organisationApi),
      relay,
      queue: core.queue,
      logger,
      close: () => cleanups.closeAll(),
    };
  } catch (err) {
    await cleanups.closeAll();
    throw err;
  }
}

function portOf(app: FastifyInstance | null): number | null {
  const a = app?.server.address();
  return a && typeof a === 'object' ? a.port : null;
}
