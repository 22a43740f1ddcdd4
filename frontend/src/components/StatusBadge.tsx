import { Badge } from '@mantine/core';

const COLORS: Record<string, string> = {
  pending: 'gray',
  queued: 'gray',
  ingesting: 'blue',
  running: 'blue',
  ready: 'green',
  succeeded: 'green',
  failed: 'red',
  cancelled: 'orange',
};

/** A status as a coloured badge whose text is the status itself (colour is never the only signal). */
export function StatusBadge({ status }: { status: string }) {
  return (
    <Badge color={COLORS[status] ?? 'gray'} variant="light">
      {status}
    </Badge>
  );
}
