// Fair scheduling: a delivery's priority is its position in its sender's backlog, so senders are served
// round robin whatever the size of one sender's batch.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fairPriorities, JOB_MAX_BYTES, JOB_MAX_DELIVERIES, MAX_PRIORITY, planDeliveryJobs, type QueuedDelivery } from '../../../mailbox/rules/index.js';

const d = (id: string, sender: string | null): QueuedDelivery => ({ id, sender });

describe('fairPriorities', () => {
  it("puts a GP's single message at the front while a hospital has thousands queued", () => {
    const queued = new Map([
      ['hospital', 3001],
      ['gp', 1],
    ]);
    const [hospitalNext, gp] = fairPriorities([d('h3001', 'hospital'), d('g1', 'gp')], queued);
    expect(gp).toBe(1);
    expect(hospitalNext).toBe(3001);
  });

  it("numbers a sender's batch after what it already has queued", () => {
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

describe('planDeliveryJobs', () => {
  const sized = (id: string, sender: string | null, size = 10_000) => ({ id, sender, size });

  it('puts a few consecutive deliveries of one sender in a job, never two senders', () => {
    const batch = [sized('h1', 'h'), sized('g1', 'g'), sized('h2', 'h'), sized('h3', 'h')];
    const jobs = planDeliveryJobs(
      batch,
      new Map([
        ['h', 3],
        ['g', 1],
      ]),
    );
    expect(jobs.map((j) => j.deliveryIds)).toEqual([['h1', 'h2', 'h3'], ['g1']]);
    expect(jobs.map((j) => j.priority)).toEqual([1, 1]);
  });

  it('cuts at JOB_MAX_DELIVERIES and at JOB_MAX_BYTES; a large message travels alone', () => {
    const many = Array.from({ length: JOB_MAX_DELIVERIES + 3 }, (_, i) => sized(`d${i}`, 's'));
    expect(planDeliveryJobs(many, new Map([['s', many.length]])).map((j) => j.deliveryIds.length)).toEqual([JOB_MAX_DELIVERIES, 3]);
    const big = [sized('a', 's', JOB_MAX_BYTES + 1), sized('b', 's', JOB_MAX_BYTES / 2), sized('c', 's', JOB_MAX_BYTES / 2), sized('d', 's', 1)];
    expect(planDeliveryJobs(big, new Map()).map((j) => j.deliveryIds)).toEqual([['a'], ['b', 'c'], ['d']]);
  });

  it("gives a GP's job priority 1 while a hospital's backlog is thousands deep", () => {
    const jobs = planDeliveryJobs(
      [sized('h', 'hospital'), sized('g', 'gp')],
      new Map([
        ['hospital', 3000],
        ['gp', 1],
      ]),
    );
    expect(jobs.find((j) => j.deliveryIds[0] === 'g')!.priority).toBe(1);
    expect(jobs.find((j) => j.deliveryIds[0] === 'h')!.priority).toBe(Math.ceil(3000 / JOB_MAX_DELIVERIES));
  });

  it('keeps every delivery exactly once, in order within its sender (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('a', 'b', null), fc.integer({ min: 1, max: JOB_MAX_BYTES * 2 })), { maxLength: 100 }), (xs) => {
        const batch = xs.map(([s, size], i) => sized(String(i), s, size));
        const jobs = planDeliveryJobs(batch, new Map());
        expect(jobs.flatMap((j) => j.deliveryIds).sort()).toEqual(batch.map((b) => b.id).sort());
        for (const j of jobs) {
          const members = j.deliveryIds.map((id) => batch[Number(id)]!);
          expect(new Set(members.map((m) => m.sender)).size).toBe(1);
          expect(j.deliveryIds.length).toBeLessThanOrEqual(JOB_MAX_DELIVERIES);
          if (j.deliveryIds.length > 1) expect(members.reduce((n, m) => n + m.size, 0)).toBeLessThanOrEqual(JOB_MAX_BYTES);
          expect(j.priority).toBeGreaterThanOrEqual(1);
        }
      }),
    );
  });

  it('keeps every delivery of one message in one job, whatever the caps, so it is parsed once', () => {
    const m = (id: string, messageId: string, size: number, sender = 's') => ({ id, sender, size, messageId });
    const big = Array.from({ length: 40 }, (_, i) => m(`b${i}`, 'big', JOB_MAX_BYTES * 2));
    const jobs = planDeliveryJobs([m('x', 'small', 100), ...big, m('y', 'small', 100), m('z', 'other', 100)], new Map());
    const jobOf = (id: string) => jobs.findIndex((j) => j.deliveryIds.includes(id));
    expect(new Set(big.map((d) => jobOf(d.id))).size).toBe(1);
    expect(jobs[jobOf('b0')]!.deliveryIds).toHaveLength(40);
    expect(jobOf('x')).toBe(jobOf('y')); // the same message, even with others between
    expect(jobs.flatMap((j) => j.deliveryIds)).toHaveLength(43);
  });

  it('never splits a message across jobs, never mixes senders, keeps every delivery once (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('a', 'b'), fc.integer({ min: 0, max: 6 }), fc.integer({ min: 1, max: JOB_MAX_BYTES })), { maxLength: 120 }),
        (xs) => {
          const batch = xs.map(([s, msg, size], i) => ({ id: String(i), sender: s, messageId: `${s}-${msg}`, size }));
          const jobs = planDeliveryJobs(batch, new Map());
          expect(jobs.flatMap((j) => j.deliveryIds).sort()).toEqual(batch.map((b) => b.id).sort());
          const jobByMessage = new Map<string, number>();
          jobs.forEach((j, k) => {
            const members = j.deliveryIds.map((id) => batch[Number(id)]!);
            expect(new Set(members.map((x) => x.sender)).size).toBe(1);
            for (const x of members) {
              expect(jobByMessage.get(x.messageId) ?? k).toBe(k);
              jobByMessage.set(x.messageId, k);
            }
          });
        },
      ),
    );
  });
});
