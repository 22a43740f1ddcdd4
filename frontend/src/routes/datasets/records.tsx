// How dataset records and rejected rows are shown: the columns and the row views shared by the preview of the
// ingested records, the rejections tab and the preview of an unsaved mapping.
import type { Schemas } from '../../api/client';
import { formatMoney } from '../../components/format';
import type { VirtualColumn, VirtualRow } from '../../components/VirtualTable';

export type DatasetRecord = Schemas['RecordOut'];
export type Rejection = Schemas['RejectionOut'];

export const orDash = (value: string | number | null | undefined) => (value === null || value === undefined ? '—' : String(value));

const RECORD_COLUMNS: VirtualColumn[] = [
  { id: 'row', header: 'Row', width: 70 },
  { id: 'ext_id', header: 'Id' },
  { id: 'date', header: 'Date (date)', width: 120 },
  { id: 'amount', header: 'Amount (decimal)', width: 140 },
  { id: 'currency', header: 'Currency', width: 90 },
  { id: 'reference', header: 'Reference' },
  { id: 'counterparty', header: 'Counterparty' },
  { id: 'description', header: 'Description' },
];

/** The canonical columns, then one per extra column of the file. */
export function recordColumns(extra: readonly string[]): VirtualColumn[] {
  return [...RECORD_COLUMNS, ...extra.map((name) => ({ id: `extra.${name}`, header: `${name} (extra)` }))];
}

export function recordView(extra: readonly string[]) {
  return (r: DatasetRecord): VirtualRow => ({
    key: String(r.row),
    cells: [
      String(r.row),
      orDash(r.ext_id),
      orDash(r.date),
      formatMoney(r.amount),
      orDash(r.currency),
      orDash(r.reference),
      orDash(r.counterparty),
      orDash(r.description),
      ...extra.map((name) => String(r.extra?.[name] ?? '')),
    ],
  });
}

export const REJECTION_COLUMNS: VirtualColumn[] = [
  { id: 'row', header: 'Row', width: 80 },
  { id: 'line', header: 'Line', width: 80 },
  { id: 'column', header: 'Column', width: 160 },
  { id: 'value', header: 'Value', width: 200 },
  { id: 'reason', header: 'Reason' },
];

export const rejectionView = (r: Rejection): VirtualRow => ({
  key: `${r.row}-${r.column ?? ''}-${r.reason}`,
  cells: [String(r.row), orDash(r.line), r.column ?? '(whole record)', r.value ?? '', r.reason],
});
