// Actions on the selected rows: manual match of records of both sides (the running difference shown, a
// write-off reason when it is not zero), write-off or reconciling item for records, bulk confirm / reject /
// unmatch of groups; and the same actions on everything the current filter shows, after a confirmation
// that says how many groups or records and how much money.
import { Alert, Button, Group as Row, Modal, Paper, Select, Stack, Text, Textarea } from '@mantine/core';
import { useState } from 'react';
import { fieldErrors, humanMessage } from '../../api/errors';
import { isZeroDecimal, subtractDecimals, sumDecimals } from '../../components/decimal';
import { formatMoney } from '../../components/format';
import { fetchTotals, useReviewAction, type Row as ReviewRow, type Totals } from './api';
import { selectionBody, type Filters, type Tab } from './state';

const RECONCILING_TYPES = [
  { value: 'deposit_in_transit', label: 'Deposit in transit (books)' },
  { value: 'outstanding_payment', label: 'Outstanding payment (books)' },
  { value: 'bank_error', label: 'Bank error (bank)' },
  { value: 'timing', label: 'Timing (either side)' },
];

type ItemRow = Extract<ReviewRow, { rowType: 'item' }>;
type GroupRow = Extract<ReviewRow, { rowType: 'group' }>;

export function SelectionBar({
  runId,
  selected,
  reasons,
  onDone,
}: {
  runId: string;
  selected: ReviewRow[];
  reasons: string[];
  onDone: () => void;
}) {
  const action = useReviewAction(runId);
  const [comment, setComment] = useState('');
  const [reason, setReason] = useState<string | null>(null);
  const [reconciling, setReconciling] = useState<string | null>(null);
  const items = selected.filter((r): r is ItemRow => r.rowType === 'item');
  const groups = selected.filter((r): r is GroupRow => r.rowType === 'group');
  if (selected.length === 0) return null;
  const left = items.filter((i) => i.side === 'left');
  const right = items.filter((i) => i.side === 'right');
  const leftTotal = sumDecimals(left.map((i) => i.amount));
  const rightTotal = sumDecimals(right.map((i) => i.amount));
  const difference = subtractDecimals(leftTotal, rightTotal);
  const differs = !isZeroDecimal(difference);
  const errors = fieldErrors(action.error);
  const refs = items.map((i) => ({ id: i.id, version: i.version }));
  const grefs = groups.map((g) => ({ id: g.id, version: g.version }));
  const done = { onSuccess: () => { setComment(''); setReason(null); onDone(); } };
  const groupDiffers = groups.some((g) => !isZeroDecimal(g.difference));
  return (
    <Paper withBorder p="sm" role="region" aria-label="Selection">
      <Stack gap="xs">
        {items.length > 0 && (
          <Text size="sm" aria-live="polite">
            Left: {left.length} record(s), {formatMoney(leftTotal)} · Right: {right.length} record(s), {formatMoney(rightTotal)} ·{' '}
            <strong>Difference {formatMoney(difference)}</strong>
          </Text>
        )}
        {groups.length > 0 && <Text size="sm">{groups.length} group(s) selected</Text>}
        <Row align="flex-end" gap="xs">
          {(differs || groupDiffers || items.length > 0) && (
            <Select label="Write-off reason" data={reasons} value={reason} onChange={setReason} error={errors.writeoff_reason ?? errors.reason_code} w={200} clearable />
          )}
          <Textarea label="Comment for the selection" value={comment} onChange={(e) => setComment(e.currentTarget.value)} error={errors.comment} autosize minRows={1} style={{ flex: 1 }} />
        </Row>
        {action.error && !errors.comment && !errors.writeoff_reason && !errors.reason_code ? (
          <Text c="red.9" size="sm" role="alert">
            {humanMessage(action.error)}
          </Text>
        ) : null}
        <Row gap="xs">
          {items.length > 0 && (
            <>
              <Button
                disabled={left.length === 0 || right.length === 0}
                loading={action.isPending}
                onClick={() =>
                  action.mutate({ action: 'manual-match', body: { items: refs, comment, ...(differs && reason ? { writeoff_reason: reason } : {}) } }, done)
                }
              >
                {differs ? 'Match with write-off' : 'Match selected'}
              </Button>
              <Button variant="light" loading={action.isPending} onClick={() => action.mutate({ action: 'bulk/writeoff', body: { items: refs, reason_code: reason ?? '', comment } }, done)}>
                Write off each
              </Button>
              <Select aria-label="Reconciling item type" placeholder="Reconciling item type" data={RECONCILING_TYPES} value={reconciling} onChange={setReconciling} w={240} />
              <Button
                variant="light"
                disabled={!reconciling}
                loading={action.isPending}
                onClick={() => action.mutate({ action: 'reconciling-items', body: { items: refs, type: reconciling, comment } }, done)}
              >
                Explain as reconciling items
              </Button>
            </>
          )}
          {groups.length > 0 && (
            <>
              <Button loading={action.isPending} onClick={() => action.mutate({ action: 'bulk/confirm', body: { groups: grefs, comment, ...(reason ? { writeoff_reason: reason } : {}) } }, done)}>
                Confirm selected
              </Button>
              <Button variant="light" color="red" loading={action.isPending} onClick={() => action.mutate({ action: 'bulk/reject', body: { groups: grefs, comment } }, done)}>
                Reject selected
              </Button>
              <Button variant="light" color="orange" loading={action.isPending} onClick={() => action.mutate({ action: 'bulk/unmatch', body: { groups: grefs, comment } }, done)}>
                Unmatch selected
              </Button>
            </>
          )}
          <Button variant="subtle" onClick={onDone}>
            Clear selection
          </Button>
        </Row>
      </Stack>
    </Paper>
  );
}

function describeTotals(totals: Totals): string {
  const what = totals.kind === 'groups' ? 'group(s)' : 'record(s)';
  const money =
    totals.kind === 'groups'
      ? totals.rows.map((r) => `${formatMoney(r.left_total)} left / ${formatMoney(r.right_total)} right${r.currency ? ` ${r.currency}` : ''} (difference ${formatMoney(r.difference)})`)
      : totals.rows.map((r) => `${formatMoney(r.amount)}${r.currency ? ` ${r.currency}` : ''}`);
  return `${totals.count.toLocaleString()} ${what}${money.length ? `, ${money.join('; ')}` : ''}`;
}

const FILTER_ACTIONS: Record<'groups' | 'items', { value: string; label: string }[]> = {
  groups: [
    { value: 'confirm', label: 'Confirm' },
    { value: 'reject', label: 'Reject' },
    { value: 'unmatch', label: 'Unmatch' },
    { value: 'writeoff', label: 'Write off (breaks)' },
  ],
  items: [{ value: 'writeoff', label: 'Write off each record' }],
};

/** "Everything the current filter shows": counts and money first, then one all-or-nothing request. */
export function FilterAction({ runId, tab, filters, reasons }: { runId: string; tab: Tab; filters: Filters; reasons: string[] }) {
  const action = useReviewAction(runId);
  const [opened, setOpened] = useState(false);
  const [totals, setTotals] = useState<Totals | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [which, setWhich] = useState<string>(tab.kind === 'groups' ? 'confirm' : 'writeoff');
  const [comment, setComment] = useState('');
  const [reason, setReason] = useState<string | null>(null);
  const open = () => {
    setOpened(true);
    setTotals(null);
    setLoadError(null);
    action.reset();
    setWhich(tab.kind === 'groups' ? (tab.id === 'matched' ? 'unmatch' : 'confirm') : 'writeoff');
    fetchTotals(runId, tab, filters).then(setTotals, setLoadError);
  };
  const errors = fieldErrors(action.error);
  return (
    <>
      <Button variant="default" onClick={open}>
        Act on everything shown…
      </Button>
      <Modal opened={opened} onClose={() => setOpened(false)} title="Act on everything the filter shows" size="lg">
        <Stack gap="sm">
          {loadError ? <Alert color="red">{humanMessage(loadError)}</Alert> : null}
          {!totals && !loadError && <Text size="sm">Counting…</Text>}
          {totals && (
            <>
              <Text size="sm" role="status">
                This touches {describeTotals(totals)}.
              </Text>
              <Select label="Action" data={FILTER_ACTIONS[tab.kind]} value={which} onChange={(v) => v && setWhich(v)} allowDeselect={false} />
              <Select label="Write-off reason" data={reasons} value={reason} onChange={setReason} clearable error={errors.reason_code} description="Needed for write-offs and for confirming groups with a difference" />
              <Textarea label="Comment" value={comment} onChange={(e) => setComment(e.currentTarget.value)} error={errors.comment} autosize minRows={1} />
              {action.error && !errors.comment && !errors.reason_code ? (
                <Text c="red.9" size="sm" role="alert">
                  {humanMessage(action.error)}
                </Text>
              ) : null}
              <Row justify="flex-end">
                <Button variant="default" onClick={() => setOpened(false)}>
                  Cancel
                </Button>
                <Button
                  disabled={totals.count === 0}
                  loading={action.isPending}
                  onClick={() =>
                    action.mutate(
                      {
                        action: 'bulk/by-filter',
                        body: { action: which, ...selectionBody(tab, filters), expected_count: totals.count, comment, ...(reason ? { reason_code: reason } : {}) },
                      },
                      { onSuccess: () => setOpened(false) },
                    )
                  }
                >
                  {`${FILTER_ACTIONS[tab.kind].find((a) => a.value === which)?.label ?? which} ${totals.count.toLocaleString()}`}
                </Button>
              </Row>
            </>
          )}
        </Stack>
      </Modal>
    </>
  );
}
