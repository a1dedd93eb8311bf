// Fair scheduling: a delivery's priority is its position in its sender's backlog, so senders are served
// round robin whatever the size of one sender's batch.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fairPriorities, MAX_PRIORITY, type QueuedDelivery } from '../../../mailbox/rules/index.js';

const d = (id: string, sender: string | null): QueuedDelivery => ({ id, sender });

describe('fairPriorities', () => {
  it("puts a GP's single message at the front while a hospital has thousands queued", () => {
    const queued = new Map([['hospital', 3001], ['gp', 1]]);
    const [hospitalNext, gp] = fairPriorities([d('h3001', 'hospital'), d('g1', 'gp')], queued);
    expect(gp).toBe(1);
    expect(hospitalNext).toBe(3001);
  });

  it('numbers a sender\'s batch after what it already has queued', () => {
    expect(fairPriorities([d('a', 's'), d('b', 's'), d('c', 's')], new Map([['s', 10]]))).toEqual([8, 9, 10]);
  });

  it('treats deliveries without a recorded sender as one backlog, and never goes below 1 or above the BullMQ maximum', () => {
    expect(fairPriorities([d('a', null), d('b', null)], new Map())).toEqual([1, 2]);
    expect(fairPriorities([d('a', 's')], new Map([['s', 10_000_000]]))).toEqual([MAX_PRIORITY]);
  });

  it('serves senders round robin: the k-th delivery of every sender comes before the (k+1)-th of any', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { minLength: 1, maxLength: 200 }), (senders) => {
        const batch = senders.map((s, i) => d(String(i), s));
        const counts = new Map<string, number>();
        for (const s of senders) counts.set(s, (counts.get(s) ?? 0) + 1);
        const p = fairPriorities(batch, counts);
        const seen = new Map<string, number>();
        senders.forEach((s, i) => {
          const k = (seen.get(s) ?? 0) + 1;
          seen.set(s, k);
          expect(p[i]).toBe(k);
        });
      }),
    );
  });
});
