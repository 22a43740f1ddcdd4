// The filter bar of a tab; values are applied to the URL on submit (Enter or "Apply").
import { Button, Group, NumberInput, Select, TextInput } from '@mantine/core';
import { useEffect, useState, type FormEvent } from 'react';
import type { Filters, Tab } from './state';

const GROUP_SORTS = [
  { value: 'seq', label: 'Creation order' },
  { value: '-score', label: 'Score, highest first' },
  { value: 'score', label: 'Score, lowest first' },
  { value: '-amount', label: 'Amount, largest first' },
  { value: 'amount', label: 'Amount, smallest first' },
  { value: '-age', label: 'Oldest first' },
];
const ITEM_SORTS = [
  { value: 'id', label: 'File order' },
  { value: '-amount', label: 'Amount, largest first' },
  { value: 'amount', label: 'Amount, smallest first' },
  { value: 'date', label: 'Date, earliest first' },
  { value: '-date', label: 'Date, latest first' },
  { value: '-age', label: 'Oldest first' },
];
const REASONS = ['no_candidate', 'below_min_score', 'ambiguous', 'duplicate', 'rejected', 'rejected_suggestion', 'unmatched_manually'];
const MATCHED_STATUSES = [
  { value: 'matched', label: 'Matched' },
  { value: 'pending_approval', label: 'Pending approval' },
  { value: 'reconciling', label: 'Reconciling items' },
];

export function FilterBar({
  tab,
  filters,
  members,
  onApply,
}: {
  tab: Tab;
  filters: Filters;
  members: { value: string; label: string }[];
  onApply: (filters: Filters) => void;
}) {
  const [draft, setDraft] = useState<Filters>(filters);
  useEffect(() => setDraft(filters), [filters]);
  const set = (key: keyof Filters) => (value: string | number | null) =>
    setDraft((d) => ({ ...d, [key]: value === null || value === undefined ? '' : String(value) }));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onApply(draft);
  };
  const applyNow = (key: keyof Filters) => (value: string | null) => {
    const next = { ...draft, [key]: value ?? '' };
    setDraft(next);
    onApply(next);
  };
  return (
    <form onSubmit={submit} aria-label="Filters">
      <Group gap="xs" align="flex-end" wrap="wrap">
        <TextInput label="Search" placeholder="reference, counterparty, text" value={draft.q ?? ''} onChange={(e) => set('q')(e.currentTarget.value)} w={200} />
        {tab.id === 'matched' && <Select label="Status" data={MATCHED_STATUSES} value={draft.status || 'matched'} onChange={applyNow('status')} w={170} allowDeselect={false} />}
        {tab.kind === 'groups' ? (
          <>
            <TextInput label="Pass" value={draft.pass ?? ''} onChange={(e) => set('pass')(e.currentTarget.value)} w={110} />
            <NumberInput label="Min score" min={0} max={1} step={0.05} decimalScale={3} value={draft.min_score ?? ''} onChange={set('min_score')} w={100} />
          </>
        ) : (
          <Select label="Reason" data={REASONS} value={draft.reason || null} onChange={applyNow('reason')} clearable w={170} />
        )}
        <TextInput label="Amount from" inputMode="decimal" value={draft.amount_min ?? ''} onChange={(e) => set('amount_min')(e.currentTarget.value)} w={110} />
        <TextInput label="Amount to" inputMode="decimal" value={draft.amount_max ?? ''} onChange={(e) => set('amount_max')(e.currentTarget.value)} w={110} />
        <TextInput label="Date from" type="date" value={draft.date_from ?? ''} onChange={(e) => set('date_from')(e.currentTarget.value)} w={150} />
        <TextInput label="Date to" type="date" value={draft.date_to ?? ''} onChange={(e) => set('date_to')(e.currentTarget.value)} w={150} />
        <Select label="Assignee" data={members} value={draft.assignee_id || null} onChange={applyNow('assignee_id')} clearable w={170} />
        <NumberInput label="Min age (days)" min={0} value={draft.min_age ?? ''} onChange={set('min_age')} w={110} />
        <NumberInput label="Max age (days)" min={0} value={draft.max_age ?? ''} onChange={set('max_age')} w={110} />
        <Select label="Sort" data={tab.kind === 'groups' ? GROUP_SORTS : ITEM_SORTS} value={draft.sort || null} onChange={applyNow('sort')} w={190} placeholder="Default" />
        <Button type="submit" variant="light">
          Apply filters
        </Button>
        <Button variant="subtle" onClick={() => onApply({})}>
          Clear
        </Button>
      </Group>
    </form>
  );
}
