import { apiQuery, readState, selectionBody, TABS, writeState } from './state';

describe('review URL state', () => {
  it('round-trips run, tab and filters through the URL', () => {
    const params = writeState({ runId: 'r1', tab: 'breaks', filters: { q: ' acme ', amount_min: '10', pass: '' } });
    expect(params.toString()).toBe('run=r1&tab=breaks&amount_min=10&q=acme');
    const state = readState(params);
    expect(state.runId).toBe('r1');
    expect(state.tab.id).toBe('breaks');
    expect(state.filters).toEqual({ amount_min: '10', q: 'acme' });
  });
  it('falls back to the first tab for an unknown one', () => {
    expect(readState(new URLSearchParams('tab=nope')).tab.id).toBe('suggested');
  });
  it('maps filters onto the api per tab kind', () => {
    const suggested = TABS[0];
    const left = TABS[2];
    expect(apiQuery(suggested, { pass: 'near', min_score: '0.9', reason: 'ambiguous' })).toEqual({
      status: ['suggested'],
      pass: 'near',
      min_score: '0.9',
    });
    expect(apiQuery(left, { pass: 'near', reason: 'ambiguous', q: 'x' })).toEqual({ side: 'left', reason: ['ambiguous'], q: 'x' });
    expect(selectionBody(suggested, { pass: 'near', sort: '-score' })).toEqual({ groups: { status: ['suggested'], pass: 'near' } });
    expect(selectionBody(left, { amount_max: '5' })).toEqual({ unmatched: { side: 'left', amount_max: '5' } });
  });
});
