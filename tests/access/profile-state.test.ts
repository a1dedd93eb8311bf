import { describe, expect, it } from 'vitest';
import {
  PROFILE_STATES,
  canActivate,
  canTransition,
  isProfileState,
  mailAcceptance,
  reopenState,
  statesThatMayBecome,
  type ProfileState,
} from '../../access/rules/index.js';

describe('PROFILE_STATES / isProfileState', () => {
  it('lists exactly the five states', () => {
    expect([...PROFILE_STATES].sort()).toEqual(['active', 'closed', 'created', 'opposed', 'pending']);
  });

  it.each(PROFILE_STATES)('%s is a state', (s) => {
    expect(isProfileState(s)).toBe(true);
  });

  it.each([undefined, null, '', 'ACTIVE', 'Active', ' active', 'open', 'deleted', 1, {}, ['active']])('%j is not a state', (x) => {
    expect(isProfileState(x)).toBe(false);
  });
});

describe('mailAcceptance', () => {
  it.each<[ProfileState | undefined, 'accept' | 'unknown' | 'closed']>([
    ['created', 'accept'],
    ['active', 'accept'],
    [undefined, 'unknown'],
    ['pending', 'unknown'],
    ['opposed', 'unknown'],
    ['closed', 'closed'],
  ])('%s → %s', (state, expected) => {
    expect(mailAcceptance(state)).toBe(expected);
  });

  it('gives an opposed or pending patient exactly the answer of a missing one', () => {
    expect(mailAcceptance('opposed')).toBe(mailAcceptance(undefined));
    expect(mailAcceptance('pending')).toBe(mailAcceptance(undefined));
  });

  it('treats an unexpected run-time value as unknown, never accept', () => {
    expect(mailAcceptance('ACTIVE' as ProfileState)).toBe('unknown');
    expect(mailAcceptance('' as ProfileState)).toBe('unknown');
  });
});

describe('canTransition', () => {
  const allowed = new Set([
    'pending>created',
    'pending>active',
    'pending>opposed',
    'pending>closed',
    'created>active',
    'created>closed',
    'active>closed',
    'opposed>created',
    'opposed>active',
    'closed>created',
    'closed>active',
  ]);
  const pairs = PROFILE_STATES.flatMap((from) => PROFILE_STATES.map((to) => [from, to] as const));

  it.each(pairs)('%s → %s follows the table', (from, to) => {
    expect(canTransition(from, to)).toBe(allowed.has(`${from}>${to}`));
  });

  it('covers every pair (25) and allows exactly 11', () => {
    expect(pairs).toHaveLength(25);
    expect(pairs.filter(([f, t]) => canTransition(f, t))).toHaveLength(11);
  });

  it('refuses opposition once the profile was created (the patient closes it instead)', () => {
    expect(canTransition('created', 'opposed')).toBe(false);
    expect(canTransition('active', 'opposed')).toBe(false);
  });

  it('never goes back to pending, and never moves between opposed and closed', () => {
    for (const from of PROFILE_STATES) expect(canTransition(from, 'pending')).toBe(false);
    expect(canTransition('opposed', 'closed')).toBe(false);
    expect(canTransition('closed', 'opposed')).toBe(false);
  });

  it('is false for unknown run-time values', () => {
    expect(canTransition('nope' as ProfileState, 'active')).toBe(false);
    expect(canTransition('pending', 'nope' as ProfileState)).toBe(false);
  });
});

describe('statesThatMayBecome', () => {
  it('lists exactly the states canTransition lets move to the target (closing: pending, created, active)', () => {
    for (const to of PROFILE_STATES) expect(statesThatMayBecome(to)).toEqual(PROFILE_STATES.filter((from) => canTransition(from, to)));
    expect(statesThatMayBecome('closed')).toEqual(['pending', 'created', 'active']);
  });
});

describe('reopenState', () => {
  it('goes to active when the patient had activated, else created', () => {
    expect(reopenState(true)).toBe('active');
    expect(reopenState(false)).toBe('created');
  });

  it.each(['opposed', 'closed'] as const)('the reopened state is reachable from %s', (from) => {
    expect(canTransition(from, reopenState(true))).toBe(true);
    expect(canTransition(from, reopenState(false))).toBe(true);
  });
});

describe('canActivate', () => {
  it.each<[ProfileState, boolean]>([
    ['pending', true],
    ['created', true],
    ['active', false],
    ['opposed', false],
    ['closed', false],
  ])('%s → %s', (state, expected) => {
    expect(canActivate(state)).toBe(expected);
  });

  it('agrees with canTransition to active', () => {
    for (const s of PROFILE_STATES.filter(canActivate)) expect(canTransition(s, 'active')).toBe(true);
  });
});
