import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decideAccess,
  reasonText,
  type AccessDecision,
  type AccessRequest,
  type EmergencyGround,
} from '../../access/rules/access-decision.js';
import { AUTHORIZATION_GRID, RUBRIC_IDS, TYPE_CODES, gridAllows } from '../../config/authorization-grid.js';

const PRO = '10000000001';
const OTHER = '10000000099';
const JUSTIFICATION = 'Patient inconscient aux urgences, antécédents inconnus';

const ALLOW = (reason: 'author' | 'administrator' | 'grid'): AccessDecision => ({ allowed: true, reason });
const EMERGENCY = (ground: EmergencyGround): AccessDecision => ({ allowed: true, reason: 'emergency', ground });
const DENY = (
  reason: 'blocked' | 'masked' | 'grid' | 'emergency-not-allowed' | 'justification-required',
): AccessDecision => ({ allowed: false, reason });

interface Tweak {
  rpps?: string;
  profession?: string;
  authorRpps?: string | null;
  masked?: boolean;
  maskedByAuthor?: boolean;
  typeCode?: string | null;
  rubric?: string;
  hiddenFromPatient?: boolean;
  blocked?: string[];
  administratorRpps?: string | null;
  allMasked?: boolean;
  emergencyAllowed?: boolean;
  emergency?: AccessRequest['emergency'];
}

/** A médecin reading someone else's consultation report, nothing special: allowed by the grid. */
function req(t: Tweak = {}): AccessRequest {
  return {
    professional: { rpps: t.rpps ?? PRO, profession: t.profession ?? '10' },
    document: {
      authorRpps: t.authorRpps === undefined ? OTHER : t.authorRpps,
      masked: t.masked ?? false,
      maskedByAuthor: t.maskedByAuthor ?? false,
      typeCode: t.typeCode === undefined ? '11488-4' : t.typeCode,
      rubric: t.rubric ?? 'comptes-rendus',
      hiddenFromPatient: t.hiddenFromPatient,
    },
    patientSettings: {
      blockedRpps: new Set(t.blocked ?? []),
      administratorRpps: t.administratorRpps === undefined ? null : t.administratorRpps,
      allMasked: t.allMasked ?? false,
      emergencyAllowed: t.emergencyAllowed ?? false,
    },
    emergency: t.emergency,
  };
}

const SAMU = { justification: JUSTIFICATION, samuRegulator: true, lifeAtRisk: false };
const LIFE = { justification: JUSTIFICATION, samuRegulator: false, lifeAtRisk: true };
const GRANTED_SAMU: Tweak = { emergency: SAMU, emergencyAllowed: true };
const GRANTED_LIFE: Tweak = { emergency: LIFE, emergencyAllowed: true };
// An infirmier reading a medical certificate: forbidden by the grid.
const GRID_FORBIDS: Tweak = { profession: '60', typeCode: '89601-9', rubric: 'certificats-medicaux' };

describe('each rule alone', () => {
  it.each<[string, Tweak, AccessDecision]>([
    ['nothing special → grid allows', {}, ALLOW('grid')],
    ['blocked', { blocked: [PRO] }, DENY('blocked')],
    ['someone else blocked', { blocked: [OTHER] }, ALLOW('grid')],
    ['author', { authorRpps: PRO }, ALLOW('author')],
    ['administrator doctor', { administratorRpps: PRO }, ALLOW('administrator')],
    ['someone else is administrator', { administratorRpps: OTHER }, ALLOW('grid')],
    ['document masked', { masked: true }, DENY('masked')],
    ['document masked by its author', { maskedByAuthor: true }, DENY('masked')],
    ['author > own mask', { authorRpps: PRO, maskedByAuthor: true }, ALLOW('author')],
    ['all documents masked', { allMasked: true }, DENY('masked')],
    ['grid forbids', GRID_FORBIDS, DENY('grid')],
    ['unknown profession', { profession: '99' }, DENY('grid')],
    [
      'no author (patient upload)',
      { authorRpps: null, typeCode: 'DOCPAT03', rubric: 'autres-documents' },
      ALLOW('grid'),
    ],
    ['emergency allowed settings but no request', { emergencyAllowed: true, masked: true }, DENY('masked')],
    ['emergency: null', { emergency: null, masked: true, emergencyAllowed: true }, DENY('masked')],
  ])('%s', (_name, tweak, expected) => {
    expect(decideAccess(req(tweak))).toEqual(expected);
  });
});

describe('emergency access', () => {
  it.each<[string, Tweak, AccessDecision]>([
    ['patient did not allow it', { emergency: SAMU, emergencyAllowed: false }, DENY('emergency-not-allowed')],
    ['SAMU regulator', { emergency: SAMU, emergencyAllowed: true }, EMERGENCY('samu-regulator')],
    ['life at risk', { emergency: LIFE, emergencyAllowed: true }, EMERGENCY('life-at-risk')],
    [
      'both grounds: SAMU mode',
      { emergency: { ...SAMU, lifeAtRisk: true }, emergencyAllowed: true },
      EMERGENCY('samu-regulator'),
    ],
    [
      'no ground',
      { emergency: { ...SAMU, samuRegulator: false }, emergencyAllowed: true },
      DENY('justification-required'),
    ],
    [
      'empty justification',
      { emergency: { ...LIFE, justification: '' }, emergencyAllowed: true },
      DENY('justification-required'),
    ],
    [
      'blank justification',
      { emergency: { ...LIFE, justification: ' \t\n\u00a0          ' }, emergencyAllowed: true },
      DENY('justification-required'),
    ],
    [
      '9 characters once trimmed',
      { emergency: { ...LIFE, justification: '   123456789   ' }, emergencyAllowed: true },
      DENY('justification-required'),
    ],
    [
      '10 characters once trimmed',
      { emergency: { ...LIFE, justification: '   1234567890   ' }, emergencyAllowed: true },
      EMERGENCY('life-at-risk'),
    ],
  ])('%s', (_name, tweak, expected) => {
    expect(decideAccess(req(tweak))).toEqual(expected);
  });

  it('needs real booleans for the ground', () => {
    const emergency = { justification: JUSTIFICATION, samuRegulator: 'yes', lifeAtRisk: 1 } as unknown as NonNullable<
      AccessRequest['emergency']
    >;
    expect(decideAccess(req({ emergency, emergencyAllowed: true }))).toEqual(DENY('justification-required'));
  });

  it('needs the patient setting to be exactly true', () => {
    const r = req({ emergency: LIFE });
    (r.patientSettings as { emergencyAllowed: unknown }).emergencyAllowed = 'true';
    expect(decideAccess(r)).toEqual(DENY('emergency-not-allowed'));
  });
});

describe('precedence, for every pair of rules that both apply', () => {
  it.each<[string, Tweak, AccessDecision]>([
    ['blocked > author', { blocked: [PRO], authorRpps: PRO }, DENY('blocked')],
    ['blocked > administrator', { blocked: [PRO], administratorRpps: PRO }, DENY('blocked')],
    ['blocked > masked', { blocked: [PRO], masked: true }, DENY('blocked')],
    ['blocked > grid forbids', { ...GRID_FORBIDS, blocked: [PRO] }, DENY('blocked')],
    ['blocked > granted emergency', { blocked: [PRO], emergency: SAMU, emergencyAllowed: true }, DENY('blocked')],
    ['blocked > refused emergency', { blocked: [PRO], emergency: SAMU }, DENY('blocked')],
    ['author > administrator', { authorRpps: PRO, administratorRpps: PRO }, ALLOW('author')],
    ['author > masked', { authorRpps: PRO, masked: true }, ALLOW('author')],
    ['author > all masked', { authorRpps: PRO, allMasked: true }, ALLOW('author')],
    ['author > grid forbids', { ...GRID_FORBIDS, authorRpps: PRO }, ALLOW('author')],
    ['author > refused emergency', { authorRpps: PRO, emergency: SAMU }, ALLOW('author')],
    ['author > granted emergency', { authorRpps: PRO, emergency: LIFE, emergencyAllowed: true }, ALLOW('author')],
    ['administrator > masked', { administratorRpps: PRO, masked: true }, ALLOW('administrator')],
    ['administrator > all masked', { administratorRpps: PRO, allMasked: true }, ALLOW('administrator')],
    ['administrator > grid forbids', { ...GRID_FORBIDS, administratorRpps: PRO }, ALLOW('administrator')],
    ['administrator > refused emergency', { administratorRpps: PRO, emergency: SAMU }, ALLOW('administrator')],
    ['granted emergency > masked', { masked: true, ...GRANTED_SAMU }, EMERGENCY('samu-regulator')],
    ['granted emergency > all masked', { allMasked: true, ...GRANTED_LIFE }, EMERGENCY('life-at-risk')],
    ['granted emergency > grid forbids', { ...GRID_FORBIDS, ...GRANTED_LIFE }, EMERGENCY('life-at-risk')],
    ['granted emergency > unknown profession', { profession: '99', ...GRANTED_LIFE }, EMERGENCY('life-at-risk')],
    ['refused emergency > masked', { masked: true, emergency: SAMU }, DENY('emergency-not-allowed')],
    ['refused emergency > grid allows', { emergency: SAMU }, DENY('emergency-not-allowed')],
    [
      'not allowed > missing justification',
      { emergency: { ...SAMU, justification: '' } },
      DENY('emergency-not-allowed'),
    ],
    [
      'missing justification > masked',
      { masked: true, emergency: { ...SAMU, justification: 'urgent' }, emergencyAllowed: true },
      DENY('justification-required'),
    ],
    ['masked > grid forbids', { ...GRID_FORBIDS, masked: true }, DENY('masked')],
    ['all masked > grid forbids', { ...GRID_FORBIDS, allMasked: true }, DENY('masked')],
  ])('%s', (_name, tweak, expected) => {
    expect(decideAccess(req(tweak))).toEqual(expected);
  });
});

describe('identity and ignored fields', () => {
  it('an empty RPPS is never the author nor the administrator', () => {
    expect(decideAccess(req({ rpps: '', authorRpps: '', masked: true }))).toEqual(DENY('masked'));
    expect(decideAccess(req({ rpps: '', administratorRpps: '', masked: true }))).toEqual(DENY('masked'));
  });

  it('treats anything but an explicit false as masked', () => {
    const r = req();
    (r.document as { masked: unknown }).masked = undefined;
    expect(decideAccess(r)).toEqual(DENY('masked'));
    const a = req();
    (a.document as { maskedByAuthor: unknown }).maskedByAuthor = undefined;
    expect(decideAccess(a)).toEqual(DENY('masked'));
    const s = req();
    (s.patientSettings as { allMasked: unknown }).allMasked = null;
    expect(decideAccess(s)).toEqual(DENY('masked'));
  });

  it.each([true, false, undefined])('hiddenFromPatient=%s changes nothing', (hiddenFromPatient) => {
    expect(decideAccess(req({ hiddenFromPatient }))).toEqual(ALLOW('grid'));
    expect(decideAccess(req({ hiddenFromPatient, masked: true }))).toEqual(DENY('masked'));
    expect(decideAccess(req({ ...GRID_FORBIDS, hiddenFromPatient }))).toEqual(DENY('grid'));
  });
});

describe('reasonText', () => {
  const ALL: [AccessDecision, string][] = [
    [ALLOW('author'), 'Accès autorisé : auteur du document'],
    [ALLOW('administrator'), 'Accès autorisé : médecin traitant (administrateur du profil)'],
    [ALLOW('grid'), "Accès autorisé selon la matrice d'habilitations"],
    [EMERGENCY('samu-regulator'), "Accès d'urgence (régulateur SAMU)"],
    [EMERGENCY('life-at-risk'), "Accès d'urgence (bris de glace : pronostic vital engagé)"],
    [DENY('blocked'), 'Accès refusé : professionnel bloqué par le patient'],
    [DENY('masked'), 'Accès refusé : document masqué aux professionnels'],
    [DENY('grid'), "Accès refusé : ce type de document n'est pas accessible à cette profession"],
    [DENY('emergency-not-allowed'), "Accès d'urgence refusé : non autorisé par le patient"],
    [DENY('justification-required'), "Accès d'urgence refusé : justification écrite et motif d'urgence requis"],
  ];

  it.each(ALL)('%j', (decision, text) => {
    expect(reasonText(decision)).toBe(text);
  });

  it('gives each decision its own text', () => {
    expect(new Set(ALL.map(([d]) => reasonText(d))).size).toBe(ALL.length);
  });
});

// --- Reference model --------------------------------------------------------------------------------------
// An independent statement of SPEC §6.4 as a decision table: one row per outcome, '*' = either value. The rows
// are disjoint and together cover all 2^5 × 5 = 160 feature combinations (checked when the table is expanded),
// so the order of the rows carries no meaning, unlike an if-chain.
//
// Features: blocked, author, administrator, masked (document or all), grid allows, emergency, where emergency is
//   n = no emergency request, r = requested but the patient did not allow emergency access,
//   j = allowed but the written justification (< 10 chars once trimmed) or the ground (SAMU / life) is missing,
//   s = valid, SAMU regulator, l = valid, life at risk (not SAMU).
const FEATURE_VALUES = [['0', '1'], ['0', '1'], ['0', '1'], ['0', '1'], ['0', '1'], ['n', 'r', 'j', 's', 'l']];

const TABLE: [pattern: string, outcome: AccessDecision][] = [
  // b  a  d  m  g  e
  ['1  *  *  *  *  *', DENY('blocked')],
  ['0  1  *  *  *  *', ALLOW('author')],
  ['0  0  1  *  *  *', ALLOW('administrator')],
  ['0  0  0  *  *  r', DENY('emergency-not-allowed')],
  ['0  0  0  *  *  j', DENY('justification-required')],
  ['0  0  0  *  *  s', EMERGENCY('samu-regulator')],
  ['0  0  0  *  *  l', EMERGENCY('life-at-risk')],
  ['0  0  0  1  *  n', DENY('masked')],
  ['0  0  0  0  0  n', DENY('grid')],
  ['0  0  0  0  1  n', ALLOW('grid')],
];

function expand(pattern: string[]): string[] {
  const [head, ...rest] = pattern;
  if (head === undefined) return [''];
  const i = FEATURE_VALUES.length - pattern.length;
  const values = head === '*' ? (FEATURE_VALUES[i] ?? []) : [head];
  return values.flatMap((v) => expand(rest).map((tail) => v + tail));
}

const REFERENCE = new Map<string, { row: number; outcome: AccessDecision }>();
TABLE.forEach(([pattern, outcome], row) => {
  for (const key of expand(pattern.split(/\s+/))) {
    if (REFERENCE.has(key)) throw new Error(`decision table rows overlap on ${key}`);
    REFERENCE.set(key, { row, outcome });
  }
});

type EmergencyFeature = 'n' | 'r' | 'j' | 's' | 'l';

function lookup(f: { b: boolean; a: boolean; d: boolean; m: boolean; g: boolean; e: EmergencyFeature }) {
  const key = [f.b, f.a, f.d, f.m, f.g].map((x) => (x ? '1' : '0')).join('') + f.e;
  const hit = REFERENCE.get(key);
  if (hit === undefined) throw new Error(`decision table has no row for ${key}`);
  return hit;
}

describe('decision table (reference model)', () => {
  it('is complete and its rows are disjoint', () => {
    expect(REFERENCE.size).toBe(160);
  });

  it('agrees with decideAccess on every combination of features', () => {
    const emergencies: Record<EmergencyFeature, Tweak> = {
      n: {},
      r: { emergency: LIFE, emergencyAllowed: false },
      j: { emergency: { ...LIFE, justification: 'court' }, emergencyAllowed: true },
      s: { emergency: SAMU, emergencyAllowed: true },
      l: { emergency: LIFE, emergencyAllowed: true },
    };
    for (const key of REFERENCE.keys()) {
      const [b, a, d, m, g] = [...key.slice(0, 5)].map((c) => c === '1');
      const e = key[5] as EmergencyFeature;
      const tweak: Tweak = {
        ...(g ? {} : GRID_FORBIDS),
        ...emergencies[e],
        blocked: b ? [PRO] : [],
        authorRpps: a ? PRO : OTHER,
        administratorRpps: d ? PRO : null,
        masked: m,
      };
      expect(decideAccess(req(tweak)), key).toEqual(REFERENCE.get(key)?.outcome);
    }
  });
});

// --- Property: decideAccess against the table, over random requests ---------------------------------------

const rpps = fc.stringMatching(/^[0-9]{11}$/);
const pad = fc.constantFrom('', ' ', '  ', '\t', '\n ', '\u00a0');
const letter = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzéèàç0123456789.,'.split(''));
const short = fc.tuple(pad, fc.string({ unit: fc.oneof(letter, fc.constant(' ')), maxLength: 9 }), pad);
const written = fc.tuple(pad, fc.string({ unit: letter, minLength: 10, maxLength: 60 }), pad);
const join = ([l, s, r]: [string, string, string]) => l + s + r;

const anyEmergency = fc.record({
  justification: fc.oneof(short.map(join), written.map(join)),
  samuRegulator: fc.boolean(),
  lifeAtRisk: fc.boolean(),
});

// Each variant is built to realise its feature, so the test never recomputes the emergency rules.
const emergencyArb = fc.oneof(
  fc.record({
    e: fc.constant<EmergencyFeature>('n'),
    allowed: fc.boolean(),
    emergency: fc.constantFrom(null, undefined),
  }),
  fc.record({ e: fc.constant<EmergencyFeature>('r'), allowed: fc.constant(false), emergency: anyEmergency }),
  fc.record({
    e: fc.constant<EmergencyFeature>('j'),
    allowed: fc.constant(true),
    emergency: fc.oneof(
      fc.record({ justification: short.map(join), samuRegulator: fc.boolean(), lifeAtRisk: fc.boolean() }),
      fc.record({
        justification: written.map(join),
        samuRegulator: fc.constant(false),
        lifeAtRisk: fc.constant(false),
      }),
    ),
  }),
  fc.record({
    e: fc.constant<EmergencyFeature>('s'),
    allowed: fc.constant(true),
    emergency: fc.record({
      justification: written.map(join),
      samuRegulator: fc.constant(true),
      lifeAtRisk: fc.boolean(),
    }),
  }),
  fc.record({
    e: fc.constant<EmergencyFeature>('l'),
    allowed: fc.constant(true),
    emergency: fc.record({
      justification: written.map(join),
      samuRegulator: fc.constant(false),
      lifeAtRisk: fc.constant(true),
    }),
  }),
);

const typeCodes = Object.keys(TYPE_CODES);
const caseArb = fc.record({
  ids: fc.tuple(rpps, rpps, rpps).filter(([pro, a, b]) => pro !== a && pro !== b),
  profession: fc.oneof(
    fc.constantFrom(...Object.keys(AUTHORIZATION_GRID), '99', '', 'G15_10', '__proto__', 'constructor'),
    fc.string({ maxLength: 4 }),
  ),
  typeCode: fc.oneof(
    fc.constantFrom(...typeCodes, ...typeCodes.map((c) => ` ${c.toLowerCase()} `), null, undefined, ''),
    fc.string({ maxLength: 8 }),
  ),
  rubric: fc.oneof(fc.constantFrom(...RUBRIC_IDS, 'inconnue', '__proto__'), fc.string({ maxLength: 10 })),
  blocked: fc.boolean(),
  otherBlocked: fc.array(rpps, { maxLength: 3 }),
  author: fc.constantFrom('self', 'other', 'none'),
  administrator: fc.constantFrom('self', 'other', 'none'),
  masked: fc.boolean(),
  maskedByAuthor: fc.boolean(),
  allMasked: fc.boolean(),
  hiddenFromPatient: fc.option(fc.boolean(), { nil: undefined }),
  emergency: emergencyArb,
});

describe('property: decideAccess = decision table', () => {
  it('holds over random requests', () => {
    const rowsHit = new Set<number>();
    fc.assert(
      fc.property(caseArb, (c) => {
        const [pro, otherAuthor, otherAdmin] = c.ids;
        const blockedRpps = new Set(c.otherBlocked.filter((x) => x !== pro));
        if (c.blocked) blockedRpps.add(pro);
        const who = (w: string, other: string) => (w === 'self' ? pro : w === 'other' ? other : null);
        const request: AccessRequest = {
          professional: { rpps: pro, profession: c.profession },
          document: {
            authorRpps: who(c.author, otherAuthor),
            masked: c.masked,
            maskedByAuthor: c.maskedByAuthor,
            typeCode: c.typeCode,
            rubric: c.rubric,
            hiddenFromPatient: c.hiddenFromPatient,
          },
          patientSettings: {
            blockedRpps,
            administratorRpps: who(c.administrator, otherAdmin),
            allMasked: c.allMasked,
            emergencyAllowed: c.emergency.allowed,
          },
          emergency: c.emergency.emergency,
        };
        const { row, outcome } = lookup({
          b: c.blocked,
          a: c.author === 'self',
          d: c.administrator === 'self',
          m: c.masked || c.maskedByAuthor || c.allMasked,
          g: gridAllows(c.profession, { typeCode: c.typeCode, rubric: c.rubric }),
          e: c.emergency.e,
        });
        rowsHit.add(row);
        expect(decideAccess(request)).toEqual(outcome);
        expect(reasonText(decideAccess(request)).length).toBeGreaterThan(0);
      }),
      { numRuns: 5000 },
    );
    // The generator must reach every outcome, or the property proves less than it claims.
    expect([...rowsHit].sort((x, y) => x - y)).toEqual(TABLE.map((_, i) => i));
  });
});
