import { ActionIcon, Button, Group, Select, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, unwrap, type Schemas } from '../../api/client';
import { fieldErrors, humanMessage } from '../../api/errors';
import { roleAtLeast, useAuth } from '../../app/auth';
import { projectKeys, useProjectId, useProjectRole } from '../../app/project';
import { formatDateTime } from '../../components/format';
import { EmptyState, QueryView } from '../../components/status';

type Role = Schemas['Role'];
const ROLES: { value: Role; label: string }[] = [
  { value: 'viewer', label: 'Viewer: reads everything' },
  { value: 'preparer', label: 'Preparer: uploads, runs, decides' },
  { value: 'approver', label: 'Approver: approves and signs off' },
  { value: 'admin', label: 'Admin: members and settings' },
  { value: 'owner', label: 'Owner: everything' },
];

function AddMember({ projectId }: { projectId: string }) {
  const queryClient = useQueryClient();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('preparer');
  const add = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST('/api/v1/projects/{project_id}/members', {
          params: { path: { project_id: projectId } },
          body: { email: email.trim(), role },
        }),
      ),
    onSuccess: () => {
      setEmail('');
      void queryClient.invalidateQueries({ queryKey: projectKeys.members(projectId) });
    },
  });
  const errors = fieldErrors(add.error);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    add.mutate();
  };
  return (
    <form onSubmit={submit} noValidate aria-label="Add a member">
      <Group align="flex-start">
        <TextInput
          label="Member email"
          placeholder="someone@example.com"
          value={email}
          onChange={(e) => setEmail(e.currentTarget.value)}
          error={errors.email ?? (add.error && !errors.role ? humanMessage(add.error) : undefined)}
          w={320}
        />
        <Select label="Role" data={ROLES} value={role} onChange={(value) => value && setRole(value as Role)} allowDeselect={false} w={280} error={errors.role} />
        <Button type="submit" mt={25} loading={add.isPending}>
          Add member
        </Button>
      </Group>
    </form>
  );
}

export default function MembersPage() {
  const projectId = useProjectId();
  const myRole = useProjectRole();
  const { me } = useAuth();
  const queryClient = useQueryClient();
  const canManage = roleAtLeast(myRole, 'admin');
  const members = useQuery({
    queryKey: projectKeys.members(projectId),
    queryFn: () =>
      unwrap(api.GET('/api/v1/projects/{project_id}/members', { params: { path: { project_id: projectId }, query: { limit: 200 } } })),
  });
  const [rowError, setRowError] = useState<{ userId: string; message: string } | null>(null);
  const onDone = (userId: string) => ({
    onSuccess: () => {
      setRowError(null);
      void queryClient.invalidateQueries({ queryKey: projectKeys.members(projectId) });
    },
    onError: (error: unknown) => setRowError({ userId, message: humanMessage(error) }),
  });
  const changeRole = useMutation({
    mutationFn: ({ userId, role }: { userId: string; role: Role }) =>
      unwrap(
        api.PATCH('/api/v1/projects/{project_id}/members/{user_id}', {
          params: { path: { project_id: projectId, user_id: userId } },
          body: { role },
        }),
      ),
  });
  const remove = useMutation({
    mutationFn: (userId: string) =>
      unwrap(api.DELETE('/api/v1/projects/{project_id}/members/{user_id}', { params: { path: { project_id: projectId, user_id: userId } } })),
  });

  return (
    <Stack>
      <Title order={3}>Members and roles</Title>
      {canManage && <AddMember projectId={projectId} />}
      <QueryView query={members} label="Loading members" isEmpty={(page) => page.items.length === 0} empty={<EmptyState title="No members" />}>
        {(page) => (
          <Table aria-label="Members">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Email</Table.Th>
                <Table.Th>Role</Table.Th>
                <Table.Th>Member since</Table.Th>
                {canManage && <Table.Th>Actions</Table.Th>}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {page.items.map((member) => (
                <Table.Tr key={member.user_id}>
                  <Table.Td>{member.full_name || '—'}</Table.Td>
                  <Table.Td>{member.email}</Table.Td>
                  <Table.Td>
                    {canManage ? (
                      <Stack gap={2}>
                        <Select
                          aria-label={`Role of ${member.email}`}
                          data={ROLES.map((r) => ({ value: r.value, label: r.value }))}
                          value={member.role}
                          allowDeselect={false}
                          onChange={(value) => value && changeRole.mutate({ userId: member.user_id, role: value as Role }, onDone(member.user_id))}
                          w={160}
                        />
                        {rowError?.userId === member.user_id && (
                          <Text c="red.9" size="xs" role="alert">
                            {rowError.message}
                          </Text>
                        )}
                      </Stack>
                    ) : (
                      member.role
                    )}
                  </Table.Td>
                  <Table.Td>{formatDateTime(member.created_at)}</Table.Td>
                  {canManage && (
                    <Table.Td>
                      <ActionIcon
                        variant="subtle"
                        color="red"
                        aria-label={`Remove ${member.email}`}
                        disabled={member.user_id === me?.user.id}
                        title={member.user_id === me?.user.id ? 'You cannot remove yourself' : undefined}
                        onClick={() => remove.mutate(member.user_id, onDone(member.user_id))}
                      >
                        ✕
                      </ActionIcon>
                    </Table.Td>
                  )}
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </QueryView>
    </Stack>
  );
}
