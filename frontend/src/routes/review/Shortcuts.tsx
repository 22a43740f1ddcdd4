import { Kbd, Modal, Table } from '@mantine/core';

export const SHORTCUTS: [string, string][] = [
  ['j / ↓', 'Next row'],
  ['k / ↑', 'Previous row'],
  ['Enter / o', 'Open the row in the side panel'],
  ['x / Space', 'Select or unselect the row'],
  ['c', 'Confirm the suggestion (no difference)'],
  ['r', 'Reject the suggestion'],
  ['Escape', 'Close the side panel'],
  ['?', 'This help'],
];

export function ShortcutsHelp({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  return (
    <Modal opened={opened} onClose={onClose} title="Keyboard shortcuts">
      <Table aria-label="Keyboard shortcuts">
        <Table.Tbody>
          {SHORTCUTS.map(([keys, what]) => (
            <Table.Tr key={keys}>
              <Table.Td>
                <Kbd>{keys}</Kbd>
              </Table.Td>
              <Table.Td>{what}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Modal>
  );
}
