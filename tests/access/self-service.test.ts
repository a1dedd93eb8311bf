// The self-service rules (access/rules/self-service.ts): one use of a provisional code per state, reactivation
// along the lifecycle's reopening, and the shape of a requested code.
import { describe, expect, it } from 'vitest';
import { canRequestProvisionalCode, generateProvisionalCode, provisionalCodeUse, reactivationTarget, PROFILE_STATES } from '../../access/rules/index.js';

describe('self-service rules', () => {
  it('gives each state exactly one use of a provisional code', () => {
    expect(Object.fromEntries(PROFILE_STATES.map((s) => [s, provisionalCodeUse(s)]))).toEqual({
      pending: 'activate',
      created: 'activate',
      active: 'reset-password',
      opposed: 'reactivate',
      closed: 'reactivate',
    });
    expect(provisionalCodeUse('deleted' as never)).toBeNull();
    expect(provisionalCodeUse(undefined)).toBeNull();
  });

  it('reactivates closed and opposed profiles only, to active when once activated, else created', () => {
    expect(reactivationTarget('closed', true)).toBe('active');
    expect(reactivationTarget('closed', false)).toBe('created');
    expect(reactivationTarget('opposed', false)).toBe('created');
    expect(reactivationTarget('opposed', true)).toBe('active');
    for (const s of ['pending', 'created', 'active'] as const) expect(reactivationTarget(s, true)).toBeNull();
  });

  it('lets a code be asked for in every known state, never for an unknown one', () => {
    for (const s of PROFILE_STATES) expect(canRequestProvisionalCode(s)).toBe(true);
    expect(canRequestProvisionalCode('nope')).toBe(false);
    expect(canRequestProvisionalCode(null)).toBe(false);
  });

  it('generates 12-digit codes that differ', () => {
    const codes = new Set(Array.from({ length: 50 }, generateProvisionalCode));
    for (const c of codes) expect(c).toMatch(/^\d{12}$/);
    expect(codes.size).toBe(50);
  });
});
