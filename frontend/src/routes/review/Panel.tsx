// The side panel of the active row: a group's members side by side with the per-field differences and
// similarity of the explanation, its actions (confirm with a write-off when the sides differ, reject,
// unmatch), assignment and comments; or one record's fields.
import { Badge, Button, Group as Row, Select, Stack, Table, Text, Textarea, Title } from '@mantine/core';
import { useState } from 'react';
import { fieldErrors, humanMessage } from '../../api/errors';
import { formatDateTime, formatMoney } from '../../components/format';
import { isZeroDecimal } from '../../components/decimal';
import { QueryView } from '../../components/status';
import { useComments, useReviewAction, type Group, type Item } from './api';

type Explained = { field?: string; left?: unknown; right?: unknown; diff?: unknown; days?: unknown; sim?: unknown; ok?: unknown; method?: string };

function explanationRows(explanation: unknown): Explained[] {
  if (!explanation || typeof explanation !== 'object') return [];
  const parts = explanation as Record<string, unknown>;
  const rows: Explained[] = [];
  for (const key of ['match', 'score', 'compare']) {
    const list = parts[key];
    if (Array.isArray(list)) rows.push(...(list as Explained[]).map((r) => ({ ...r, method: r.method ?? key })));
  }
  return rows;
}

function text(value: unknown): string {
  if (value === null || value === undefined || value === '') return '—';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function Members({ items, side }: { items: Item[]; side: 'left' | 'right' }) {
  return (
    <Stack gap={4} style={{ flex: 1, minWidth: 0 }}>
      <Text fw={600} size="sm">
        {side === 'left' ? 'Left' : 'Right'} ({items.length})
      </Text>
      <Table aria-label={`${side === 'left' ? 'Left' : 'Right'} members`} fz="xs" withTableBorder>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Date</Table.Th>
            <Table.Th>Amount</Table.Th>
            <Table.Th>Reference</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((item) => (
            <Table.Tr key={item.id} title={[item.counterparty, item.description].filter(Boolean).join(' · ')}>
              <Table.Td>{item.date ?? '—'}</Table.Td>
              <Table.Td>{formatMoney(item.amount)}</Table.Td>
              <Table.Td>{item.reference ?? item.ext_id ?? '—'}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Stack>
  );
}

function Comments({ runId, target, targetId, canAct }: { runId: string; target: 'group' | 'item'; targetId: number; canAct: boolean }) {
  const comments = useComments(runId, target, targetId);
  const action = useReviewAction(runId);
  const [textValue, setText] = useState('');
  return (
    <Stack gap={4}>
      <Text fw={600} size="sm">
        Comments
      </Text>
      <QueryView query={comments} label="Loading comments">
        {(page) =>
          page.items.length === 0 ? (
            <Text size="xs" c="dimmed">
              No comments yet.
            </Text>
          ) : (
            <Stack gap={2}>
              {page.items.map((c) => (
                <Text size="xs" key={c.id}>
                  {formatDateTime(c.created_at)}: {c.text}
                </Text>
              ))}
            </Stack>
          )
        }
      </QueryView>
      {canAct && (
        <Row align="flex-end" gap="xs">
          <Textarea label="New comment" value={textValue} onChange={(e) => setText(e.currentTarget.value)} autosize minRows={1} style={{ flex: 1 }} error={action.error ? humanMessage(action.error) : undefined} />
          <Button
            size="xs"
            variant="light"
            disabled={!textValue.trim()}
            loading={action.isPending}
            onClick={() =>
              action.mutate(
                { action: 'comments', body: { target, target_id: targetId, text: textValue } },
                { onSuccess: () => { setText(''); void comments.refetch(); } },
              )
            }
          >
            Add comment
          </Button>
        </Row>
      )}
    </Stack>
  );
}

export function Assign({
  runId,
  members,
  body,
  current,
}: {
  runId: string;
  members: { value: string; label: string }[];
  body: (assignee: string | null) => Record<string, unknown>;
  current: string | null;
}) {
  const action = useReviewAction(runId);
  return (
    <Select
      label="Assignee"
      data={[{ value: '', label: 'Unassigned' }, ...members]}
      value={current ?? ''}
      onChange={(value) => action.mutate({ action: 'assign', body: body(value || null) })}
      error={action.error ? humanMessage(action.error) : undefined}
      w={260}
    />
  );
}

export function GroupPanel({
  runId,
  group,
  reasons,
  members,
  canAct,
}: {
  runId: string;
  group: Group;
  reasons: string[];
  members: { value: string; label: string }[];
  canAct: boolean;
}) {
  const action = useReviewAction(runId);
  const [comment, setComment] = useState('');
  const [reason, setReason] = useState<string | null>(null);
  const differs = !isZeroDecimal(group.difference);
  const left = (group.members ?? []).filter((m) => m.side === 'left');
  const right = (group.members ?? []).filter((m) => m.side === 'right');
  const errors = fieldErrors(action.error);
  const ref = { group_id: group.id, version: group.version };
  const done = { onSuccess: () => { setComment(''); setReason(null); } };
  const canConfirm = group.status === 'suggested' || group.status === 'break';
  const canUnmatch = group.status === 'matched' || group.status === 'break';
  return (
    <Stack gap="sm" aria-label={`Group ${group.seq}`} role="region">
      <Row justify="space-between">
        <Title order={4}>Group {group.seq}</Title>
        <Badge variant="light">{group.status.replace('_', ' ')}</Badge>
      </Row>
      <Text size="sm">
        Pass {group.pass_name ?? 'manual'} · score {group.score === null ? '—' : group.score.toFixed(3)} · left {formatMoney(group.left_total)} · right{' '}
        {formatMoney(group.right_total)} · difference <strong>{formatMoney(group.difference)}</strong> {group.currency ?? ''}
      </Text>
      <Row align="flex-start" gap="sm" wrap="nowrap">
        <Members items={left} side="left" />
        <Members items={right} side="right" />
      </Row>
      <Table aria-label="Explanation" fz="xs" withTableBorder>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Field</Table.Th>
            <Table.Th>Left</Table.Th>
            <Table.Th>Right</Table.Th>
            <Table.Th>Difference / similarity</Table.Th>
            <Table.Th>Agrees</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {explanationRows(group.explanation).map((row, index) => (
            <Table.Tr key={index}>
              <Table.Td>{text(row.field)}</Table.Td>
              <Table.Td>{text(row.left)}</Table.Td>
              <Table.Td>{text(row.right)}</Table.Td>
              <Table.Td>
                {row.sim !== undefined ? `similarity ${Number(row.sim).toFixed(3)}` : row.days !== undefined ? `${text(row.days)} days` : text(row.diff)}
              </Table.Td>
              <Table.Td>{row.ok === undefined ? '—' : row.ok ? 'yes' : 'no'}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {canAct && (canConfirm || canUnmatch || group.status === 'suggested') && (
        <Stack gap="xs">
          {canConfirm && differs && (
            <Select
              label="Write-off reason"
              description={`Confirming writes off the difference of ${formatMoney(group.difference)}`}
              data={reasons}
              value={reason}
              onChange={setReason}
              error={errors.writeoff_reason}
            />
          )}
          <Textarea
            label="Comment"
            description={differs || canUnmatch ? 'Required: this changes money' : 'Optional'}
            value={comment}
            onChange={(e) => setComment(e.currentTarget.value)}
            error={errors.comment}
            autosize
            minRows={1}
          />
          {action.error && !errors.comment && !errors.writeoff_reason ? (
            <Text c="red.9" size="sm" role="alert">
              {humanMessage(action.error)}
            </Text>
          ) : null}
          <Row gap="xs">
            {canConfirm && (
              <Button
                loading={action.isPending}
                onClick={() =>
                  action.mutate({ action: 'confirm', body: { ...ref, comment, ...(differs && reason ? { writeoff_reason: reason } : {}) } }, done)
                }
              >
                {differs ? 'Confirm with write-off' : 'Confirm'}
              </Button>
            )}
            {group.status === 'suggested' && (
              <Button variant="light" color="red" loading={action.isPending} onClick={() => action.mutate({ action: 'reject', body: { ...ref, comment } }, done)}>
                Reject
              </Button>
            )}
            {canUnmatch && (
              <Button variant="light" color="orange" loading={action.isPending} onClick={() => action.mutate({ action: 'unmatch', body: { ...ref, comment } }, done)}>
                Unmatch
              </Button>
            )}
          </Row>
        </Stack>
      )}
      {canAct && (
        <Assign runId={runId} members={members} current={group.assignee_id} body={(assignee) => ({ groups: [{ id: group.id, version: group.version }], items: [], assignee_id: assignee })} />
      )}
      <Comments runId={runId} target="group" targetId={group.id} canAct={canAct} />
    </Stack>
  );
}

export function ItemPanel({ runId, item, members, canAct }: { runId: string; item: Item; members: { value: string; label: string }[]; canAct: boolean }) {
  const fields: [string, string][] = [
    ['Side', item.side],
    ['Id in file', item.ext_id ?? '—'],
    ['Row', String(item.row_no)],
    ['Date', item.date ?? '—'],
    ['Amount', `${formatMoney(item.amount)} ${item.currency ?? ''}`],
    ['Reference', item.reference ?? '—'],
    ['Counterparty', item.counterparty ?? '—'],
    ['Description', item.description ?? '—'],
    ['Reason', item.reason ?? '—'],
    ['Detail', item.detail ?? '—'],
    ['Age', item.age_days === null ? '—' : `${item.age_days} days`],
  ];
  return (
    <Stack gap="sm" role="region" aria-label={`Record ${item.ext_id ?? item.id}`}>
      <Title order={4}>Record {item.ext_id ?? item.id}</Title>
      <Table aria-label="Record fields" fz="sm">
        <Table.Tbody>
          {fields.map(([name, value]) => (
            <Table.Tr key={name}>
              <Table.Th w={120}>{name}</Table.Th>
              <Table.Td>{value}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {canAct && (
        <Assign runId={runId} members={members} current={item.assignee_id} body={(assignee) => ({ groups: [], items: [{ id: item.id, version: item.version }], assignee_id: assignee })} />
      )}
      <Comments runId={runId} target="item" targetId={item.id} canAct={canAct} />
    </Stack>
  );
}
