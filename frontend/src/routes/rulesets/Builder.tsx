// The form builder: passes and their conditions as form fields, writing the same YAML the editor shows.
import { ActionIcon, Alert, Autocomplete, Button, Checkbox, Fieldset, Group, MultiSelect, NumberInput, Select, Stack, TagsInput, Text, TextInput } from '@mantine/core';
import { COLUMNS, isGrouped, KINDS, METHODS, NORMALIZERS, OPS, readRules, sideId, withOp, withSideId, writeRules, type Condition, type Pass, type Rules } from './model';

function ConditionRow({ where, condition, onChange, onRemove }: { where: string; condition: Condition; onChange: (c: Condition) => void; onRemove: () => void }) {
  const set = (change: Partial<Condition>) => onChange({ ...condition, ...change });
  const num = (value: string | number) => (value === '' ? undefined : Number(value));
  const op = condition.op ?? 'equals';
  return (
    <Group align="flex-end" gap="xs" wrap="wrap" role="group" aria-label={where}>
      <Autocomplete label="Left column" aria-label={`${where}: left column`} data={COLUMNS} value={condition.left ?? ''} onChange={(left) => set({ left })} w={150} />
      <Select label="Operator" aria-label={`${where}: operator`} data={[...OPS]} value={op} allowDeselect={false} onChange={(value) => value && onChange(withOp(condition, value))} w={190} />
      <Autocomplete label="Right column" aria-label={`${where}: right column`} data={COLUMNS} value={condition.right ?? ''} onChange={(right) => set({ right })} w={150} />
      {op === 'tolerance' && (
        <NumberInput label="Tolerance (abs)" aria-label={`${where}: absolute tolerance`} value={condition.abs ?? ''} min={0} decimalScale={6} onChange={(v) => set({ abs: num(v) })} w={130} />
      )}
      {(op === 'within_days' || op === 'within_business_days') && (
        <NumberInput label="Days" aria-label={`${where}: days`} value={condition.days ?? ''} min={0} onChange={(v) => set({ days: num(v) })} w={90} />
      )}
      {op === 'similarity' && (
        <>
          <Select label="Method" aria-label={`${where}: method`} data={[...METHODS]} value={condition.method ?? 'jaro_winkler'} allowDeselect={false} onChange={(v) => v && set({ method: v })} w={150} />
          <NumberInput label="Minimum" aria-label={`${where}: minimum similarity`} value={condition.min ?? ''} min={0} max={1} step={0.05} decimalScale={2} onChange={(v) => set({ min: num(v) })} w={110} />
        </>
      )}
      <MultiSelect label="Normalise" aria-label={`${where}: normalisers`} data={NORMALIZERS} value={condition.normalize ?? []} onChange={(v) => set({ normalize: v.length ? v : undefined })} w={220} clearable />
      <ActionIcon variant="subtle" color="red" aria-label={`Remove ${where}`} onClick={onRemove} mb={6}>
        ✕
      </ActionIcon>
    </Group>
  );
}

function PassFields({ index, pass, onChange, onRemove }: { index: number; pass: Pass; onChange: (p: Pass) => void; onRemove: () => void }) {
  const where = `Pass ${index + 1}`;
  const set = (change: Partial<Pass>) => onChange({ ...pass, ...change });
  const match = pass.match ?? [];
  const setCondition = (at: number, condition: Condition | null) => {
    const next = match.flatMap((c, i) => (i !== at ? [c] : condition ? [condition] : []));
    set({ match: next });
  };
  return (
    <Fieldset legend={`${where}: ${pass.name ?? ''}`}>
      <Stack gap="sm">
        <Group align="flex-end">
          <TextInput label="Pass name" aria-label={`${where}: name`} value={pass.name ?? ''} onChange={(e) => set({ name: e.currentTarget.value })} w={200} />
          <Select
            label="Kind"
            aria-label={`${where}: kind`}
            data={[...KINDS]}
            value={pass.kind ?? 'one_to_one'}
            allowDeselect={false}
            onChange={(kind) => {
              if (!kind) return;
              const { group_by: _g, sum: _s, max_group_size: _m, ...rest } = pass;
              onChange(isGrouped(kind) ? { ...rest, kind, group_by: pass.group_by ?? [], sum: pass.sum ?? { left: 'amount', right: 'amount', abs: 0.01 } } : { ...rest, kind });
            }}
            w={170}
          />
          <Checkbox label="Suggest only (a person decides)" checked={pass.suggest === true} onChange={(e) => set({ suggest: e.currentTarget.checked || undefined })} mb={8} />
          <Button variant="subtle" color="red" onClick={onRemove} aria-label={`Remove ${where.toLowerCase()}`}>
            Remove pass
          </Button>
        </Group>
        {isGrouped(pass.kind) && (
          <Group align="flex-end">
            <TagsInput label="Group by" aria-label={`${where}: group by`} data={COLUMNS} value={pass.group_by ?? []} onChange={(group_by) => set({ group_by })} w={320} />
            <Autocomplete label="Sum left" aria-label={`${where}: sum left column`} data={COLUMNS} value={pass.sum?.left ?? ''} onChange={(left) => set({ sum: { ...pass.sum, left } })} w={140} />
            <Autocomplete label="Sum right" aria-label={`${where}: sum right column`} data={COLUMNS} value={pass.sum?.right ?? ''} onChange={(right) => set({ sum: { ...pass.sum, right } })} w={140} />
            <NumberInput label="Sum tolerance" aria-label={`${where}: sum tolerance`} value={pass.sum?.abs ?? ''} min={0} decimalScale={6} onChange={(v) => set({ sum: { ...pass.sum, abs: v === '' ? undefined : Number(v) } })} w={130} />
          </Group>
        )}
        <Text size="sm" fw={600}>
          Conditions (all must hold)
        </Text>
        {match.map((condition, at) => (
          <ConditionRow key={at} where={`${where} condition ${at + 1}`} condition={condition} onChange={(c) => setCondition(at, c)} onRemove={() => setCondition(at, null)} />
        ))}
        <Group>
          <Button variant="light" size="xs" onClick={() => set({ match: [...match, { left: 'amount', right: 'amount', op: 'equals' }] })}>
            Add condition to {where.toLowerCase()}
          </Button>
        </Group>
      </Stack>
    </Fieldset>
  );
}

export function Builder({ text, onChange }: { text: string; onChange: (text: string) => void }) {
  const read = readRules(text);
  if ('error' in read) {
    return (
      <Alert color="yellow" title="The builder cannot show these rules" role="status">
        {read.error} Fix it in the YAML editor.
      </Alert>
    );
  }
  const rules = read.rules;
  const update = (change: Partial<Rules>) => onChange(writeRules({ ...rules, ...change }));
  const passes = rules.passes ?? [];
  const setPass = (at: number, pass: Pass | null) => update({ passes: passes.flatMap((p, i) => (i !== at ? [p] : pass ? [pass] : [])) });
  return (
    <Stack>
      <Group align="flex-end">
        <TextInput label="Rules name" value={rules.name ?? ''} onChange={(e) => update({ name: e.currentTarget.value })} w={260} />
        <Autocomplete label="Left id column" data={COLUMNS} value={sideId(rules.left)} onChange={(id) => update({ left: withSideId(rules.left, id) })} w={180} />
        <Autocomplete label="Right id column" data={COLUMNS} value={sideId(rules.right)} onChange={(id) => update({ right: withSideId(rules.right, id) })} w={180} />
      </Group>
      {passes.map((pass, at) => (
        <PassFields key={at} index={at} pass={pass} onChange={(p) => setPass(at, p)} onRemove={() => setPass(at, null)} />
      ))}
      <Group>
        <Button variant="light" onClick={() => update({ passes: [...passes, { name: `pass-${passes.length + 1}`, kind: 'one_to_one', match: [{ left: 'amount', right: 'amount', op: 'equals' }] }] })}>
          Add pass
        </Button>
      </Group>
    </Stack>
  );
}
