import { describe, expect, it } from 'vitest';
import { readRules, TEMPLATE, withOp, writeRules } from './model';

describe('rules model', () => {
  it('round-trips the template and keeps keys the builder does not show', () => {
    const read = readRules(`${TEMPLATE}    score:\n      - {left: counterparty, right: counterparty, method: jaro_winkler, weight: 2}\n`);
    if (!('rules' in read)) throw new Error(read.error);
    read.rules.passes![0]!.name = 'strict';
    const again = readRules(writeRules(read.rules));
    if (!('rules' in again)) throw new Error(again.error);
    expect(again.rules.passes![0]!.name).toBe('strict');
    expect(again.rules.passes![0]!.score).toEqual([{ left: 'counterparty', right: 'counterparty', method: 'jaro_winkler', weight: 2 }]);
  });
  it('says why a text cannot be shown', () => {
    expect(readRules('- a\n- b')).toEqual({ error: 'The rules must be a mapping (key: value).' });
    expect('error' in readRules('a: [')).toBe(true);
  });
  it('gives an operator its parameters', () => {
    expect(withOp({ left: 'amount', right: 'amount', op: 'tolerance', abs: 0.01 }, 'within_days')).toEqual({ left: 'amount', right: 'amount', op: 'within_days', days: 3 });
  });
});
