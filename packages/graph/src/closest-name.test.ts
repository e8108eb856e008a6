import { describe, expect, it } from 'vitest';
import { closestName, didYouMean, editDistance } from './closest-name.ts';

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['abc', '', 3],
    ['', 'ab', 2],
    ['kitten', 'sitting', 3],
    ['emial', 'email', 1],
    ['ab', 'ba', 1],
    ['flaw', 'lawn', 2],
    ['same', 'same', 0],
  ])('%s → %s is %d', (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
    expect(editDistance(b, a)).toBe(distance);
  });
});

describe('closestName', () => {
  it('picks the nearest candidate', () => {
    expect(closestName('emial', ['id', 'email', 'name'])).toBe('email');
    expect(closestName('nmae', ['id', 'email', 'name'])).toBe('name');
    expect(closestName('user.nam', ['user.id', 'user.name'])).toBe('user.name');
  });

  it('gives nothing when every candidate is too far', () => {
    expect(closestName('zzzzzz', ['id', 'email', 'name'])).toBeUndefined();
    expect(closestName('x', [])).toBeUndefined();
  });

  it('formats the hint', () => {
    expect(didYouMean('emial', ['email'])).toBe(" (did you mean 'email'?)");
    expect(didYouMean('zzzzzz', ['email'])).toBe('');
  });
});
