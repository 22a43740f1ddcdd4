// The review grid's columns, and each row's cells as text: computed once when a page of rows is fetched (not
// on every render of a scrolled-in row), with the row's key and the accessible name of its checkbox.
import { formatMoney } from '../../components/format';
import type { VirtualColumn, VirtualRow } from '../../components/VirtualTable';
import type { Group, Item, Row } from './api';

interface Column<T> extends VirtualColumn {
  text: (row: T) => string;
}

const orDash = (value: string | number | null | undefined) => (value === null || value === undefined || value === '' ? '—' : String(value));

export const GROUP_COLUMNS: Column<Group>[] = [
  { id: 'seq', header: 'Group', width: 80, text: (g) => String(g.seq) },
  { id: 'pass', header: 'Pass', width: 120, text: (g) => g.pass_name ?? 'manual' },
  { id: 'score', header: 'Score', width: 80, text: (g) => (g.score !== null && g.score !== undefined ? g.score.toFixed(3) : '—') },
  { id: 'members', header: 'Members', width: 90, text: (g) => `${g.left_count} : ${g.right_count}` },
  { id: 'left', header: 'Left total', text: (g) => formatMoney(g.left_total) },
  { id: 'right', header: 'Right total', text: (g) => formatMoney(g.right_total) },
  { id: 'diff', header: 'Difference', text: (g) => formatMoney(g.difference) },
  { id: 'ref', header: 'Reference', text: (g) => orDash(g.members?.[0]?.reference ?? g.members?.[0]?.ext_id) },
  { id: 'age', header: 'Age', width: 70, text: (g) => orDash(g.age_days) },
];

export const ITEM_COLUMNS: Column<Item>[] = [
  { id: 'ext', header: 'Id', width: 120, text: (i) => String(i.ext_id ?? i.row_no) },
  { id: 'date', header: 'Date', width: 110, text: (i) => orDash(i.date) },
  { id: 'amount', header: 'Amount', width: 130, text: (i) => formatMoney(i.amount) },
  { id: 'ref', header: 'Reference', text: (i) => orDash(i.reference) },
  { id: 'cp', header: 'Counterparty', text: (i) => orDash(i.counterparty) },
  { id: 'reason', header: 'Reason', width: 150, text: (i) => orDash(i.reason) },
  { id: 'age', header: 'Age', width: 70, text: (i) => orDash(i.age_days) },
];

export const rowKey = (row: Row) => `${row.rowType === 'group' ? 'g' : 'i'}${row.id}`;

/** What the grid shows of a row. */
export function rowView(row: Row): VirtualRow {
  if (row.rowType === 'group') {
    return { key: rowKey(row), cells: GROUP_COLUMNS.map((c) => c.text(row)), label: `Select group ${row.seq}` };
  }
  return { key: rowKey(row), cells: ITEM_COLUMNS.map((c) => c.text(row)), label: `Select record ${row.ext_id ?? row.id}` };
}
