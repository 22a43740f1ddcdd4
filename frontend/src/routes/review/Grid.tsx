// The grid of one review tab: its cursor-paged rows, the active row and its side panel, and the keyboard
// shortcuts. It is its own component so that a page of rows arriving while scrolling re-renders only the grid,
// not the tabs, filters and actions around it.
import { Box, Button, Group, Text } from '@mantine/core';
import { memo, useCallback, useEffect, useMemo, useState } from 'react';
import { formatCount } from '../../components/format';
import { EmptyState, ErrorNotice } from '../../components/status';
import { VirtualTable, VirtualTableSkeleton } from '../../components/VirtualTable';
import { useReviewAction, useTabRows, type Row } from './api';
import { GROUP_COLUMNS, ITEM_COLUMNS, rowView } from './columns';
import { GroupPanel, ItemPanel } from './Panel';
import type { Filters, Tab } from './state';

function typingIn(target: EventTarget | null): boolean {
  const element = target as HTMLElement | null;
  if (!element) return false;
  return ['INPUT', 'TEXTAREA', 'SELECT'].includes(element.tagName) || element.isContentEditable || Boolean(element.closest('[role="dialog"]'));
}

export interface ReviewGridProps {
  runId: string;
  tab: Tab;
  filters: Filters;
  totalRows: number | undefined;
  selected: ReadonlyMap<string, Row>;
  toggle: (row: Row) => void;
  canAct: boolean;
  reasons: string[];
  members: { value: string; label: string }[];
  onHelp: () => void;
}

export const ReviewGrid = memo(function ReviewGrid({ runId, tab, filters, totalRows, selected, toggle, canAct, reasons, members, onHelp }: ReviewGridProps) {
  const rows = useTabRows(runId, tab, filters);
  const action = useReviewAction(runId);
  // The loaded pages end to end (concat copies references only: no row is formatted or rendered again when a
  // page is appended).
  const pages = rows.data?.pages;
  const all = useMemo(() => (pages ? ([] as Row[]).concat(...pages.map((p) => p.items)) : []), [pages]);
  const [active, setActive] = useState<number | null>(null);
  const [panelOpen, setPanelOpen] = useState(false);
  const activeRow = active !== null ? all[active] : undefined;

  const { hasNextPage, isFetchingNextPage, fetchNextPage } = rows;
  const loadMore = useCallback(() => {
    if (hasNextPage && !isFetchingNextPage) void fetchNextPage();
  }, [hasNextPage, isFetchingNextPage, fetchNextPage]);
  const toggleAt = useCallback(
    (index: number) => {
      const row = all[index];
      if (row) toggle(row);
    },
    [all, toggle],
  );
  const openAt = useCallback((index: number) => {
    setActive(index);
    setPanelOpen(true);
  }, []);

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.ctrlKey || event.metaKey || event.altKey || typingIn(event.target)) return;
      const move = (delta: number) => {
        event.preventDefault();
        setActive((current) => Math.max(0, Math.min(all.length - 1, (current ?? -1) + delta)));
      };
      switch (event.key) {
        case 'j':
        case 'ArrowDown':
          return move(1);
        case 'k':
        case 'ArrowUp':
          return move(-1);
        case 'Enter':
        case 'o':
          if (activeRow) setPanelOpen(true);
          return;
        case 'Escape':
          return setPanelOpen(false);
        case 'x':
        case ' ':
          if (activeRow) {
            event.preventDefault();
            toggle(activeRow);
          }
          return;
        case 'c':
          if (canAct && activeRow?.rowType === 'group' && activeRow.status === 'suggested') {
            if (Number(activeRow.difference) === 0) action.mutate({ action: 'confirm', body: { group_id: activeRow.id, version: activeRow.version } });
            else setPanelOpen(true); // a difference needs a write-off reason: the panel asks for it
          }
          return;
        case 'r':
          if (canAct && activeRow?.rowType === 'group' && activeRow.status === 'suggested') {
            action.mutate({ action: 'reject', body: { group_id: activeRow.id, version: activeRow.version } });
          }
          return;
        case '?':
          return onHelp();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [all.length, activeRow, toggle, canAct, action, onHelp]);

  const columns = tab.kind === 'groups' ? GROUP_COLUMNS : ITEM_COLUMNS;
  return (
    <>
      <Text size="sm" c="dimmed" aria-live="polite">
        {rows.isPending ? 'Loading…' : `${formatCount(all.length)}${rows.hasNextPage ? '+' : ''} shown`}
        {selected.size ? ` · ${selected.size} selected` : ''}
      </Text>
      <Box style={{ display: 'flex', gap: 'var(--mantine-spacing-md)', alignItems: 'flex-start' }}>
        <Box style={{ flex: 1, minWidth: 0 }}>
          {rows.isPending ? (
            <VirtualTableSkeleton label={tab.label} columns={columns} />
          ) : rows.error ? (
            <ErrorNotice error={rows.error} onRetry={() => void rows.refetch()} />
          ) : all.length === 0 ? (
            <EmptyState title={`Nothing in ${tab.label.toLowerCase()}`}>No row matches this tab and filter.</EmptyState>
          ) : (
            <VirtualTable
              label={tab.label}
              rows={all}
              view={rowView}
              columns={columns}
              totalRows={totalRows}
              activeIndex={active}
              selectedKeys={selected}
              onToggle={toggleAt}
              onRowClick={openAt}
              onEndReached={loadMore}
              loadingMore={rows.isFetchingNextPage}
              height="calc(100vh - 380px)"
            />
          )}
        </Box>
        {panelOpen && activeRow && (
          <Box w={520} style={{ flexShrink: 0, maxHeight: 'calc(100vh - 300px)', overflow: 'auto' }}>
            <Group justify="flex-end">
              <Button size="xs" variant="subtle" onClick={() => setPanelOpen(false)}>
                Close panel
              </Button>
            </Group>
            {activeRow.rowType === 'group' ? (
              <GroupPanel key={`${activeRow.id}-${activeRow.version}`} runId={runId} group={activeRow} reasons={reasons} members={members} canAct={canAct} />
            ) : (
              <ItemPanel key={`${activeRow.id}-${activeRow.version}`} runId={runId} item={activeRow} members={members} canAct={canAct} />
            )}
          </Box>
        )}
      </Box>
      {action.error ? <ErrorNotice error={action.error} title="The shortcut's action failed" /> : null}
    </>
  );
});
