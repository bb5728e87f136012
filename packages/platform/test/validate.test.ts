import { UserTower } from '@ralm/proto/trainer';
import { idProblem, InvalidArgumentError, MAX_FEATURE_IDS, requireEnum, requireId, requireRawFeatures, requireSafeInteger, requireUserFeatures, type FeatureKind } from '@ralm/platform';

describe('shared edge validation', () => {
  it.each([
    ['', 'is required'],
    ['x'.repeat(257), 'is longer than 256 bytes of UTF-8'],
    // 129 characters, 258 bytes: the protos' limits are in bytes.
    ['é'.repeat(129), 'is longer than 256 bytes of UTF-8'],
    ['é'.repeat(128), undefined],
    ['a\nb', 'contains control characters'],
    ['ok-id', undefined],
  ])('idProblem case %#, and requireId throws the same reason', (value, problem) => {
    expect(idProblem(value)).toBe(problem);
    if (problem === undefined) expect(requireId(value, 'user_id')).toBe(value);
    else expect(() => requireId(value, 'user_id')).toThrow(new InvalidArgumentError('user_id', problem));
  });

  describe('requireRawFeatures', () => {
    const schema = new Map<string, FeatureKind>([
      ['gender', 'univalent'],
      ['tags', 'multivalent'],
      ['age', 'continuous'],
    ]);
    const check = (fields: Record<string, object>, at = 'features') => requireRawFeatures({ fields } as never, schema, at, 'm1');

    it('returns what the model reads, from the branch each field kind reads', () => {
      expect(check({ gender: { id: 'f' }, tags: { ids: { values: ['a', 'b'] } }, age: { number: 31.5 } })).toEqual({ gender: 'f', tags: ['a', 'b'], age: 31.5 });
      expect(requireRawFeatures(undefined, schema, 'features', 'm1')).toEqual({});
      expect(check({ tags: { ids: { values: [] } } })).toEqual({ tags: [] });
    });

    it.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])('refuses the feature number %p, naming the field', (age) => {
      expect(() => check({ gender: { id: 'f' }, age: { number: age } })).toThrow(expect.objectContaining({ field: 'features.fields[age].number', reason: 'is not a finite number' }));
    });

    it.each([
      [{ tags: {} }, 'users[2].fields[tags]', 'exactly one of id, ids, number must be set'],
      [{ gender: { id: 'a', number: 1 } }, 'users[2].fields[gender]', 'exactly one of id, ids, number must be set'],
      [{ tags: { number: 3 } }, 'users[2].fields[tags]', 'is a multivalent field: set ids, not number'],
      [{ age: { id: '31' } }, 'users[2].fields[age]', 'is a continuous field: set number, not id'],
      [{ height: { number: 180 } }, 'users[2].fields[height]', "is not a field of model 'm1' (fields: gender, tags, age)"],
      [{ gender: { id: 'x'.repeat(1 << 20) } }, 'users[2].fields[gender].id', 'is longer than 256 bytes of UTF-8'],
      [{ tags: { ids: { values: Array.from({ length: MAX_FEATURE_IDS + 1 }, (_, i) => `t${i}`) } } }, 'users[2].fields[tags].ids.values', 'has 1001 entries; at most 1000 allowed'],
      [{ tags: { ids: { values: ['ok', ''] } } }, 'users[2].fields[tags].ids.values[1]', 'is required'],
    ])('refuses %j with the field and the reason', (fields, field, reason) => {
      expect(() => check(fields, 'users[2]')).toThrow(new InvalidArgumentError(field, reason));
    });
  });

  it('requireUserFeatures checks the shape with no schema at hand (no model loaded yet)', () => {
    expect(() => requireUserFeatures({ fields: { anything: { number: Number.NaN } } } as never, 'features')).toThrow(new InvalidArgumentError('features.fields[anything].number', 'is not a finite number'));
    expect(() => requireUserFeatures({ fields: { anything: { id: '' } } } as never, 'features')).toThrow(new InvalidArgumentError('features.fields[anything].id', 'is required'));
    expect(() => requireUserFeatures({ fields: { anything: { number: 3, id: 'x' } } } as never, 'features')).toThrow(InvalidArgumentError);
    expect(() => requireUserFeatures(undefined, 'features')).not.toThrow();
  });

  it('requireEnum takes the values the contract defines, and no other number', () => {
    expect(requireEnum(1, UserTower, 'config.tower')).toBe(UserTower.USER_TOWER_ATTENTION_MERGE);
    expect(requireEnum(0, UserTower, 'config.tower')).toBe(UserTower.USER_TOWER_UNSPECIFIED);
    for (const bad of [9, -1, 2 ** 31 - 1]) {
      expect(() => requireEnum(bad, UserTower, 'config.tower')).toThrow(expect.objectContaining({ field: 'config.tower', reason: expect.stringMatching(new RegExp(`^${bad} is not a value of this enum \\(0 \\(USER_TOWER_UNSPECIFIED\\), 1 \\(`)) }));
    }
  });

  it('requireSafeInteger refuses what a double cannot hold exactly', () => {
    expect(requireSafeInteger(2 ** 53 - 1, 'seed')).toBe(2 ** 53 - 1);
    expect(() => requireSafeInteger(2 ** 53, 'seed')).toThrow(new InvalidArgumentError('seed', 'must be an integer within ±(2^53 - 1), got 9007199254740992'));
    expect(() => requireSafeInteger(1.5, 'seed')).toThrow(InvalidArgumentError);
  });
});
