// DestinationLimiter: a per-key async semaphore.
import { describe, expect, it } from 'vitest';
import { DestinationLimiter, destinationKey } from '../../gateway/relay/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('DestinationLimiter', () => {
  it('never runs more than N calls of one key at once, and all of them complete', async () => {
    const limiter = new DestinationLimiter(3);
    let running = 0;
    let peak = 0;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        limiter.run('mx.hopital-a.mssante.fr:25', async () => {
          running += 1;
          peak = Math.max(peak, running);
          await sleep(5 + (i % 4) * 3);
          running -= 1;
          return i;
        }),
      ),
    );
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(peak).toBe(3);
    expect(limiter.active('mx.hopital-a.mssante.fr:25')).toBe(0);
    expect(limiter.waiting('mx.hopital-a.mssante.fr:25')).toBe(0);
  });

  it('keys are independent', async () => {
    const limiter = new DestinationLimiter(1);
    let release!: () => void;
    const blocker = limiter.run('a:25', () => new Promise<void>((r) => (release = r)));
    // Another key runs while a:25 is held; a second a:25 waits.
    await expect(limiter.run('b:25', () => 'b')).resolves.toBe('b');
    let secondA = false;
    const queued = limiter.run('a:25', () => {
      secondA = true;
    });
    // Another key's call going all the way through: had the second a:25 been let in, it would have run by now.
    await expect(limiter.run('b:25', async () => 'b again')).resolves.toBe('b again');
    expect(secondA).toBe(false);
    expect(limiter.waiting('a:25')).toBe(1);
    release();
    await Promise.all([blocker, queued]);
    expect(secondA).toBe(true);
  });

  it('serves waiters in FIFO order and releases the slot when fn throws or rejects', async () => {
    const limiter = new DestinationLimiter(1);
    const order: number[] = [];
    const runs = [
      limiter.run('k', async () => {
        await sleep(5);
        throw new Error('boom');
      }),
      limiter.run('k', () => {
        order.push(1);
        throw new Error('sync boom');
      }),
      limiter.run('k', () => order.push(2)),
      limiter.run('k', () => order.push(3)),
    ];
    const settled = await Promise.allSettled(runs);
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected', 'fulfilled', 'fulfilled']);
    expect(order).toEqual([1, 2, 3]);
    expect(limiter.active('k')).toBe(0);
  });

  it('validates its size and builds host:port keys', () => {
    expect(() => new DestinationLimiter(0)).toThrow(RangeError);
    expect(() => new DestinationLimiter(1.5)).toThrow(RangeError);
    expect(new DestinationLimiter().max).toBeGreaterThanOrEqual(1);
    expect(destinationKey({ host: 'mx.example.fr', port: 25 })).toBe('mx.example.fr:25');
    expect(destinationKey({ host: '::1', port: 2525 })).toBe('[::1]:2525');
  });
});
