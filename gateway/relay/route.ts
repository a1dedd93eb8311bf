/**
 * Where a message for a domain goes: the static route table first (development, tests, or an operator who
 * must pin a peer), else DNS MX records (RFC 5321 §5.1).
 *
 * Guarantees:
 * - The result is never empty: either an ordered list of destinations or a thrown relay error.
 * - MX records are sorted by preference; records of equal preference are shuffled (RFC 5321 §5.1 "SHOULD
 *   pick one at random to spread the load"); duplicates are removed; port 25.
 * - No MX at all (NODATA) → the domain itself is the destination if it has an A or AAAA record (implicit MX).
 * - A null MX (RFC 7505, a single record with exchange ".") means "this domain accepts no mail".
 * - Host names are returned, not addresses: the SMTP client resolves them (and tries every address), and
 *   the TLS SNI names the host. Trust never depends on these names anyway: it rests on the whitelist DN.
 *
 * Failure semantics: NXDOMAIN (ENOTFOUND), a null MX, a domain with neither MX nor address, or a syntactically
 * invalid domain throw `PermanentRelayError` (category 'dns' or 'routing'): no retry can help. Every other DNS
 * failure (SERVFAIL, timeout, refused, network) throws `TemporaryRelayError` (category 'dns'): the caller
 * retries per the schedule.
 */
import dns from 'node:dns';
import type { RelayDestination } from '../../config/index.js';
import { PermanentRelayError, TemporaryRelayError } from './errors.js';

export interface MxRecordLike {
  exchange: string;
  priority: number;
}

/** The part of `dns.promises` used here; tests inject a fake. */
export interface DnsResolver {
  resolveMx(hostname: string): Promise<MxRecordLike[]>;
  resolve4(hostname: string): Promise<string[]>;
  resolve6(hostname: string): Promise<string[]>;
}

export const SMTP_PORT = 25;

const DOMAIN_RE = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

const errCode = (err: unknown): string | undefined =>
  typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : undefined;

function normalizeHost(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

function shuffleTies(records: MxRecordLike[], random: () => number): MxRecordLike[] {
  const keyed = records.map((r) => ({ r, k: random() }));
  keyed.sort((a, b) => a.r.priority - b.r.priority || a.k - b.k);
  return keyed.map((x) => x.r);
}

/**
 * Ordered destinations for `domain`. `routes` comes from `parseRoutes(RELAY_ROUTES)`; `random` only breaks
 * ties between MX records of equal preference.
 */
export async function resolveDestination(
  domain: string,
  routes: Map<string, RelayDestination>,
  resolver: DnsResolver = dns.promises,
  random: () => number = Math.random,
): Promise<RelayDestination[]> {
  const name = normalizeHost(domain);
  if (!DOMAIN_RE.test(name)) {
    throw new PermanentRelayError(`Invalid destination domain "${domain}"`, 'routing');
  }
  const route = routes.get(name);
  if (route) return [{ host: route.host, port: route.port }];

  let mx: MxRecordLike[];
  try {
    mx = await resolver.resolveMx(name);
  } catch (err) {
    const code = errCode(err);
    if (code === dns.NOTFOUND) {
      throw new PermanentRelayError(`Domain ${name} does not exist (NXDOMAIN)`, 'dns', { cause: err });
    }
    if (code !== dns.NODATA) {
      throw new TemporaryRelayError(`MX lookup for ${name} failed (${code ?? 'unknown error'})`, 'dns', { cause: err });
    }
    mx = [];
  }

  if (mx.length > 0) {
    const real = mx.filter((r) => normalizeHost(r.exchange) !== '');
    if (real.length === 0) {
      throw new PermanentRelayError(`Domain ${name} accepts no mail (null MX, RFC 7505)`, 'dns');
    }
    const seen = new Set<string>();
    const out: RelayDestination[] = [];
    for (const record of shuffleTies(real, random)) {
      const host = normalizeHost(record.exchange);
      if (seen.has(host)) continue;
      seen.add(host);
      out.push({ host, port: SMTP_PORT });
    }
    return out;
  }

  // RFC 5321 §5.1: no MX → the domain is its own implicit MX, if it has an address.
  const [v4, v6] = await Promise.allSettled([resolver.resolve4(name), resolver.resolve6(name)]);
  const found = [v4, v6].some((r) => r.status === 'fulfilled' && r.value.length > 0);
  if (found) return [{ host: name, port: SMTP_PORT }];
  const codes = [v4, v6].map((r) => (r.status === 'rejected' ? errCode(r.reason) : dns.NODATA));
  const transient = [v4, v6].find((r) => r.status === 'rejected' && errCode(r.reason) !== dns.NODATA && errCode(r.reason) !== dns.NOTFOUND);
  if (transient) {
    throw new TemporaryRelayError(`Address lookup for ${name} failed (${codes.join(', ')})`, 'dns', {
      cause: (transient as PromiseRejectedResult).reason,
    });
  }
  if (codes.includes(dns.NOTFOUND)) {
    throw new PermanentRelayError(`Domain ${name} does not exist (NXDOMAIN)`, 'dns');
  }
  throw new PermanentRelayError(`Domain ${name} has no MX and no address record`, 'dns');
}
