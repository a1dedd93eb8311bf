/**
 * The two operator API calls the benchmark needs: provisioning its synthetic patients and reading the
 * delivery counts. Every request carries its own timeout.
 */
import { makeTestIns } from '../access/index.js';

export const FIRST_SEED = 500_000;

export interface DeliveryStats {
  queued: number;
  delivered: number;
  failed: number;
}

/** fetch, with a network failure turned into a message that says where and what to check. */
async function call(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why = e.name === 'TimeoutError' ? 'timed out' : (e.cause?.code ?? e.cause?.message ?? e.message);
    throw new Error(`${init.method ?? 'GET'} ${url}: ${why} (is the gateway running with this API address?)`);
  }
}

export class OperatorApi {
  private readonly base: string;
  constructor(
    host: string,
    port: number,
    private readonly token: string,
  ) {
    this.base = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  /** The recipients' INS: makeTestIns(seed) for seeds FIRST_SEED .. FIRST_SEED + n - 1. */
  static patientInses(n: number): string[] {
    return Array.from({ length: n }, (_, k) => makeTestIns(FIRST_SEED + k));
  }

  /** Imports (or updates) the benchmark's patients in state `created`; returns the API's {created, updated}. */
  async importPatients(inses: string[]): Promise<{ created: number; updated: number }> {
    const rows = inses.map((ins, k) => `${ins},BANC-ESSAI,Patient,1980-01-01,bench.${FIRST_SEED + k}@example.org,created,`);
    const csv = ['ins,family_name,given_names,birth_date,email,state,provisional_code', ...rows].join('\n');
    const res = await call(`${this.base}/v1/admin/patients/import`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', authorization: `Bearer ${this.token}` },
      body: csv,
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`patient import answered ${res.status}: ${text.slice(0, 500)}`);
    return JSON.parse(text) as { created: number; updated: number };
  }

  async stats(timeoutMs = 5_000): Promise<DeliveryStats> {
    const res = await call(`${this.base}/v1/admin/deliveries/stats`, {
      method: 'GET',
      headers: { authorization: `Bearer ${this.token}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`deliveries/stats answered ${res.status}: ${text.slice(0, 300)}`);
    const b = JSON.parse(text) as Partial<Record<string, number>>;
    return { queued: b.queued ?? 0, delivered: b.delivered ?? 0, failed: b.failed ?? 0 };
  }
}

/** Any HTTP answer (even 401) means the API listens. */
export async function apiAnswers(host: string, port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://${host.includes(':') ? `[${host}]` : host}:${port}/v1/admin/deliveries/stats`, {
      signal: AbortSignal.timeout(1_000),
    });
    await res.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}
