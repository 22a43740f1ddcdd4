import { Button, Checkbox, Group, Modal, Stack, Table, Text, TextInput, Textarea, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { api, unwrap } from '../../api/client';
import { fieldErrors, humanMessage } from '../../api/errors';
import { projectKeys } from '../../app/project';
import { formatDateTime } from '../../components/format';
import { EmptyState, QueryView } from '../../components/status';

function CreateProject({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [makerChecker, setMakerChecker] = useState(true);
  const create = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST('/api/v1/projects', {
          body: { name: name.trim(), description, settings: { require_approval: makerChecker } },
        }),
      ),
    onSuccess: (project) => {
      void queryClient.invalidateQueries({ queryKey: projectKeys.all });
      onClose();
      navigate(`/projects/${project.id}`);
    },
  });
  const errors = fieldErrors(create.error);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <Modal opened={opened} onClose={onClose} title="New project">
      <form onSubmit={submit} noValidate>
        <Stack>
          <TextInput label="Name" required value={name} error={errors.name} onChange={(e) => setName(e.currentTarget.value)} data-autofocus />
          <Textarea label="Description" value={description} error={errors.description} onChange={(e) => setDescription(e.currentTarget.value)} />
          <Checkbox
            label="Maker-checker: manual decisions need a second person's approval"
            checked={makerChecker}
            onChange={(e) => setMakerChecker(e.currentTarget.checked)}
          />
          {create.error && !errors.name && !errors.description && (
            <Text c="red.9" size="sm" role="alert">
              {humanMessage(create.error)}
            </Text>
          )}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={create.isPending}>
              Create project
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

export default function ProjectsPage() {
  const [opened, { open, close }] = useDisclosure(false);
  const projects = useQuery({
    queryKey: projectKeys.all,
    queryFn: () => unwrap(api.GET('/api/v1/projects', { params: { query: { limit: 200 } } })),
  });
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Projects</Title>
        <Button onClick={open}>New project</Button>
      </Group>
      <QueryView
        query={projects}
        label="Loading projects"
        isEmpty={(page) => page.items.length === 0}
        empty={
          <EmptyState title="No projects yet" action={<Button onClick={open}>Create the first project</Button>}>
            A project holds the datasets, rule sets and runs of one reconciliation (e.g. bank vs ledger).
          </EmptyState>
        }
      >
        {(page) => (
          <Table striped highlightOnHover aria-label="Projects">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Description</Table.Th>
                <Table.Th>Your role</Table.Th>
                <Table.Th>Maker-checker</Table.Th>
                <Table.Th>Updated</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {page.items.map((project) => (
                <Table.Tr key={project.id}>
                  <Table.Td>
                    <Link to={`/projects/${project.id}`}>{project.name}</Link>
                  </Table.Td>
                  <Table.Td>{project.description || '—'}</Table.Td>
                  <Table.Td>{project.role}</Table.Td>
                  <Table.Td>{project.settings.require_approval ? 'on' : 'off'}</Table.Td>
                  <Table.Td>{formatDateTime(project.updated_at)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </QueryView>
      <CreateProject opened={opened} onClose={close} />
    </Stack>
  );
}
