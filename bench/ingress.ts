/**
 * SMTP ingress benchmark: `npm run bench -- [options]` (see bench/README.md, or `--help`).
 *
 * What it measures, against a RUNNING gateway (or one it starts with --spawn), over mutual TLS as a listed
 * operator (hopital-a.mssante.fr of the development PKI):
 * - acceptance: N concurrent SMTP sessions (nodemailer pool transports, one connection each, reconnecting
 *   every --per-conn messages) send --count identical-size messages of one recipient each, round-robin over
 *   --patients synthetic patients it provisions first. Per message, the time from sendMail to the
 *   `250 2.0.0 <queue id> ... [GW-DATA-00]` reply, i.e. after the message, its delivery and its outbox row are
 *   committed; msg/s and MB/s over the sending phase.
 * - delivery: the time from the start of sending until the operator API's delivery counts show every
 *   accepted message delivered (visible in its mailbox), polled every 100 ms, and the resulting drain rate.
 * - with --spawn: the gateway's peak resident memory (VmHWM), and that of its children (private redis-server).
 *
 * Limits, to read the figures right:
 * - The client runs on the same machine: its TLS, dot-stuffing and stream work takes CPU from the gateway
 *   (with 2 cores this is a real share). Figures are for this machine only; compare runs, not absolutes.
 * - smtp-server waits a fixed 100 ms before its greeting on every new connection (a defence against clients
 *   that talk first), plus a TLS handshake: the first message of each connection carries that cost, which
 *   shows in p99/max when --per-conn is small.
 * - Delivery counts come from GET /v1/admin/deliveries/stats, which counts ALL deliveries: the run takes a
 *   baseline and waits for older queued work to drain first, but traffic from anyone else during the run
 *   falsifies the delivery figures. Timing granularity of "all visible" is the 100 ms poll.
 * - The gateway limits messages per minute per sending domain (LIMIT_MESSAGES_PER_MINUTE_PER_DOMAIN, 6000 by
 *   default, i.e. 100 msg/s sustained) and sessions per certificate (LIMIT_MAX_CONNECTIONS_PER_CERT, 50):
 *   beyond them the gateway answers 451 GW-MAIL-05 / 421 GW-CONN-02, counted here as refusals. With --spawn
 *   the child inherits the environment, so such limits can be raised for a run.
 * - Everything is bounded by --timeout-s: sending stops, waiting stops, a spawned gateway is stopped, and a
 *   watchdog exits the process shortly after in any case.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import nodemailer from 'nodemailer';
import { OperatorApi, type DeliveryStats } from './api.js';
import { buildMessage } from './message.js';
import { parseOptions, usage, UsageError, type BenchOptions } from './options.js';
import { latencySummary, table, type Figures } from './report.js';
import { spawnGateway, type MemoryReport, type SpawnedGateway } from './spawn.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

class DeadlineError extends Error {}

interface SendOutcome {
  sent: number;
  accepted: number;
  refused: number;
  errorsByCode: Record<string, number>;
  firstErrors: string[];
  latencies: Float64Array;
  wallMs: number;
  messageBytes: number;
  attachmentBytes: number;
}

function readPki(o: BenchOptions): { ca: Buffer; cert: Buffer; key: Buffer } {
  const pki = path.join(o.dataDir, 'pki');
  const files = { ca: path.join(pki, 'ca.crt'), cert: path.join(pki, 'operators', `${o.operator}.crt`), key: path.join(pki, 'operators', `${o.operator}.key`) };
  for (const f of Object.values(files)) {
    if (!fs.existsSync(f)) throw new Error(`${f} not found: is --data-dir the running gateway's DATA_DIR (development PKI)?`);
  }
  return { ca: fs.readFileSync(files.ca), cert: fs.readFileSync(files.cert), key: fs.readFileSync(files.key) };
}

async function sendAll(o: BenchOptions, recipients: string[], deadline: number): Promise<SendOutcome> {
  const tls = readPki(o);
  const msg = buildMessage({ targetBytes: o.size, senderDomain: o.operator, runId: crypto.randomBytes(4).toString('hex') });
  const from = `bench@${o.operator}`;
  const latencies = new Float64Array(o.count);
  let next = 0;
  let sent = 0;
  let accepted = 0;
  let refused = 0;
  const errorsByCode: Record<string, number> = {};
  const firstErrors: string[] = [];
  const recordError = (err: unknown) => {
    const e = err as { responseCode?: number; code?: string; response?: string; message?: string };
    const key = e instanceof DeadlineError ? 'timeout' : e.responseCode ? String(e.responseCode) : (e.code ?? 'error');
    errorsByCode[key] = (errorsByCode[key] ?? 0) + 1;
    const text = (e.response ?? e.message ?? String(err)).replace(/\s+/g, ' ').slice(0, 300);
    if (firstErrors.length < 5 && !firstErrors.includes(text)) firstErrors.push(text);
  };

  let deadlineTimer: NodeJS.Timeout | undefined;
  const deadlineP = new Promise<never>((_, reject) => {
    deadlineTimer = setTimeout(() => reject(new DeadlineError(`--timeout-s reached while sending`)), Math.max(0, deadline - Date.now()));
  });
  let timedOut = false;
  deadlineP.catch(() => (timedOut = true)); // also marks the rejection handled

  const worker = async () => {
    const transport = nodemailer.createTransport({
      pool: true,
      maxConnections: 1,
      maxMessages: o.perConn,
      host: o.smtpHost,
      port: o.smtpPort,
      secure: false,
      requireTLS: true,
      name: `bench.${o.operator}`,
      tls: { ca: tls.ca, cert: tls.cert, key: tls.key, servername: 'localhost' },
      connectionTimeout: 30_000,
      greetingTimeout: 30_000,
      socketTimeout: 120_000,
    });
    transport.on('error', recordError);
    try {
      while (!timedOut) {
        const i = next++;
        if (i >= o.count) break;
        sent++;
        const t0 = performance.now();
        try {
          const info = await Promise.race([
            transport.sendMail({ envelope: { from, to: [recipients[i % recipients.length]!] }, raw: msg.stream(i) }),
            deadlineP,
          ]);
          const dt = performance.now() - t0;
          if (/^250[ -]/.test(info.response)) latencies[accepted++] = dt;
          else {
            refused++;
            recordError({ code: 'unexpected-reply', response: info.response });
          }
        } catch (err) {
          refused++;
          recordError(err);
        }
      }
    } finally {
      transport.close();
    }
  };

  const started = performance.now();
  const progress = setInterval(
    () => log(`${((performance.now() - started) / 1000).toFixed(1)} s: ${sent}/${o.count} sent, ${accepted} accepted, ${refused} refused`),
    5_000,
  );
  try {
    await Promise.all(Array.from({ length: Math.min(o.sessions, o.count) }, worker));
  } finally {
    clearInterval(progress);
    clearTimeout(deadlineTimer);
  }
  const wallMs = performance.now() - started;
  return {
    sent,
    accepted,
    refused,
    errorsByCode,
    firstErrors,
    latencies: latencies.subarray(0, accepted),
    wallMs,
    messageBytes: msg.bytes,
    attachmentBytes: msg.attachmentBytes,
  };
}

async function waitForQuiet(api: OperatorApi, deadline: number): Promise<DeliveryStats> {
  let s = await api.stats();
  if (s.queued === 0) return s;
  log(`${s.queued} deliveries from earlier traffic are still queued: waiting (at most 60 s) for them to drain`);
  const until = Math.min(deadline, Date.now() + 60_000);
  while (s.queued > 0 && Date.now() < until) {
    await sleep(200);
    s = await api.stats();
  }
  if (s.queued > 0) log(`warning: ${s.queued} older deliveries still queued; delivery figures will be approximate`);
  return s;
}

async function run(o: BenchOptions, onSpawned: (gw: SpawnedGateway) => void): Promise<Figures> {
  const deadline = Date.now() + o.timeoutS * 1000;
  let gw: SpawnedGateway | null = null;
  let memory: MemoryReport | null = null;
  try {
    if (o.spawn) {
      log(
        `starting the gateway (DATA_DIR=${o.dataDir}, smtp ${o.smtpHost}:${o.smtpPort}, api ${o.apiHost}:${o.apiPort}, ${process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded PostgreSQL'})`,
      );
      gw = await spawnGateway({ ...o, deadline });
      onSpawned(gw);
      log(`gateway pid ${gw.pid} ready; its log: ${gw.logFile}`);
    }
    const tokenFile = path.join(o.dataDir, 'admin.token');
    if (!fs.existsSync(tokenFile)) throw new Error(`${tokenFile} not found: is --data-dir the running gateway's DATA_DIR?`);
    const api = new OperatorApi(o.apiHost, o.apiPort, fs.readFileSync(tokenFile, 'utf8').trim());

    const inses = OperatorApi.patientInses(o.patients);
    const imp = await api.importPatients(inses);
    log(`patients: ${imp.created} created, ${imp.updated} updated`);
    const recipients = inses.map((ins) => `${ins}@patient.mssante.fr`);

    const base = await waitForQuiet(api, deadline);
    gw?.markSendStart();
    log(`sending ${o.count} messages of ~${o.sizeLabel} over ${o.sessions} sessions (${o.perConn} per connection)`);
    const t0 = performance.now();
    const out = await sendAll(o, recipients, deadline);

    let deliveredAtSendEnd: number | null = null;
    let last: DeliveryStats = base;
    try {
      last = await api.stats();
      deliveredAtSendEnd = last.delivered - base.delivered;
    } catch (err) {
      log(`stats after sending failed: ${(err as Error).message}`);
    }
    let visibleAt: number | null = null;
    if (out.accepted > 0) {
      log(`sending done in ${(out.wallMs / 1000).toFixed(2)} s; waiting for ${out.accepted} deliveries`);
      let lastErr = '';
      for (;;) {
        const d = last.delivered - base.delivered;
        if (d >= out.accepted) {
          visibleAt = performance.now();
          break;
        }
        if (d + (last.failed - base.failed) >= out.accepted || Date.now() >= deadline) break;
        await sleep(100);
        try {
          last = await api.stats(Math.max(1, Math.min(5_000, deadline - Date.now())));
        } catch (err) {
          if ((err as Error).message !== lastErr) log(`stats: ${(lastErr = (err as Error).message)}`);
        }
      }
    }
    if (gw) {
      memory = await gw.stop();
      gw = null;
    }
    const delivered = last.delivered - base.delivered;
    const failed = last.failed - base.failed;
    const timeToVisibleS = visibleAt === null ? null : (visibleAt - t0) / 1000;
    const sendS = out.wallMs / 1000;
    return {
      target: { smtp: `${o.smtpHost}:${o.smtpPort}`, api: `${o.apiHost}:${o.apiPort}`, spawned: o.spawn },
      size: { requested: o.sizeLabel, messageBytes: out.messageBytes, attachmentBytes: out.attachmentBytes },
      sessions: o.sessions,
      perConn: o.perConn,
      count: o.count,
      patients: o.patients,
      sent: out.sent,
      accepted: out.accepted,
      refused: out.refused,
      errorsByCode: out.errorsByCode,
      firstErrors: out.firstErrors,
      sendWallS: Math.round(sendS * 1000) / 1000,
      msgPerS: Math.round((out.accepted / sendS) * 10) / 10,
      mbPerS: Math.round(((out.accepted * out.messageBytes) / 1e6 / sendS) * 100) / 100,
      latencyMs: latencySummary(out.latencies),
      deliveredAtSendEnd,
      delivered,
      failed,
      stillQueued: last.queued,
      timeToVisibleS: timeToVisibleS === null ? null : Math.round(timeToVisibleS * 1000) / 1000,
      drainMsgPerS: timeToVisibleS === null ? null : Math.round((delivered / timeToVisibleS) * 10) / 10,
      memory,
      ok: out.accepted === o.count && visibleAt !== null && failed === 0,
    };
  } finally {
    if (gw) await gw.stop(10_000);
  }
}

async function main(): Promise<number> {
  let o: BenchOptions | null;
  try {
    o = parseOptions(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }
  if (!o) {
    console.log(usage());
    return 0;
  }
  let spawned: SpawnedGateway | null = null;
  // Whatever happens, the process ends: a watchdog a minute after the overall bound, and signals.
  const watchdog = setTimeout(
    () => {
      log('watchdog: --timeout-s exceeded by 60 s, exiting');
      spawned?.killNow();
      process.exit(1);
    },
    o.timeoutS * 1000 + 60_000,
  );
  watchdog.unref();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      log(`${sig}: stopping`);
      spawned?.killNow();
      process.exit(130);
    });
  }
  try {
    const f = await run(o, (gw) => (spawned = gw));
    console.log(table(f));
    if (o.json) console.log(JSON.stringify(f));
    return f.ok ? 0 : 1;
  } catch (err) {
    console.error(`bench: ${(err as Error).message}`);
    return 1;
  }
}

process.exit(await main());
