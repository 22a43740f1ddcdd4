// The engine's summary (a run's or a dry run's): counts and control totals per side and status, the passes,
// the unmatched reasons and the checks. Amounts are exact decimal text, shown as text.
import { Badge, Group, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { formatCount, formatMoney } from './format';

const STATUSES = ['matched', 'suggested', 'break', 'unmatched', 'rejected'] as const;

interface SideFigures {
  rows?: number;
  amounts?: Record<string, string | null> | null;
  amount_column?: string | null;
  [status: string]: unknown;
}

interface PassFigures {
  name: string;
  kind: string;
  groups: number;
  left: number;
  right: number;
  matched: number;
  suggested: number;
  break: number;
}

export type EngineSummary = Record<string, unknown>;

function SideTable({ side, figures }: { side: string; figures: SideFigures }) {
  const amounts = figures.amounts ?? null;
  return (
    <Table aria-label={`Control totals, ${side}`} withTableBorder>
      <Table.Thead>
        <Table.Tr>
          <Table.Th>{side === 'left' ? 'Left side' : 'Right side'}</Table.Th>
          <Table.Th ta="right">Records</Table.Th>
          {amounts && <Table.Th ta="right">Amount ({figures.amount_column})</Table.Th>}
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {STATUSES.map((status) => (
          <Table.Tr key={status}>
            <Table.Td>{status}</Table.Td>
            <Table.Td ta="right">{formatCount(figures[status] as number | undefined)}</Table.Td>
            {amounts && <Table.Td ta="right">{formatMoney(amounts[status] ?? null)}</Table.Td>}
          </Table.Tr>
        ))}
        <Table.Tr fw={700}>
          <Table.Td>total</Table.Td>
          <Table.Td ta="right">{formatCount(figures.rows)}</Table.Td>
          {amounts && <Table.Td ta="right">{formatMoney(amounts.total ?? null)}</Table.Td>}
        </Table.Tr>
      </Table.Tbody>
    </Table>
  );
}

export function ReconSummary({ summary }: { summary: EngineSummary }) {
  const passes = (summary.passes ?? []) as PassFigures[];
  const checks = (summary.checks ?? {}) as Record<string, unknown>;
  const reasons = (summary.unmatched_reasons ?? {}) as Record<string, Record<string, number>>;
  return (
    <Stack>
      <Group gap="xs">
        {Object.entries(checks).map(([name, ok]) => (
          <Badge key={name} color={ok === true ? 'green' : 'red'} variant="light">
            {name.replace(/_/g, ' ')}: {ok === true ? 'ok' : 'failed'}
          </Badge>
        ))}
      </Group>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        {(['left', 'right'] as const).map((side) =>
          summary[side] ? <SideTable key={side} side={side} figures={summary[side] as SideFigures} /> : null,
        )}
      </SimpleGrid>
      {passes.length > 0 && (
        <>
          <Title order={4}>Passes</Title>
          <Table aria-label="Passes" withTableBorder>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Pass</Table.Th>
                <Table.Th>Kind</Table.Th>
                <Table.Th ta="right">Groups</Table.Th>
                <Table.Th ta="right">Left</Table.Th>
                <Table.Th ta="right">Right</Table.Th>
                <Table.Th ta="right">Matched</Table.Th>
                <Table.Th ta="right">Suggested</Table.Th>
                <Table.Th ta="right">Breaks</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {passes.map((p) => (
                <Table.Tr key={p.name}>
                  <Table.Td>{p.name}</Table.Td>
                  <Table.Td>{p.kind}</Table.Td>
                  <Table.Td ta="right">{formatCount(p.groups)}</Table.Td>
                  <Table.Td ta="right">{formatCount(p.left)}</Table.Td>
                  <Table.Td ta="right">{formatCount(p.right)}</Table.Td>
                  <Table.Td ta="right">{formatCount(p.matched)}</Table.Td>
                  <Table.Td ta="right">{formatCount(p.suggested)}</Table.Td>
                  <Table.Td ta="right">{formatCount(p.break)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </>
      )}
      {Object.entries(reasons).map(([side, counts]) =>
        Object.keys(counts).length ? (
          <Text key={side} size="sm">
            Unmatched on the {side}:{' '}
            {Object.entries(counts)
              .map(([reason, count]) => `${reason} ${formatCount(count)}`)
              .join(', ')}
          </Text>
        ) : null,
      )}
    </Stack>
  );
}
