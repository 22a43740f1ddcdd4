import { Alert, Anchor, Badge, Group, Stack, Tabs, Text, Title } from '@mantine/core';
import { useCallback, useMemo } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';
import { useProjectId } from '../../app/project';
import { formatBytes, formatCount, formatDateTime, shortHash } from '../../components/format';
import { StatusBadge } from '../../components/StatusBadge';
import { EmptyState, Loading, QueryView } from '../../components/status';
import { VirtualTable } from '../../components/VirtualTable';
import { BUSY, useDataset, usePreview, useRejections, type Dataset } from './api';
import { MappingEditor } from './MappingEditor';
import { recordColumns, recordView, REJECTION_COLUMNS, rejectionView } from './records';

const TABS = ['preview', 'mapping', 'rejections'] as const;
// Bank statement formats: their columns are the canonical ones, so there is no mapping step.
const STATEMENT_FORMATS = new Set(['mt940', 'mt950', 'camt052', 'camt053', 'camt054', 'bai2', 'ofx']);

function Preview({ projectId, dataset }: { projectId: string; dataset: Dataset }) {
  const preview = usePreview(projectId, dataset);
  const extra = dataset.extra_columns;
  const columns = useMemo(() => recordColumns(extra ?? []), [extra]);
  const view = useMemo(() => recordView(extra ?? []), [extra]);
  if (BUSY.has(dataset.status)) return <Loading label="Ingesting the file" />;
  if (dataset.status === 'failed') return <EmptyState title="No records: ingestion failed">{dataset.error}</EmptyState>;
  return (
    <QueryView query={preview} label="Loading the preview" isEmpty={(p) => p.items.length === 0} empty={<EmptyState title="The file has no records" />}>
      {(page) => <VirtualTable label="Parsed records" rows={page.items} view={view} columns={columns} height={420} />}
    </QueryView>
  );
}

function Rejections({ projectId, dataset }: { projectId: string; dataset: Dataset }) {
  const rejections = useRejections(projectId, dataset);
  const pages = rejections.data?.pages;
  const rows = useMemo(() => pages?.flatMap((p) => p.items) ?? [], [pages]);
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = rejections;
  const loadMore = useCallback(() => {
    if (hasNextPage && !isFetchingNextPage) void fetchNextPage();
  }, [hasNextPage, isFetchingNextPage, fetchNextPage]);
  if (dataset.rejected === 0 && dataset.status === 'ready') return <EmptyState title="No rejected rows">Every row of the file was accepted.</EmptyState>;
  if (rejections.isPending) return <Loading label="Loading rejections" />;
  return (
    <QueryView query={rejections} label="Loading rejections">
      {() => (
        <VirtualTable
          label="Rejected rows"
          rows={rows}
          view={rejectionView}
          columns={REJECTION_COLUMNS}
          height={420}
          onEndReached={loadMore}
          loadingMore={isFetchingNextPage}
        />
      )}
    </QueryView>
  );
}

export function DatasetDetail() {
  const projectId = useProjectId();
  const { datasetId = '' } = useParams();
  const [params, setParams] = useSearchParams();
  const tab = TABS.find((t) => t === params.get('tab')) ?? 'preview';
  const dataset = useDataset(projectId, datasetId);
  return (
    <QueryView query={dataset} label="Loading the dataset">
      {(d) => (
        <Stack>
          <Anchor component={Link} to=".." relative="path" size="sm">
            ← All datasets
          </Anchor>
          <Group justify="space-between">
            <Title order={3}>{d.name}</Title>
            <StatusBadge status={d.status} />
          </Group>
          <Group gap="lg">
            <Text size="sm">
              Format: {d.format}
              {STATEMENT_FORMATS.has(d.format) ? ' (bank statement: no mapping needed)' : ''}
            </Text>
            <Text size="sm">{formatCount(d.rows)} records</Text>
            <Text size="sm">{formatCount(d.rejected)} rejected</Text>
            <Text size="sm">{formatBytes(d.size)}</Text>
            <Text size="sm">SHA-256 {shortHash(d.sha256)}</Text>
            <Text size="sm">Ingested {formatDateTime(d.ingested_at)}</Text>
            {Object.entries(d.detected ?? {}).map(([key, value]) => (
              <Badge key={key} variant="light" color="gray">
                {key}: {value}
              </Badge>
            ))}
          </Group>
          {d.error && (
            <Alert color="red" title="Ingestion failed" role="alert">
              {d.error}
            </Alert>
          )}
          {d.duplicate_of && (
            <Alert color="yellow" title="Duplicate file" role="status">
              This project already has the same file.{' '}
              <Anchor component={Link} to={`../${d.duplicate_of}`} relative="path">
                Open the earlier upload
              </Anchor>
            </Alert>
          )}
          <Tabs value={tab} onChange={(value) => setParams(value && value !== 'preview' ? { tab: value } : {}, { replace: true })}>
            <Tabs.List aria-label="Dataset views">
              <Tabs.Tab value="preview">Preview</Tabs.Tab>
              {!STATEMENT_FORMATS.has(d.format) && <Tabs.Tab value="mapping">Column mapping</Tabs.Tab>}
              <Tabs.Tab value="rejections">Rejections ({formatCount(d.rejected)})</Tabs.Tab>
            </Tabs.List>
            <Tabs.Panel value="preview" pt="md">
              <Preview projectId={projectId} dataset={d} />
            </Tabs.Panel>
            <Tabs.Panel value="mapping" pt="md">
              {STATEMENT_FORMATS.has(d.format) ? (
                <EmptyState title="No column mapping needed">A bank statement ({d.format}) is read into the canonical columns as it is.</EmptyState>
              ) : (
                <Stack>
                  <MappingEditor key={d.version} projectId={projectId} dataset={d} />
                  <Title order={4}>Records with the current mapping</Title>
                  <Preview projectId={projectId} dataset={d} />
                </Stack>
              )}
            </Tabs.Panel>
            <Tabs.Panel value="rejections" pt="md">
              <Rejections projectId={projectId} dataset={d} />
            </Tabs.Panel>
          </Tabs>
        </Stack>
      )}
    </QueryView>
  );
}
