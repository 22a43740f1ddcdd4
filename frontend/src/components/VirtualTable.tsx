// A virtualised table for very long lists (100k rows), cheap per row so that fast scrolling stays under the
// 50 ms long-task budget:
// - rows have one fixed height, so the visible window is arithmetic on scrollTop (no per-row measurement
//   and nothing proportional to the list's length per scroll or per appended page);
// - the row elements are reused: React renders a fixed number of empty row elements (as many as the view
//   holds, changing on resize only) and `paint` writes the rows in view into them, the n-th element showing the
//   n-th row of the window; the rows flow from the body's top padding (the window's offset). A scroll event
//   calls `paint` directly: no React render per frame, and only changed texts and attributes are written (new
//   rows, then a transform per row, then a React render per frame were most of the work). DOM order stays the
//   visual order;
// - a row's cells are text, computed by `view` when the row first scrolls into sight and kept (per row object)
//   for the next time: nothing is formatted for rows never shown, nor again for rows shown before;
// - selection is a native checkbox, and clicks are handled once on the body (no handler per row or cell);
// - `onEndReached` asks for the next cursor page `prefetchRows` rows before the end.
import { Box, Loader, Text } from '@mantine/core';
import { useCallback, useLayoutEffect, useMemo, useRef, useState, type CSSProperties, type MouseEvent, type ReactNode } from 'react';
import classes from './VirtualTable.module.css';

export interface VirtualColumn {
  id: string;
  header: ReactNode;
  width?: number;
}

/** What a row shows: its cells as text (in column order) and, with selection, the checkbox's accessible name. */
export interface VirtualRow {
  key: string;
  cells: readonly string[];
  label?: string;
}

export interface VirtualTableProps<T extends object> {
  label: string;
  rows: readonly T[];
  /** What the table shows of a row: a stable function (module level or memoised), its answers are cached. */
  view: (row: T) => VirtualRow;
  columns: readonly VirtualColumn[];
  totalRows?: number;
  height?: number | string;
  rowHeight?: number;
  overscan?: number;
  prefetchRows?: number;
  activeIndex?: number | null;
  /** With it, a first column of checkboxes: `selectedKeys.has(row.key)` checks one, `onToggle` flips it. */
  selectedKeys?: { has: (key: string) => boolean };
  onToggle?: (index: number) => void;
  onRowClick?: (index: number) => void;
  onEndReached?: () => void;
  loadingMore?: boolean;
}

function setAttribute(element: Element, name: string, value: string | null): void {
  if (value === null) {
    if (element.hasAttribute(name)) element.removeAttribute(name);
  } else if (element.getAttribute(name) !== value) element.setAttribute(name, value);
}

export function VirtualTable<T extends object>({
  label,
  rows,
  view,
  columns,
  totalRows,
  height = 520,
  rowHeight = 36,
  // Rows are written in the scroll event, before paint: no blank edge to hide, so little overscan.
  overscan = 1,
  prefetchRows = 500,
  activeIndex,
  selectedKeys,
  onToggle,
  onRowClick,
  onEndReached,
  loadingMore,
}: VirtualTableProps<T>) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const bodyRef = useRef<HTMLTableSectionElement>(null);
  const selectable = Boolean(selectedKeys);
  // How many row elements: the rows a full view holds plus overscan either side (measured; resize only).
  const [slots, setSlots] = useState(0);

  // The rows' views, kept per row object for as long as the table is given the same `view`.
  const viewOf = useMemo(() => {
    const cache = new WeakMap<T, VirtualRow>();
    return (row: T) => {
      let shown = cache.get(row);
      if (!shown) cache.set(row, (shown = view(row)));
      return shown;
    };
  }, [view]);

  // What paint reads: the latest props, without paint (and the scroll listener) changing identity.
  const latest = useRef({ rows, viewOf, selectedKeys, activeIndex, onEndReached, loadingMore });
  latest.current = { rows, viewOf, selectedKeys, activeIndex, onEndReached, loadingMore };
  const endAskedAt = useRef(-1); // rows.length when onEndReached was last called: once per length

  const paint = useCallback(() => {
    const scroller = scrollRef.current;
    const body = bodyRef.current;
    if (!scroller || !body) return;
    const { rows, viewOf, selectedKeys, activeIndex, onEndReached, loadingMore } = latest.current;
    const first = Math.floor(scroller.scrollTop / rowHeight);
    const visible = Math.ceil(scroller.clientHeight / rowHeight) + 1;
    const start = Math.max(0, first - overscan);
    const end = Math.min(rows.length, first + visible + overscan);
    const offset = `${start * rowHeight}px`;
    if (body.style.paddingTop !== offset) body.style.paddingTop = offset;
    const elements = body.rows;
    for (let slot = 0; slot < elements.length; slot++) {
      const tr = elements[slot]!;
      const index = start + slot;
      const row = index < end ? rows[index] : undefined;
      if (row === undefined) {
        if (!tr.hidden) tr.hidden = true;
        continue;
      }
      if (tr.hidden) tr.hidden = false;
      const shown = viewOf(row);
      const selected = selectedKeys?.has(shown.key) ?? false;
      const active = activeIndex === index;
      setAttribute(tr, 'data-index', String(index));
      setAttribute(tr, 'aria-rowindex', String(index + 2));
      setAttribute(tr, 'aria-selected', selected || active ? 'true' : null);
      setAttribute(tr, 'aria-current', active ? 'true' : null);
      setAttribute(tr, 'data-active', active ? 'true' : null);
      const cells = tr.cells;
      let column = 0;
      if (selectable) {
        const box = cells[0]?.firstElementChild as HTMLInputElement | null;
        if (box) {
          if (box.checked !== selected) box.checked = selected;
          setAttribute(box, 'aria-label', shown.label ?? shown.key);
        }
        column = 1;
      }
      for (let k = 0; k < shown.cells.length; k++) {
        const td = cells[column + k];
        const text = shown.cells[k]!;
        if (td && td.textContent !== text) td.textContent = text;
      }
    }
    if (onEndReached && !loadingMore && rows.length > 0 && end >= rows.length - prefetchRows && endAskedAt.current !== rows.length) {
      endAskedAt.current = rows.length;
      onEndReached();
    }
  }, [rowHeight, overscan, selectable, prefetchRows]);

  // After every render (rows appended, selection, active row, new slots): the rows in view again.
  useLayoutEffect(paint);

  useLayoutEffect(() => {
    const element = scrollRef.current;
    if (!element) return;
    const measure = () => setSlots(Math.ceil(element.clientHeight / rowHeight) + 1 + 2 * overscan);
    measure();
    element.addEventListener('scroll', paint, { passive: true });
    const resize = new ResizeObserver(() => {
      measure();
      paint();
    });
    resize.observe(element);
    return () => {
      element.removeEventListener('scroll', paint);
      resize.disconnect();
    };
  }, [paint, rowHeight, overscan]);

  useLayoutEffect(() => {
    const element = scrollRef.current;
    if (!element || activeIndex === null || activeIndex === undefined || activeIndex < 0) return;
    // Keep the active row in view below the sticky header (keyboard j/k).
    const header = rowHeight;
    const top = activeIndex * rowHeight;
    if (top < element.scrollTop) element.scrollTop = top;
    else if (top + rowHeight + header > element.scrollTop + element.clientHeight) {
      element.scrollTop = top + rowHeight + header - element.clientHeight;
    }
    paint();
  }, [activeIndex, rowHeight, paint]);

  const onBodyClick = useCallback(
    (event: MouseEvent<HTMLTableSectionElement>) => {
      const target = event.target as HTMLElement;
      const row = target.closest<HTMLElement>('tr[data-index]');
      if (!row) return;
      const index = Number(row.dataset.index);
      if (target instanceof HTMLInputElement && target.type === 'checkbox') onToggle?.(index);
      else onRowClick?.(index);
    },
    [onToggle, onRowClick],
  );

  const widths = selectable ? [{ id: 'select', width: 44 }, ...columns] : columns;
  const template = widths.map((c) => (c.width ? `${c.width}px` : 'minmax(110px, 1fr)')).join(' ');
  // Empty row elements: `paint` fills them (React renders them again only when their number changes).
  const slotRows: ReactNode[] = [];
  for (let slot = 0; slot < slots; slot++) {
    slotRows.push(
      <tr key={slot} className={classes.row} data-clickable={onRowClick ? true : undefined} hidden>
        {selectable && (
          <td className={classes.cell}>
            <input type="checkbox" className={classes.check} />
          </td>
        )}
        {columns.map((column) => (
          <td key={column.id} className={classes.cell} />
        ))}
      </tr>,
    );
  }

  return (
    <Box
      ref={scrollRef}
      className={classes.scroller}
      style={{ height }}
      tabIndex={0}
      role="region"
      aria-label={`${label} (scrollable)`}
      data-testid="virtual-scroller"
    >
      <table
        className={classes.table}
        aria-label={label}
        aria-rowcount={(totalRows ?? rows.length) + 1}
        // Column widths and row height once for all rows, not in each row's style.
        style={{ '--vt-columns': template, '--vt-row-height': `${rowHeight}px` } as CSSProperties}
      >
        <thead className={classes.head}>
          <tr className={classes.row} style={{ gridTemplateColumns: template }} aria-rowindex={1}>
            {selectable && (
              <th className={classes.cell} scope="col">
                <span className={classes.hidden}>Select</span>
              </th>
            )}
            {columns.map((column) => (
              <th key={column.id} className={classes.cell} scope="col">
                {column.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody ref={bodyRef} className={classes.body} style={{ height: rows.length * rowHeight }} onClick={onBodyClick}>
          {slotRows}
        </tbody>
      </table>
      {loadingMore && (
        <Box className={classes.more} role="status">
          <Loader size="xs" aria-hidden /> <Text size="xs" span>Loading more…</Text>
        </Box>
      )}
    </Box>
  );
}

/** The grid's shape while its first page loads: the header and a few placeholder rows, no spinner jump. */
export function VirtualTableSkeleton({ label, columns, rows = 8, rowHeight = 36 }: { label: string; columns: readonly VirtualColumn[]; rows?: number; rowHeight?: number }) {
  const template = columns.map((c) => (c.width ? `${c.width}px` : 'minmax(110px, 1fr)')).join(' ');
  return (
    <Box className={classes.scroller} style={{ height: (rows + 1) * rowHeight + 8, contain: 'content' }} role="status" aria-label={`Loading ${label}`}>
      <div className={classes.table} aria-hidden>
        <div className={`${classes.row} ${classes.head}`} style={{ gridTemplateColumns: template }}>
          {columns.map((column) => (
            <div key={column.id} className={`${classes.cell} ${classes.headCell}`}>
              {column.header}
            </div>
          ))}
        </div>
        {Array.from({ length: rows }, (_, index) => (
          <div key={index} className={classes.skeletonRow} style={{ height: rowHeight - 12 }} />
        ))}
      </div>
      <span className={classes.hidden}>Loading rows…</span>
    </Box>
  );
}
