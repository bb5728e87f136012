import { idProblem, InvalidArgumentError, requireId, requireUserFeatures } from '@ralm/platform';

describe('shared edge validation', () => {
  it.each([
    ['', 'is required'],
    ['x'.repeat(257), 'is longer than 256 characters'],
    ['a\nb', 'contains control characters'],
    ['ok-id', undefined],
  ])('idProblem case %#, and requireId throws the same reason', (value, problem) => {
    expect(idProblem(value)).toBe(problem);
    if (problem === undefined) expect(requireId(value, 'user_id')).toBe(value);
    else expect(() => requireId(value, 'user_id')).toThrow(new InvalidArgumentError('user_id', problem));
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])('refuses the feature number %p, naming the field', (age) => {
    const features = { fields: { gender: { id: 'f' }, age: { number: age } } };
    expect(() => requireUserFeatures(features, 'features')).toThrow(expect.objectContaining({ field: 'features.fields[age].number', reason: 'is not a finite number' }));
  });

  it('needs exactly one branch per feature value, and accepts absent or empty features', () => {
    expect(() => requireUserFeatures({ fields: { tags: {} } }, 'users[2]')).toThrow(expect.objectContaining({ field: 'users[2].fields[tags]' }));
    expect(() => requireUserFeatures({ fields: { x: { id: 'a', number: 1 } } }, 'features')).toThrow(InvalidArgumentError);
    expect(() => requireUserFeatures(undefined, 'features')).not.toThrow();
    expect(() => requireUserFeatures({ fields: { age: { number: 31.5 }, tags: { ids: { values: [] } } } }, 'features')).not.toThrow();
  });
});
