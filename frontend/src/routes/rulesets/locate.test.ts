import { describe, expect, it } from 'vitest';
import { locate, locationPath } from './locate';

const TEXT = `version: 1
name: demo
left: {id: id}
right: {id: id}
passes:
  - name: exact
    kind: one_to_one
    match:
      - {left: reference, right: reference, op: equals}
      - {left: amount, right: amount, op: tolerance, abs: 0.01}
`;

describe('locate', () => {
  it('parses the engine locations', () => {
    expect(locationPath('passes[0].match[1].left')).toEqual(['passes', 0, 'match', 1, 'left']);
  });
  it('finds the line of a condition and of a key', () => {
    expect(locate(TEXT, 'passes[0].match[1]').line).toBe(10);
    expect(locate(TEXT, 'passes[0].kind').line).toBe(7);
    expect(locate(TEXT, 'right.id').line).toBe(4);
  });
  it('falls back to the deepest part that exists, and to the document', () => {
    expect(locate(TEXT, 'passes[0].match[7]').line).toBe(8);
    expect(locate(TEXT, '').line).toBe(1);
  });
  it('points at an unknown key itself', () => {
    expect(locate(`${TEXT}toleranse: 1\n`, '', "unknown key 'toleranse' (did you mean 'tolerance'?)").line).toBe(11);
  });
});
