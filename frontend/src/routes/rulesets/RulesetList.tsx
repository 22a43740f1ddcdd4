import { Anchor, Button, Group, Stack, Table, Title } from '@mantine/core';
import { Link } from 'react-router';
import { roleAtLeast } from '../../app/auth';
import { useProjectId, useProjectRole } from '../../app/project';
import { formatDateTime } from '../../components/format';
import { EmptyState, QueryView } from '../../components/status';
import { useRulesets } from './api';

export function RulesetList() {
  const projectId = useProjectId();
  const rulesets = useRulesets(projectId);
  const canEdit = roleAtLeast(useProjectRole(), 'preparer');
  const create = canEdit ? (
    <Button component={Link} to="new">
      New rule set
    </Button>
  ) : null;
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={3}>Rule sets</Title>
        {create}
      </Group>
      <QueryView
        query={rulesets}
        label="Loading rule sets"
        isEmpty={(p) => p.items.length === 0}
        empty={<EmptyState title="No rule sets yet">A rule set says how the two sides match: exact keys, tolerances, date windows, fuzzy text, groups.</EmptyState>}
      >
        {(page) => (
          <Table aria-label="Rule sets" striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Description</Table.Th>
                <Table.Th>Latest version</Table.Th>
                <Table.Th>Updated</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {page.items.map((r) => (
                <Table.Tr key={r.id}>
                  <Table.Td>
                    <Anchor component={Link} to={r.id}>
                      {r.name}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>{r.description || '—'}</Table.Td>
                  <Table.Td>v{r.latest_version}</Table.Td>
                  <Table.Td>{formatDateTime(r.updated_at)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </QueryView>
    </Stack>
  );
}
