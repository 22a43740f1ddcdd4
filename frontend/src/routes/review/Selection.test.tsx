import { MantineProvider } from '@mantine/core';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render, screen } from '@testing-library/react';
import type { Row } from './api';
import { SelectionBar } from './Selection';

function item(id: number, side: 'left' | 'right', amount: string): Row {
  return {
    rowType: 'item',
    id,
    run_id: 'r',
    side,
    row_no: id,
    ext_id: `X${id}`,
    date: '2024-09-01',
    amount,
    currency: 'EUR',
    reference: null,
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
}

function renderBar(selected: Row[]) {
  return render(
    <MantineProvider>
      <QueryClientProvider client={new QueryClient()}>
        <SelectionBar runId="r" selected={selected} reasons={['bank_fee']} onDone={() => undefined} />
      </QueryClientProvider>
    </MantineProvider>,
  );
}

describe('the selection bar of manual match', () => {
  it('shows the exact running difference and asks for a write-off when it is not zero', () => {
    renderBar([item(1, 'left', '100.10'), item(2, 'left', '0.20'), item(3, 'right', '95.30')]);
    expect(screen.getByText(/Difference 5\.00/)).toBeInTheDocument();
    expect(screen.getByText(/Left: 2 record\(s\), 100\.30/)).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Match with write-off' })).toBeEnabled();
  });
  it('matches without a write-off when the sides agree, and needs both sides', () => {
    renderBar([item(1, 'left', '0.10'), item(2, 'right', '0.10')]);
    expect(screen.getByRole('button', { name: 'Match selected' })).toBeEnabled();
    renderBar([item(4, 'left', '1.00')]);
    expect(screen.getAllByRole('button', { name: 'Match with write-off' }).at(-1)).toBeDisabled();
  });
  it('renders nothing without a selection', () => {
    const { container } = renderBar([]);
    expect(container.querySelector('[aria-label="Selection"]')).toBeNull();
  });
});
