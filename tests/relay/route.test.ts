// resolveDestination with an injected fake resolver: pure routing logic, no network.
import { describe, expect, it } from 'vitest';
import { parseRoutes } from '../../config/relay.js';
import { PermanentRelayError, TemporaryRelayError, resolveDestination, type DnsResolver, type MxRecordLike } from '../../gateway/relay/index.js';

const dnsError = (code: string): Error => Object.assign(new Error(`query ${code}`), { code });

type Answer<T> = T | Error;

function fakeResolver(zone: {
  mx?: Record<string, Answer<MxRecordLike[]>>;
  a?: Record<string, Answer<string[]>>;
  aaaa?: Record<string, Answer<string[]>>;
}): DnsResolver & { queries: string[] } {
  const queries: string[] = [];
  const answer = async <T>(kind: string, table: Record<string, Answer<T>> | undefined, name: string): Promise<T> => {
    queries.push(`${kind} ${name}`);
    const value = table?.[name];
    if (value === undefined) throw dnsError('ENOTFOUND');
    if (value instanceof Error) throw value;
    return value;
  };
  return {
    queries,
    resolveMx: (name) => answer('MX', zone.mx, name),
    resolve4: (name) => answer('A', zone.a, name),
    resolve6: (name) => answer('AAAA', zone.aaaa, name),
  };
}

const noRoutes = new Map<string, { host: string; port: number }>();

describe('resolveDestination', () => {
  it('uses the static route without asking DNS (domain matched case-insensitively)', async () => {
    const resolver = fakeResolver({});
    const routes = parseRoutes('hopital-a.mssante.fr=127.0.0.1:2526');
    expect(await resolveDestination('Hopital-A.MSSante.fr.', routes, resolver)).toEqual([{ host: '127.0.0.1', port: 2526 }]);
    expect(resolver.queries).toEqual([]);
  });

  it('sorts MX records by preference, port 25, dropping duplicates and trailing dots', async () => {
    const resolver = fakeResolver({
      mx: {
        'hopital-a.mssante.fr': [
          { exchange: 'mx3.hopital-a.mssante.fr', priority: 30 },
          { exchange: 'MX1.hopital-a.mssante.fr.', priority: 10 },
          { exchange: 'mx2.hopital-a.mssante.fr', priority: 20 },
          { exchange: 'mx1.hopital-a.mssante.fr', priority: 40 },
        ],
      },
    });
    expect(await resolveDestination('hopital-a.mssante.fr', noRoutes, resolver)).toEqual([
      { host: 'mx1.hopital-a.mssante.fr', port: 25 },
      { host: 'mx2.hopital-a.mssante.fr', port: 25 },
      { host: 'mx3.hopital-a.mssante.fr', port: 25 },
    ]);
  });

  it('shuffles records of equal preference with the given random source', async () => {
    const mx = {
      'x.mssante.fr': [
        { exchange: 'a.x.mssante.fr', priority: 10 },
        { exchange: 'b.x.mssante.fr', priority: 10 },
        { exchange: 'backup.x.mssante.fr', priority: 50 },
      ],
    };
    let n = 0;
    const descending = () => [0.9, 0.1, 0.5][n++ % 3]!;
    const hosts = (await resolveDestination('x.mssante.fr', noRoutes, fakeResolver({ mx }), descending)).map((d) => d.host);
    expect(hosts).toEqual(['b.x.mssante.fr', 'a.x.mssante.fr', 'backup.x.mssante.fr']);
    n = 0;
    const ascending = () => [0.1, 0.9, 0.5][n++ % 3]!;
    const again = (await resolveDestination('x.mssante.fr', noRoutes, fakeResolver({ mx }), ascending)).map((d) => d.host);
    expect(again).toEqual(['a.x.mssante.fr', 'b.x.mssante.fr', 'backup.x.mssante.fr']);
  });

  it('falls back to the domain itself when there is no MX but an address (implicit MX)', async () => {
    for (const zone of [
      { mx: { 'lab.mssante.fr': dnsError('ENODATA') }, a: { 'lab.mssante.fr': ['192.0.2.10'] }, aaaa: { 'lab.mssante.fr': dnsError('ENODATA') } },
      { mx: { 'lab.mssante.fr': [] }, a: { 'lab.mssante.fr': dnsError('ENODATA') }, aaaa: { 'lab.mssante.fr': ['2001:db8::10'] } },
    ]) {
      expect(await resolveDestination('lab.mssante.fr', noRoutes, fakeResolver(zone))).toEqual([{ host: 'lab.mssante.fr', port: 25 }]);
    }
  });

  it('NXDOMAIN is permanent', async () => {
    const err = await resolveDestination('nowhere.mssante.fr', noRoutes, fakeResolver({})).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentRelayError);
    expect(err).toMatchObject({ action: 'permanent', category: 'dns', message: expect.stringMatching(/does not exist/) });
  });

  it('no MX and no address is permanent; a null MX is permanent', async () => {
    const none = fakeResolver({
      mx: { 'empty.mssante.fr': dnsError('ENODATA') },
      a: { 'empty.mssante.fr': dnsError('ENODATA') },
      aaaa: { 'empty.mssante.fr': [] },
    });
    await expect(resolveDestination('empty.mssante.fr', noRoutes, none)).rejects.toThrow(/no MX and no address/);
    await expect(resolveDestination('empty.mssante.fr', noRoutes, none)).rejects.toBeInstanceOf(PermanentRelayError);
    const nullMx = fakeResolver({ mx: { 'nomail.mssante.fr': [{ exchange: '', priority: 0 }] } });
    await expect(resolveDestination('nomail.mssante.fr', noRoutes, nullMx)).rejects.toThrow(/null MX/);
  });

  it('other DNS failures are temporary', async () => {
    for (const code of ['ESERVFAIL', 'ETIMEOUT', 'ECONNREFUSED', 'EREFUSED']) {
      const err = await resolveDestination('hopital-a.mssante.fr', noRoutes, fakeResolver({ mx: { 'hopital-a.mssante.fr': dnsError(code) } })).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(TemporaryRelayError);
      expect(err).toMatchObject({ action: 'temporary', category: 'dns', message: expect.stringContaining(code) });
    }
    // No MX, and the address lookups fail for a transient reason: temporary too.
    const flaky = fakeResolver({
      mx: { 'lab.mssante.fr': dnsError('ENODATA') },
      a: { 'lab.mssante.fr': dnsError('ETIMEOUT') },
      aaaa: { 'lab.mssante.fr': dnsError('ENODATA') },
    });
    await expect(resolveDestination('lab.mssante.fr', noRoutes, flaky)).rejects.toBeInstanceOf(TemporaryRelayError);
  });

  it('refuses an invalid domain permanently, without a DNS query', async () => {
    const resolver = fakeResolver({});
    for (const bad of ['', 'localhost', 'a..b', 'x y.fr', '-a.fr']) {
      await expect(resolveDestination(bad, noRoutes, resolver)).rejects.toBeInstanceOf(PermanentRelayError);
    }
    expect(resolver.queries).toEqual([]);
  });
});
