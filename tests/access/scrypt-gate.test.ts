// The scrypt gate (access/scrypt-gate.ts): a bounded number of hashes at once, a bounded queue for requests
// (beyond it: ScryptBusy at once), background work always queued and served after interactive work.
import { describe, expect, it } from 'vitest';
import { ScryptBusy, WorkGate } from '../../access/scrypt-gate.js';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('WorkGate', () => {
  it('runs at most `concurrency` at once, queues `maxWaiting`, refuses the rest at once', async () => {
    const gate = new WorkGate(2, 1);
    const started: number[] = [];
    const d = [deferred(), deferred(), deferred()];
    const runs = d.map((x, i) => gate.run(async () => (started.push(i), x.promise)));
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    expect(gate.load).toEqual({ running: 2, waiting: 1 });
    await expect(gate.run(async () => 'never')).rejects.toBeInstanceOf(ScryptBusy);
    d[0]!.resolve();
    await runs[0];
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1, 2]);
    expect(gate.load).toEqual({ running: 2, waiting: 0 });
    d[1]!.resolve();
    d[2]!.resolve();
    await Promise.all(runs);
    expect(gate.load).toEqual({ running: 0, waiting: 0 });
  });

  it('releases the slot when the work fails', async () => {
    const gate = new WorkGate(1, 0);
    await expect(gate.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(gate.run(async () => 'ok')).resolves.toBe('ok');
  });

  it('always queues background work and hands freed slots to waiting requests first', async () => {
    const gate = new WorkGate(1, 1);
    const order: string[] = [];
    const first = deferred();
    const running = gate.run(() => first.promise);
    const bg = [1, 2, 3].map((i) => gate.run(async () => void order.push(`import-${i}`), { background: true }));
    const login = gate.run(async () => void order.push('login'));
    first.resolve();
    await Promise.all([running, login, ...bg]);
    expect(order).toEqual(['login', 'import-1', 'import-2', 'import-3']);
  });
});
