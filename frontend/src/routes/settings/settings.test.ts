import { describe, expect, it } from 'vitest';
import { parseMapping } from './Feeds';
import { formatSlot } from './Schedules';

describe('parseMapping', () => {
  it('reads "field = column" lines, skipping blank ones', () => {
    expect(parseMapping('amount = Betrag\n\n date=Buchungstag ')).toEqual({ mapping: { amount: 'Betrag', date: 'Buchungstag' }, problem: null });
  });
  it('names the line that is not "field = column"', () => {
    expect(parseMapping('amount = Betrag\nBuchungstag').problem).toMatch(/^line 2: /);
    expect(parseMapping('amount =').problem).toMatch(/^line 1: /);
  });
});

describe('formatSlot', () => {
  it('shows a slot in the schedule time zone, named', () => {
    const text = formatSlot('2026-12-07T05:00:00Z', 'Europe/Berlin');
    expect(text).toMatch(/06:00/);
    expect(text.endsWith('Europe/Berlin')).toBe(true);
  });
});
