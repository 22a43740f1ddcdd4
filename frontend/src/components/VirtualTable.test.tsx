import { MantineProvider } from '@mantine/core';
import { fireEvent, render, screen, within } from '@testing-library/react';
import { VirtualTable, type VirtualRow, type VirtualTableProps } from './VirtualTable';

const ROW_HEIGHT = 36;
const columns = [
  { id: 'id', header: 'Id' },
  { id: 'amount', header: 'Amount' },
];
const makeRows = (from: number, to: number): VirtualRow[] =>
  Array.from({ length: to - from }, (_, i) => ({ key: `r${from + i}`, cells: [`R${from + i}`, `${from + i}.00`], label: `Select record R${from + i}` }));
const asIs = (row: VirtualRow) => row;

// jsdom lays nothing out: the scroller is given a height of ten rows.
beforeAll(() => {
  Object.defineProperty(HTMLElement.prototype, 'clientHeight', { configurable: true, get: () => 10 * ROW_HEIGHT });
});
afterAll(() => {
  delete (HTMLElement.prototype as { clientHeight?: number }).clientHeight;
});

function renderTable(props: Partial<VirtualTableProps<VirtualRow>> = {}) {
  const rows = makeRows(0, 1000);
  const view = (extra: Partial<VirtualTableProps<VirtualRow>>) => (
    <MantineProvider>
      <VirtualTable label="Records" rows={rows} view={asIs} columns={columns} rowHeight={ROW_HEIGHT} overscan={2} {...props} {...extra} />
    </MantineProvider>
  );
  const result = render(view({}));
  return { ...result, rows, rerenderWith: (extra: Partial<VirtualTableProps<VirtualRow>>) => result.rerender(view(extra)) };
}

const bodyRows = () => within(screen.getByRole('table', { name: 'Records' })).getAllByRole('row').slice(1);

describe('VirtualTable', () => {
  it('renders only the rows in view (plus overscan) of a long list, and the rows below on scroll', () => {
    renderTable();
    expect(bodyRows()).toHaveLength(13); // 10 + 1 partly visible + 2 overscan
    expect(screen.getByRole('table', { name: 'Records' })).toHaveAttribute('aria-rowcount', '1001');
    const scroller = screen.getByRole('region', { name: 'Records (scrollable)' });
    scroller.scrollTop = 500 * ROW_HEIGHT;
    fireEvent.scroll(scroller);
    const shown = bodyRows();
    expect(shown[0]).toHaveAttribute('aria-rowindex', String(498 + 2));
    expect(within(shown[2]!).getByText('R500')).toBeInTheDocument();
    expect(screen.queryByText('R0')).toBeNull();
  });

  it('toggles a row with its native checkbox (named for screen readers) without opening it', () => {
    const onToggle = vi.fn();
    const onRowClick = vi.fn();
    const { rerenderWith } = renderTable({ selectedKeys: new Set<string>(), onToggle, onRowClick });
    const box = screen.getByRole('checkbox', { name: 'Select record R3' });
    expect(box).not.toBeChecked();
    fireEvent.click(box);
    expect(onToggle).toHaveBeenCalledWith(3);
    expect(onRowClick).not.toHaveBeenCalled();
    rerenderWith({ selectedKeys: new Set(['r3']), onToggle, onRowClick });
    expect(screen.getByRole('checkbox', { name: 'Select record R3' })).toBeChecked();
    expect(screen.getByRole('checkbox', { name: 'Select record R3' }).closest('tr')).toHaveAttribute('aria-selected', 'true');
    fireEvent.click(screen.getByText('R4'));
    expect(onRowClick).toHaveBeenCalledWith(4);
    expect(onToggle).toHaveBeenCalledTimes(1);
  });

  it('keeps the rendered rows when a page is appended, and asks for the next page near the end', () => {
    const onEndReached = vi.fn();
    const { rows, rerenderWith } = renderTable({ onEndReached, prefetchRows: 100 });
    expect(onEndReached).not.toHaveBeenCalled();
    const scroller = screen.getByRole('region', { name: 'Records (scrollable)' });
    scroller.scrollTop = 900 * ROW_HEIGHT;
    fireEvent.scroll(scroller);
    expect(onEndReached).toHaveBeenCalledTimes(1);
    scroller.scrollTop = 0;
    fireEvent.scroll(scroller);
    const again = screen.getByText('R0').closest('tr');
    rerenderWith({ rows: [...rows, ...makeRows(1000, 2000)], onEndReached, prefetchRows: 100 });
    expect(screen.getByText('R0').closest('tr')).toBe(again);
    expect(screen.getByRole('table', { name: 'Records' })).toHaveAttribute('aria-rowcount', '2001');
  });

  it('reuses its row elements when scrolled, in visual order, and formats a row once', () => {
    const view = vi.fn(asIs);
    renderTable({ view });
    const before = bodyRows();
    expect(view).toHaveBeenCalledTimes(13);
    const scroller = screen.getByRole('region', { name: 'Records (scrollable)' });
    scroller.scrollTop = 700 * ROW_HEIGHT;
    fireEvent.scroll(scroller);
    const after = bodyRows();
    // The same elements (and two more: the overscan above is now there too), showing rows 698 to 712.
    before.forEach((tr, i) => expect(after[i]).toBe(tr));
    expect(after.map((tr) => Number(tr.getAttribute('aria-rowindex')) - 2)).toEqual(Array.from({ length: 15 }, (_, i) => 698 + i));
    expect(within(after[2]!).getByText('R700')).toBeInTheDocument();
    scroller.scrollTop = 0;
    fireEvent.scroll(scroller);
    expect(screen.getByText('R0')).toBeInTheDocument();
    expect(view).toHaveBeenCalledTimes(28); // rows 0-12 were not formatted again
  });

  it('scrolls the active row into view', () => {
    const { rerenderWith } = renderTable();
    const scroller = screen.getByRole('region', { name: 'Records (scrollable)' });
    rerenderWith({ activeIndex: 40 });
    expect(scroller.scrollTop).toBe(41 * ROW_HEIGHT + ROW_HEIGHT - 10 * ROW_HEIGHT);
    rerenderWith({ activeIndex: 2 });
    expect(scroller.scrollTop).toBe(2 * ROW_HEIGHT);
  });
});
