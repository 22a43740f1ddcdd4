import type { Row } from './api';
import { GROUP_COLUMNS, ITEM_COLUMNS, rowView } from './columns';

const item: Row = {
  rowType: 'item',
  id: 7,
  run_id: 'r',
  side: 'left',
  row_no: 12,
  ext_id: null,
  date: '2024-09-01',
  amount: '-1234567.50',
  currency: 'EUR',
  reference: 'INV-1',
  counterparty: null,
  description: null,
  state: 'unmatched',
  reason: 'no_candidate',
  detail: null,
  group_id: null,
  assignee_id: null,
  opened_at: null,
  age_days: 0,
  carried_from_id: null,
  origin_dataset_id: null,
  version: 1,
};

describe('the review grid rows', () => {
  it('formats a record once into text cells in column order, with a key and a checkbox name', () => {
    const view = rowView(item);
    expect(view.key).toBe('i7');
    expect(view.label).toBe('Select record 7');
    expect(view.cells).toHaveLength(ITEM_COLUMNS.length);
    expect(view.cells).toEqual(['12', '2024-09-01', '-1,234,567.50', 'INV-1', '—', 'no_candidate', '0']);
  });
  it('formats a group with its pass, score and totals', () => {
    const group = {
      rowType: 'group',
      id: 3,
      seq: 41,
      pass_name: null,
      score: 0.91234,
      left_count: 2,
      right_count: 1,
      left_total: '1000.00',
      right_total: '999.00',
      difference: '1.00',
      members: [{ reference: null, ext_id: 'B-9' }],
      age_days: null,
    } as unknown as Row;
    const view = rowView(group);
    expect(view.key).toBe('g3');
    expect(view.label).toBe('Select group 41');
    expect(view.cells).toHaveLength(GROUP_COLUMNS.length);
    expect(view.cells).toEqual(['41', 'manual', '0.912', '2 : 1', '1,000.00', '999.00', '1.00', 'B-9', '—']);
  });
});
