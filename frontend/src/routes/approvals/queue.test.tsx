import { fireEvent, screen, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { answer, json, renderAt } from '../../test/render';
import { DecisionQueue } from './index';

const decision = (n: number) => ({
  id: `d${n}`,
  kind: 'writeoff',
  status: 'pending_approval',
  maker_id: 'someone-else',
  comment: 'month end',
  checker_comment: null,
  checker_id: null,
  created_at: '2026-12-06T10:00:00Z',
  decided_at: null,
  currency: 'EUR',
  difference: `${n}.00`,
  left_total: `${n}.00`,
  right_total: '0.00',
  group_id: n,
  item_ids: [],
  reason_code: 'timing',
  reconciling_type: null,
  run_id: 'r',
  version: 1,
});

describe('the pending decisions queue', () => {
  it('shows a page of 100, and "Select all decisions" loads the rest and selects every one', async () => {
    const cursors: (string | null)[] = [];
    answer({
      '/api/v1/projects/p/decisions': (request) => {
        const cursor = new URL(request.url).searchParams.get('cursor');
        cursors.push(cursor);
        return cursor === 'page2'
          ? json({ items: Array.from({ length: 22 }, (_, i) => decision(101 + i)), next_cursor: null })
          : json({ items: Array.from({ length: 100 }, (_, i) => decision(1 + i)), next_cursor: 'page2' });
      },
    });
    renderAt('/', [{ path: '/', element: <DecisionQueue projectId="p" runId="r" canApprove /> }]);
    expect(await screen.findByText('100 shown, more are pending', undefined, { timeout: 30_000 })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Show more decisions' })).toBeInTheDocument();
    fireEvent.click(screen.getByRole('checkbox', { name: 'Select all decisions' }));
    await waitFor(() => expect(screen.getByRole('button', { name: 'Approve selected (122)' })).toBeEnabled(), { timeout: 30_000 });
    expect(cursors).toEqual([null, 'page2']);
    expect(screen.getByText('122 shown')).toBeInTheDocument();
    expect(screen.getByRole('checkbox', { name: 'Select all decisions' })).toBeChecked();
  }, 60_000); // 122 rows of Mantine controls are slow to render in jsdom
});
