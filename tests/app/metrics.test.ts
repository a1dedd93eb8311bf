// GET /metrics (API_EXPOSE=metrics) of a whole gateway (harness, real PostgreSQL, real clamd, a real operator SMTP
// server with mutual TLS): Node's default metrics under their standard names, the project's under mesgw_, queue
// depth per queue, the outbound relay's outcomes, the scanner's state and verdicts, the whitelist's age.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestIns } from '../../access/rules/ins.js';
import { EICAR, startClamd, type ClamdHandle } from '../support/clamd.js';
import { importPatientsCsv, sendMail, startTestGateway, waitFor, type TestGateway } from '../support/harness.js';
import { startOperatorSink, type OperatorSink } from '../support/operator-sink.js';
import { makePdf } from '../support/pdf.js';
import { freePort } from '../support/ports.js';

let t: TestGateway;
let clamd: ClamdHandle;
let sink: OperatorSink;
const ins = makeTestIns(880_401);

beforeAll(async () => {
  clamd = await startClamd();
  const sinkPort = await freePort();
  t = await startTestGateway({
    env: {
      API_EXPOSE: 'metrics',
      CLAMD_ADDRESS: `127.0.0.1:${clamd.port}`,
      RELAY_ROUTES: `hopital-a.mssante.fr=127.0.0.1:${sinkPort}`,
      RELAY_RETRY_SCHEDULE_MS: '300,300,300',
      LIMIT_MAX_ATTACHMENTS: '2', // a message with more is refused by the worker after 250: a DSN goes out
    },
  });
  sink = await startOperatorSink(t.pki, sinkPort);
  await importPatientsCsv(
    t,
    `ins,family_name,given_names,birth_date,email,state,provisional_code\n${ins},TEST-METRICS,Mia,1980-02-02,mia@example.org,created,\n`,
  );
}, 120_000);
afterAll(async () => {
  await t?.close();
  await sink?.close();
  await clamd?.stop();
});

const scrape = async () => {
  const res = await fetch(`http://127.0.0.1:${t.gw.apiPort}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
};
/** The value of one sample (`name{labels}` exactly as exposed), or null when absent. */
const sample = (text: string, series: string): number | null => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : null;
};
const send = (attachments: { filename: string; content: Buffer; contentType?: string }[], subject: string) =>
  sendMail({
    port: t.gw.smtpPort!,
    pki: t.pki,
    cert: 'hopital-a.mssante.fr',
    from: 'dr.metrics@hopital-a.mssante.fr',
    to: [`${ins}@patient.mssante.fr`],
    subject,
    attachments,
  });

describe('/metrics', () => {
  it("carries Node's default metrics under their standard names and the project's under mesgw_", async () => {
    const text = await scrape();
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
      expect(text).toMatch(new RegExp(`^${name} `, 'm'));
    }
    expect(text).not.toMatch(/^mesgw_(process|nodejs)_/m);
    expect(sample(text, 'mesgw_whitelist_age_seconds')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'mesgw_pro_jwks_age_seconds')).toBeGreaterThanOrEqual(0);
    expect(text).toMatch(/^# TYPE mesgw_smtp_replies_total counter/m);
  });

  it('counts scanner verdicts and relay outcomes, and reports the scanner down when clamd stops', async () => {
    const pdf = { filename: 'cr.pdf', content: makePdf(['Compte rendu']), contentType: 'application/pdf' };
    expect((await send([pdf], 'clean')).ok).toBe(true);
    expect((await send([{ filename: 'eicar.pdf', content: EICAR, contentType: 'application/pdf' }], 'infected')).ok).toBe(true);
    sink.script = ['451 4.3.0 busy, try later']; // the DSN's first attempt is deferred, the second accepted
    expect((await send([pdf, pdf, pdf], 'too many attachments')).ok).toBe(true);
    await waitFor(async () => sink.received.length === 1, 30_000, 'the DSN at the operator');
    const text = await waitFor(
      async () => {
        const s = await scrape();
        return sample(s, 'mesgw_relay_outcomes_total{outcome="sent"}') === 1 ? s : null;
      },
      10_000,
      'the relay outcome counted',
    );
    expect(sample(text, 'mesgw_relay_outcomes_total{outcome="deferred"}')).toBe(1);
    expect(sample(text, 'mesgw_relay_outcomes_total{outcome="failed"}')).toBe(0);
    expect(sample(text, 'mesgw_scanner_scans_total{verdict="clean"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'mesgw_scanner_scans_total{verdict="infected"}')).toBe(1);
    expect(sample(text, 'mesgw_scanner_up')).toBe(1);
    expect(sample(text, 'mesgw_delivery_seconds_count{outcome="failed-permanently"}')).toBe(1);

    await clamd.stop();
    expect(sample(await scrape(), 'mesgw_scanner_up')).toBe(0);
  }, 90_000);

  it('gives the depth of each queue and its jobs by state', async () => {
    const before = await scrape();
    expect(sample(before, 'mesgw_queue_depth{queue="inbound-delivery"}')).toBe(0);
    expect(sample(before, 'mesgw_queue_depth{queue="outbound-delivery"}')).toBe(0);
    // A job due in an hour waits in the inbound queue (no delivery ids: nothing to do when it runs).
    await t.gw.queue.add('later', { deliveryIds: [] } as never, { delay: 3_600_000 });
    const after = await scrape();
    expect(sample(after, 'mesgw_queue_depth{queue="inbound-delivery"}')).toBe(1);
    expect(sample(after, 'mesgw_queue_jobs{queue="inbound-delivery",state="delayed"}')).toBe(1);
    expect(sample(after, 'mesgw_queue_jobs{queue="outbound-delivery",state="waiting"}')).toBe(0);
    expect(sample(after, 'mesgw_queue_depth{queue="outbound-delivery"}')).toBe(0);
  });
});
