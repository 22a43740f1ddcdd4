import { describe, expect, it } from 'vitest';
import { formatBytes, formatMoney } from './format';

describe('formatMoney', () => {
  it('groups digits of exact decimal text without going through float', () => {
    expect(formatMoney('-1234567.50')).toBe('-1,234,567.50');
    expect(formatMoney('12345678901234567890.01')).toBe('12,345,678,901,234,567,890.01');
    expect(formatMoney(null)).toBe('—');
  });
  it('formats sizes', () => {
    expect(formatBytes(1536)).toBe('1.5 KB');
  });
});
