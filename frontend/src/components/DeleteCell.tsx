import { Button, Table, Text } from '@mantine/core';
import type { UseMutationResult } from '@tanstack/react-query';
import { humanMessage } from '../api/errors';

/** A table cell with a row's Delete button and, below it, why the delete was refused (e.g. a 409 naming
 * what still uses the row). */
export function DeleteCell({ label, remove }: { label: string; remove: UseMutationResult<unknown, Error, void> }) {
  return (
    <Table.Td>
      <Button size="xs" variant="light" color="red" loading={remove.isPending} onClick={() => remove.mutate()} aria-label={label}>
        Delete
      </Button>
      {remove.error ? (
        <Text size="xs" c="red.9" role="alert">
          {humanMessage(remove.error)}
        </Text>
      ) : null}
    </Table.Td>
  );
}
