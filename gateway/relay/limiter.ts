/**
 * A per-destination async semaphore: at most N concurrent SMTP sessions to one host:port (ZoneMTA keeps 5
 * per domain; see RELAY_MAX_CONNECTIONS_PER_DESTINATION).
 *
 * Guarantees:
 * - `run(key, fn)` never lets more than `max` calls of the same key run at once; calls beyond that wait in
 *   FIFO order, and a freed slot is handed directly to the next waiter (no barging by later callers).
 * - A slot is released whatever `fn` does (resolve, reject, throw synchronously).
 * - Idle keys are forgotten, so the map does not grow with every domain ever seen.
 *
 * Failure semantics: `run` returns or rethrows exactly what `fn` does. The limiter holds no timer: a
 * caller that needs a bound on the wait puts it inside `fn` (deliverMessage has its own timeouts). It is
 * per process; several workers on several hosts each apply their own cap.
 */
import { relayMaxConnections, type RelayDestination } from '../../config/index.js';

interface Slot {
  active: number;
  queue: (() => void)[];
}

/** The limiter key of a destination: `host:port`, IPv6 in brackets. */
export function destinationKey(dest: RelayDestination): string {
  return dest.host.includes(':') ? `[${dest.host}]:${dest.port}` : `${dest.host}:${dest.port}`;
}

export class DestinationLimiter {
  readonly max: number;
  readonly #slots = new Map<string, Slot>();

  constructor(max: number = relayMaxConnections()) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`DestinationLimiter max must be a positive integer, got ${max}`);
    this.max = max;
  }

  /** Sessions running now for `key`. */
  active(key: string): number {
    return this.#slots.get(key)?.active ?? 0;
  }

  /** Calls waiting for a slot of `key`. */
  waiting(key: string): number {
    return this.#slots.get(key)?.queue.length ?? 0;
  }

  async run<T>(key: string, fn: () => Promise<T> | T): Promise<T> {
    await this.#acquire(key);
    try {
      return await fn();
    } finally {
      this.#release(key);
    }
  }

  #acquire(key: string): Promise<void> {
    let slot = this.#slots.get(key);
    if (!slot) this.#slots.set(key, (slot = { active: 0, queue: [] }));
    if (slot.active < this.max) {
      slot.active += 1;
      return Promise.resolve();
    }
    const waitingSlot = slot;
    return new Promise<void>((resolve) => waitingSlot.queue.push(resolve));
  }

  #release(key: string): void {
    const slot = this.#slots.get(key);
    if (!slot) return;
    const next = slot.queue.shift();
    if (next) {
      // The slot passes to the next waiter: `active` stays the same.
      next();
      return;
    }
    slot.active -= 1;
    if (slot.active <= 0) this.#slots.delete(key);
  }
}
