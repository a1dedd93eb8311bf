/**
 * Composition of one gateway process: database, Redis, keys, PKI and whitelist, then the parts named in
 * ROLES (SMTP ingress, HTTP API, delivery worker + outbox relay). With NODE_ENV=production it first refuses to
 * start on development trust material (config/rules/production.ts: one error naming every missing setting) and
 * never generates a PKI, an issuer or a master key. `close()` stops accepting first, then lets
 * in-flight work finish, then closes the stores, so SIGINT/SIGTERM never cut a transaction in half; a kill -9
 * is covered by the durable accept and the outbox instead. While running, the whitelist (file, and WHITELIST_URL
 * daily) and the CRLs (CRL_FILE) are kept current by certs/whitelist-refresh.ts and certs/revocation.ts: the
 * ingress and the outbound relay always check peers against what is in force; a bad update keeps it and alerts.
 * No usable whitelist at start (file unusable and no download) stops the start.
 */
import crypto from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Queue, Worker } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { endOppositionWindows, revealDueDocuments, sealActivity } from '../access/index.js';
import { ensureDevIssuer } from '../access/pro-auth/index.js';
import { VirusScanner } from '../vault/scan/clamd.js';
import { buildApi, buildOrganisationApi, startStatusServer, updateOrganisationCrl, type ApiContext, type OrganisationTls } from '../api/index.js';
import { CrlReloader, WhitelistKeeper, ensureDevelopmentOrganisations, initDevelopmentPki, loadTrustMaterial, pkiPaths } from '../certs/index.js';
import type { Config } from '../config/index.js';
import { productionTrustMessage, productionTrustProblems } from '../config/rules/index.js';
import { serializeRequest } from '../api/request-log.js';
import { openDatabase, type Database } from '../db/index.js';
import { startIngress, type Ingress } from '../gateway/ingress/server.js';
import { SharedLimits } from '../gateway/ingress/shared-limits.js';
import { createNotifier, type Notifier } from '../gateway/notify/index.js';
import { BlobStore, loadKeyring, type Keyring } from '../vault/index.js';
import { createMetrics, type GatewayMetrics } from './metrics.js';
import { parseRetrySchedule, parseRoutes } from '../config/relay.js';
import { queueDsnForFailedDelivery, queueUnreadableNotice, queueXdmRefusalNotice, type ReportDeps } from '../mailbox/reports-out.js';
import { NotificationDispatcher } from './notification-dispatcher.js';
import { createOutboundQueue, startOutboundWorker } from './outbound-worker.js';
import { OutboxRelay, type DeliveryJob } from './outbox-relay.js';
import { openQueueBackend, type QueueBackend } from './queue-backend.js';
import { createInboundQueue, startInboundWorker } from './worker.js';

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

const readable = (file: string) => fs.access(file, fsConstants.R_OK).then(() => true, () => false);

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

/** The process logger (stdout unless `destination`, e.g. a test's stream); requests by route pattern only (api/request-log.ts). */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options = {
    level,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]', '*.password', '*.ins', '*.code'],
      censor: '[redacted]',
    },
    serializers: { req: serializeRequest },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** Longest wait for one close step (worker drain, pool end...) before the next one runs anyway. */
const CLOSE_STEP_TIMEOUT_MS = 3_000;

export async function startGateway(config: Config, opts: { logger?: Logger } = {}): Promise<GatewayHandle> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  await checkProductionTrust(config);
  await fs.mkdir(path.dirname(config.dataDir), { recursive: true }); // missing parents: the usual mode, not private
  await fs.mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const cleanups: (() => Promise<void>)[] = [];
  // Steps run in reverse order of start (stop accepting first, the stores last), each bounded: a store that
  // went away (a frozen PostgreSQL or Redis) must not keep the process from stopping (main.ts: 9 s in all).
  const closeAll = async () => {
    for (const c of cleanups.reverse()) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), CLOSE_STEP_TIMEOUT_MS)));
      const outcome = await Promise.race([c().catch((err: Error) => logger.warn({ err: err.message }, 'close step failed')), timeout]);
      clearTimeout(timer);
      if (outcome === 'timeout') logger.warn({ step: c.name || 'anonymous' }, 'close step did not finish in time; going on');
    }
  };
  try {
    await ensurePki(config);
    const keyring = await loadKeyring(config.masterKeyFile, !config.explicit.has('MASTER_KEY_FILE') && !config.production);
    const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, embeddedUser: config.embeddedPgUser });
    cleanups.push(() => database.close());
    logger.info({ db: database.kind }, 'database open, migrations applied');
    const queues: QueueBackend = await openQueueBackend({ redisUrl: config.redisUrl, redisPrefix: config.redisPrefix, databaseUrl: database.url });
    cleanups.push(() => queues.close());
    logger.info({ queues: queues.describe }, 'job queues ready');
    const blobs = new BlobStore(database.db, keyring, config.limits.blobChunkBytes, { inlineBytes: config.limits.blobInlineBytes, writePool: database.writePool });
    const queue = createInboundQueue(queues, config.inboundRetrySchedule);
    const metrics: GatewayMetrics = createMetrics();
    const ready = async () => {
      await database.db.execute('select 1' as never);
      return true;
    };
    metrics.watchQueue(queue);
    cleanups.push(() => queue.close());

    // The whitelist: WHITELIST_FILE (the last good copy) and, with WHITELIST_URL, a daily download; checked every
    // LIMIT_WHITELIST_RELOAD_MS, alerting at every check while stale (certs/whitelist-refresh.ts).
    const whitelistKeeper = new WhitelistKeeper({
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
    const initialList = await whitelistKeeper.init();
    logger.info({ entries: initialList.entries.length, skipped: initialList.skipped.length }, 'whitelist loaded');
    const whitelist = () => whitelistKeeper.current();
    metrics.watchWhitelist(() => whitelist()?.generatedAt ?? null);
    whitelistKeeper.start(config.limits.whitelistReloadMs);
    cleanups.push(() => whitelistKeeper.stop());
    const isMssanteDomain = (domain: string) => {
      const d = domain.toLowerCase();
      return d !== config.patientDomain && (whitelist()?.byDomain.has(d) ?? false);
    };
    // Trust anchors and CRLs for peers, in and out; CRL_FILE re-read every LIMIT_CRL_RELOAD_MS (certs/revocation.ts):
    // the relay reads the CRLs in force at each connection, the ingress is given each new set below.
    const peerTrust = await loadTrustMaterial({ caFile: config.trustAnchorsFile, crlFiles: config.crlFiles });
    const crls = peerTrust.crl
      ? new CrlReloader({ files: config.crlFiles, ca: peerTrust.ca, initial: peerTrust.crl, logger: logger.child({ part: 'crl' }) })
      : null;

    const schedule = parseRetrySchedule(config.relay.retrySchedule || undefined);
    const outboundQueue = createOutboundQueue(queues, schedule);
    cleanups.push(() => outboundQueue.close());
    metrics.watchQueue(outboundQueue);
    const notifier: Notifier = createNotifier({ smtpUrl: config.notifySmtpUrl, dir: path.join(config.dataDir, 'notifications'), from: config.notifyFrom });
    cleanups.push(async () => notifier.close());
    const reportDeps: ReportDeps = { db: database.db, blobs, keyring, patientDomain: config.patientDomain, reportingMta: config.smtp.hostname, isMssanteDomain };

    const scanner = new VirusScanner(config.clamd ? { ...config.clamd, timeoutMs: 60_000, maxBytes: config.limits.maxMessageBytes } : null);
    let relay: OutboxRelay | null = null;
    let worker: Worker | null = null;
    if (config.roles.has('worker')) {
      relay = new OutboxRelay(database.db, queue, {
        sweepMs: config.limits.outboxSweepMs,
        staleMs: config.limits.staleEnqueueMs,
        logger: logger.child({ part: 'outbox' }),
        outboundQueue,
      });
      const outWorker = startOutboundWorker(
        {
          db: database.db,
          blobs,
          keyring,
          whitelist,
          tls: {
            cert: await fs.readFile(config.relay.certFile),
            key: await fs.readFile(config.relay.keyFile),
            ca: peerTrust.ca,
            get crl() {
              return crls?.current();
            },
          },
          routes: parseRoutes(config.relay.routes || undefined),
          heloName: config.smtp.hostname,
          schedule,
          maxConnectionsPerDestination: config.relay.maxConnections,
        },
        queues,
        logger,
      );
      cleanups.push(() => outWorker.close());
      const dispatcher = new NotificationDispatcher(database.db, keyring, notifier, {
        windowSeconds: config.notifyWindowSeconds,
        tickMs: 1000,
        logger: logger.child({ part: 'notify' }),
      });
      dispatcher.start();
      cleanups.push(() => dispatcher.stop());
      let sealing: Promise<unknown> | null = null;
      const chainer = setInterval(() => {
        sealing ??= sealActivity(database.db, keyring)
          .catch((err: Error) => logger.warn({ err: err.message }, 'activity sealing failed'))
          .finally(() => (sealing = null));
      }, 1000);
      chainer.unref();
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
      lifecycle.unref();
      cleanups.push(async () => clearInterval(lifecycle));
      cleanups.push(async () => {
        clearInterval(chainer);
        await sealing;
      });
      worker = startInboundWorker({
        db: database.db,
        blobs,
        keyring,
        limits: config.limits,
        isMssanteDomain,
        scanner,
        onXdmRefused: (id, err) => queueXdmRefusalNotice(reportDeps, id, err).then(() => relay?.kick()),
        onPermanentFailure: (id, reason) =>
          Promise.all([queueDsnForFailedDelivery(reportDeps, id, reason), queueUnreadableNotice(reportDeps, id)]).then(() => relay?.kick()) }, queues, config.inboundRetrySchedule, config.limits.workerConcurrency, logger, metrics);
      const w = worker;
      cleanups.push(() => w.close());
      const r = relay;
      cleanups.push(() => r.stop());
      relay.start();
      const gc = setInterval(() => {
        blobs.collectOrphans(config.limits.orphanBlobAgeMs).then(
          (n) => n && logger.info({ n }, 'orphan blobs collected'),
          (err: Error) => logger.warn({ err: err.message }, 'orphan collection failed'),
        );
      }, Math.max(60_000, config.limits.orphanBlobAgeMs / 4));
      gc.unref();
      cleanups.push(async () => clearInterval(gc));
    }

    let smtp: Ingress | null = null;
    if (config.roles.has('smtp')) {
      const sharedLimits = new SharedLimits(database.db, {
        perMinutePerDomain: config.limits.messagesPerMinutePerDomain,
        maxPerCertificate: config.limits.maxConnectionsPerCertificate,
        roles: [...config.roles].join(','),
        logger: logger.child({ part: 'limits' }),
      });
      await sharedLimits.start();
      cleanups.push(() => sharedLimits.stop());
      smtp = await startIngress({
        sharedLimits,
        host: config.smtp.host,
        port: config.smtp.port,
        hostname: config.smtp.hostname,
        patientDomain: config.patientDomain,
        tls: {
          key: await fs.readFile(path.join(config.pkiDir, 'server.key')),
          cert: await fs.readFile(path.join(config.pkiDir, 'server.crt')),
          ca: peerTrust.ca,
          crl: crls?.current(),
        },
        limits: config.limits,
        db: database.db,
        blobs,
        whitelist,
        onAccepted: (_id, bytes, seconds) => {
          metrics.smtpAccepted(bytes, seconds);
          metrics.smtpReply(250, 'GW-DATA-00');
          relay?.kick();
        },
        onRefused: (code, suffix) => metrics.smtpReply(code, suffix),
        logger,
      });
      const s = smtp;
      cleanups.push(() => s.close());
      crls?.onChange((crl) => s.updateCrl(crl));
    }
    if (crls) {
      crls.start(config.limits.crlReloadMs);
      cleanups.push(() => crls.stop());
    }

    let api: FastifyInstance | null = null;
    let organisationApi: FastifyInstance | null = null;
    if (config.roles.has('api')) {
      const adminToken = await ensureAdminToken(config.adminTokenFile);
      if (config.pro.usesDevIssuer) ensureDevIssuer(config.pro.devIssuerDir, config.pro.issuer);
      let proJwks = JSON.parse(await fs.readFile(config.pro.jwksFile, 'utf8')) as { keys: JsonWebKey[] };
      const jwksReload = setInterval(() => {
        fs.readFile(config.pro.jwksFile, 'utf8').then(
          (t) => (proJwks = JSON.parse(t) as { keys: JsonWebKey[] }),
          (err: Error) => logger.error({ err: err.message }, 'JWKS reload failed; keeping the last good copy'),
        );
      }, 600_000);
      jwksReload.unref();
      cleanups.push(async () => clearInterval(jwksReload));
      const apiCtx: ApiContext = {
        config,
        db: database.db,
        keyring,
        blobs,
        notifier,
        adminToken,
        metrics: metrics.registry,
        isMssanteDomain,
        reportDeps,
        kickOutbox: () => relay?.kick(),
        proJwks: () => proJwks,
        scanner,
        ready,
      };
      api = await buildApi(apiCtx, logger);
      await api.listen({ host: config.api.host, port: config.api.port });
      const a = api;
      cleanups.push(() => a.close());
      if (config.organisations.mtlsPort !== null) {
        const orgTls: OrganisationTls = {
          key: await fs.readFile(path.join(config.pkiDir, 'server.key')),
          cert: await fs.readFile(path.join(config.pkiDir, 'server.crt')),
          ca: peerTrust.ca,
          crl: crls?.current(),
        };
        organisationApi = await buildOrganisationApi(apiCtx, logger, orgTls);
        await organisationApi.listen({ host: config.api.host, port: config.organisations.mtlsPort });
        const o = organisationApi;
        cleanups.push(() => o.close());
        crls?.onChange((crl) => updateOrganisationCrl(o, orgTls, crl));
      }
    }

    if (!api) {
      // SMTP-only and worker-only processes: /health, /ready and /metrics on API_HOST:API_PORT all the same.
      api = await startStatusServer(config.api.host, config.api.port, { ready, metrics: metrics.registry });
      const a = api;
      cleanups.push(() => a.close());
    }

    const apiAddress = api?.server.address();
    return {
      config,
      database,
      keyring,
      blobs,
      smtpPort: smtp?.port ?? null,
      apiPort: apiAddress && typeof apiAddress === 'object' ? apiAddress.port : null,
      organisationApiPort: portOf(organisationApi),
      relay,
      queue,
      logger,
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

function portOf(app: FastifyInstance | null): number | null {
  const a = app?.server.address();
  return a && typeof a === 'object' ? a.port : null;
}
