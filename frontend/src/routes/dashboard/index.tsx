// Dashboard: match rate per run, open exceptions by age bucket and by owner, and the trend over runs, as
// charts with the same figures in tables (for screen readers and exact reading).
import '@mantine/charts/styles.css';
import { BarChart, LineChart } from '@mantine/charts';
import { Paper, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../../api/client';
import { useProjectId } from '../../app/project';
import { formatDateTime, shortHash } from '../../components/format';
import { EmptyState, QueryView } from '../../components/status';

const percent = (rate: number | null | undefined) => (rate === null || rate === undefined ? null : Math.round(rate * 1000) / 10);

function Card({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <Paper withBorder p="md" component="section" aria-label={title}>
      <Stack gap="xs">
        <Title order={4}>{title}</Title>
        {children}
      </Stack>
    </Paper>
  );
}

export default function DashboardPage() {
  const projectId = useProjectId();
  const dashboard = useQuery({
    queryKey: ['projects', projectId, 'dashboard'],
    queryFn: () => unwrap(api.GET('/api/v1/projects/{project_id}/dashboard', { params: { path: { project_id: projectId }, query: { runs: 20 } } })),
  });
  return (
    <Stack gap="md">
      <Title order={3}>Dashboard</Title>
      <QueryView query={dashboard} label="Loading the dashboard" isEmpty={(d) => d.runs.length === 0} empty={<EmptyState title="No succeeded run yet">Match rates and open exceptions appear after the first run.</EmptyState>}>
        {(d) => {
          const runs = [...d.runs].reverse().map((r) => ({
            run: `${formatDateTime(r.created_at)} ${shortHash(r.run_id, 6)}`,
            'Match rate %': percent(r.match_rate.overall),
            'Open exceptions': r.open_exceptions,
          }));
          const ages = Object.entries(d.open_exceptions.by_age).map(([bucket, count]) => ({ bucket: `${bucket} days`, Exceptions: count }));
          const owners = d.open_exceptions.by_owner.map((o) => ({ owner: o.name, ...Object.fromEntries(Object.entries(o.by_age).map(([k, v]) => [`${k} days`, v])) }));
          const trend = d.trend.map((t) => ({ run: `${formatDateTime(t.created_at)} ${shortHash(t.run_id, 6)}`, 'Match rate %': percent(t.match_rate), 'Open exceptions': t.open_exceptions }));
          return (
            <Stack gap="md">
              <Text size="sm">
                {d.open_exceptions.total} open exception(s) ({d.open_exceptions.unmatched_items} unmatched records, {d.open_exceptions.breaks} breaks) as of {d.as_of}, in the {d.open_exceptions.scope}.
              </Text>
              <SimpleGrid cols={{ base: 1, lg: 2 }}>
                <Card title="Match rate per run">
                  <BarChart h={240} data={runs} dataKey="run" series={[{ name: 'Match rate %', color: 'blue.8' }]} yAxisProps={{ domain: [0, 100] }} aria-hidden />
                  <Table aria-label="Match rate per run" fz="xs">
                    <Table.Thead>
                      <Table.Tr><Table.Th>Run</Table.Th><Table.Th>Records</Table.Th><Table.Th>Matched</Table.Th><Table.Th>Written off</Table.Th><Table.Th>Reconciling</Table.Th><Table.Th>Match rate</Table.Th></Table.Tr>
                    </Table.Thead>
                    <Table.Tbody>
                      {d.runs.map((r) => (
                        <Table.Tr key={r.run_id}>
                          <Table.Td>{formatDateTime(r.created_at)}</Table.Td>
                          <Table.Td>{r.records.total}</Table.Td>
                          <Table.Td>{r.matched.total}</Table.Td>
                          <Table.Td>{r.written_off.total}</Table.Td>
                          <Table.Td>{r.reconciling.total}</Table.Td>
                          <Table.Td>{percent(r.match_rate.overall) ?? '—'} %</Table.Td>
                        </Table.Tr>
                      ))}
                    </Table.Tbody>
                  </Table>
                </Card>
                <Card title="Open exceptions by age">
                  <BarChart h={240} data={ages} dataKey="bucket" series={[{ name: 'Exceptions', color: 'orange.8' }]} aria-hidden />
                  <Table aria-label="Open exceptions by age" fz="xs">
                    <Table.Tbody>
                      {ages.map((a) => (
                        <Table.Tr key={a.bucket}><Table.Th>{a.bucket}</Table.Th><Table.Td>{a.Exceptions}</Table.Td></Table.Tr>
                      ))}
                    </Table.Tbody>
                  </Table>
                </Card>
                <Card title="Open exceptions by owner">
                  {owners.length === 0 ? (
                    <Text size="sm">No open exception.</Text>
                  ) : (
                    <BarChart
                      h={240}
                      data={owners}
                      dataKey="owner"
                      type="stacked"
                      series={[
                        { name: '0-1 days', color: 'green.8' },
                        { name: '2-7 days', color: 'yellow.8' },
                        { name: '8-30 days', color: 'orange.8' },
                        { name: '>30 days', color: 'red.8' },
                      ]}
                      aria-hidden
                    />
                  )}
                  <Table aria-label="Open exceptions by owner" fz="xs">
                    <Table.Tbody>
                      {d.open_exceptions.by_owner.map((o) => (
                        <Table.Tr key={o.assignee_id ?? 'none'}><Table.Th>{o.name}</Table.Th><Table.Td>{o.total}</Table.Td></Table.Tr>
                      ))}
                    </Table.Tbody>
                  </Table>
                </Card>
                <Card title="Trend over runs">
                  <LineChart
                    h={240}
                    data={trend}
                    dataKey="run"
                    series={[
                      { name: 'Match rate %', color: 'blue.8' },
                      { name: 'Open exceptions', color: 'red.8' },
                    ]}
                    aria-hidden
                  />
                  <Text size="xs" c="dimmed">
                    Oldest run first; the table under “Match rate per run” has the exact figures.
                  </Text>
                </Card>
              </SimpleGrid>
            </Stack>
          );
        }}
      </QueryView>
    </Stack>
  );
}
