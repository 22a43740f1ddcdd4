import { isZeroDecimal, subtractDecimals, sumDecimals } from './decimal';

describe('exact decimals', () => {
  it('sums money text without float error', () => {
    expect(sumDecimals(['0.10', '0.20'])).toBe('0.30');
    expect(sumDecimals(['13578321.07', '-0.01', '0.001'])).toBe('13578321.061');
    expect(sumDecimals([])).toBe('0.00');
    expect(sumDecimals(['1500'], 0)).toBe('1500');
    expect(sumDecimals(['-0.05', '0.02', null])).toBe('-0.03');
  });
  it('subtracts and tests zero', () => {
    expect(subtractDecimals('200.00', '195.5')).toBe('4.50');
    expect(subtractDecimals('10', '12.50')).toBe('-2.50');
    expect(isZeroDecimal(subtractDecimals('99999999999999999.99', '99999999999999999.99'))).toBe(true);
    expect(() => sumDecimals(['1e5'])).toThrow();
  });
});
