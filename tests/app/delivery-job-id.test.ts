// A job's id names exactly its deliveries: a regrouping after a crash is a new job, never swallowed by BullMQ's
// "this job id exists" (which would leave a delivery in no job at all: caught by the kill -9 test).
import { describe, expect, it } from 'vitest';
import { deliveryJobId } from '../../app/outbox-relay.js';

describe('deliveryJobId', () => {
  it('is the delivery id for a job of one, and the same for the same deliveries', () => {
    expect(deliveryJobId(['d1'])).toBe('d1');
    expect(deliveryJobId(['d1', 'd2'])).toBe(deliveryJobId(['d1', 'd2']));
  });

  it('differs for any other grouping that starts with the same delivery', () => {
    const ids = new Set([deliveryJobId(['d1']), deliveryJobId(['d1', 'd2']), deliveryJobId(['d1', 'd2', 'd3']), deliveryJobId(['d1', 'd3'])]);
    expect(ids.size).toBe(4);
  });
});
