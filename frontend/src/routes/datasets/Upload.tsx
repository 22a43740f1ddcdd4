import '@mantine/dropzone/styles.css';
import { Alert, Anchor, Group, Progress, Stack, Text } from '@mantine/core';
import { Dropzone } from '@mantine/dropzone';
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { humanMessage } from '../../api/errors';
import { uploadFile } from '../../api/upload';
import { formatBytes } from '../../components/format';
import { datasetKeys, type Accepted } from './api';

interface Transfer {
  key: string;
  name: string;
  size: number;
  progress: number;
  result?: Accepted;
  error?: string;
}

/** Drag and drop (or click to choose) one or more files; each gets its own progress bar and outcome. */
export function Upload({ projectId }: { projectId: string }) {
  const queryClient = useQueryClient();
  const [transfers, setTransfers] = useState<Transfer[]>([]);
  const update = (key: string, change: Partial<Transfer>) =>
    setTransfers((all) => all.map((t) => (t.key === key ? { ...t, ...change } : t)));

  const start = (files: File[]) => {
    for (const file of files) {
      const key = `${file.name}-${file.size}-${Date.now()}-${Math.random()}`;
      setTransfers((all) => [{ key, name: file.name, size: file.size, progress: 0 }, ...all]);
      const handle = uploadFile<Accepted>(`/api/v1/projects/${encodeURIComponent(projectId)}/datasets`, file, (fraction) =>
        update(key, { progress: fraction }),
      );
      handle.done
        .then((result) => update(key, { result, progress: 1 }))
        .catch((error: unknown) => update(key, { error: humanMessage(error) }))
        .finally(() => void queryClient.invalidateQueries({ queryKey: datasetKeys.list(projectId) }));
    }
  };

  return (
    <Stack gap="sm">
      <Dropzone onDrop={start} multiple aria-label="Upload files" inputProps={{ 'aria-label': 'Files to upload' }}>
        <Stack align="center" gap={4} py="lg" style={{ pointerEvents: 'none' }}>
          <Text fw={600}>Drop files here, or click to choose</Text>
          <Text size="sm" c="dimmed">
            CSV, Excel, Parquet, JSON, or bank statements (MT940/MT950, CAMT.052/053/054, BAI2, OFX). The format is
            recognised from the content.
          </Text>
        </Stack>
      </Dropzone>
      {transfers.map((t) => (
        <Stack key={t.key} gap={4} aria-label={`Upload of ${t.name}`}>
          <Group justify="space-between">
            <Text size="sm">
              {t.name} ({formatBytes(t.size)})
            </Text>
            <Text size="sm" c="dimmed">
              {t.error ? 'failed' : t.result ? 'uploaded' : `${Math.round(t.progress * 100)}%`}
            </Text>
          </Group>
          <Progress value={t.progress * 100} color={t.error ? 'red' : undefined} aria-label={`Upload progress of ${t.name}`} />
          {t.error && (
            <Text size="sm" c="red.9" role="alert">
              {t.error}
            </Text>
          )}
          {t.result?.warnings?.map((warning) => (
            <Alert key={warning} color="yellow" variant="light" role="status" title="Duplicate file">
              {warning}{' '}
              {t.result?.duplicate_of && (
                <Anchor component={Link} to={`/projects/${projectId}/datasets/${t.result.duplicate_of}`}>
                  Open the earlier upload
                </Anchor>
              )}
            </Alert>
          ))}
        </Stack>
      ))}
    </Stack>
  );
}
