import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DatasetStatus, downloadDatasetPart, getDatasetStatus, type SlateClient } from '@slate/client';
import { SlateError } from '@slate/graph';
import { writeDatasetFile } from './tabular-files.ts';

/** How long `waitForDataset` waits by default (10 minutes) and how often it looks (1 s). */
const DEFAULT_TIMEOUT_MS = 600_000;
const DEFAULT_INTERVAL_MS = 1_000;

/**
 * Polls a revision's status until it is `COMPLETED` or `FAILED`, calling `onProgress` with the first
 * observation and each change of status or row count; answers the final report (a failed one is answered,
 * not thrown).
 * @throws SlateError `timeout`/`DATASET_WAIT_TIMEOUT`.
 */
export async function waitForDataset(
  client: SlateClient,
  revisionId: string,
  options: {
    readonly timeoutMs?: number;
    readonly intervalMs?: number;
    readonly onProgress?: (status: DatasetStatus) => void;
  } = {},
): Promise<DatasetStatus> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const status = await getDatasetStatus(client, revisionId);
    const seen = `${status.status}:${status.operation_metadata?.num_rows ?? ''}`;
    if (seen !== last) {
      last = seen;
      options.onProgress?.(status);
    }
    if (status.status === 'COMPLETED' || status.status === 'FAILED') return status;
    if (Date.now() > deadline)
      throw new SlateError(
        'timeout',
        'DATASET_WAIT_TIMEOUT',
        `offline query ${revisionId} is still ${status.status} after ${Math.round(timeoutMs / 1000)} s`,
        { revision_id: revisionId },
      );
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? DEFAULT_INTERVAL_MS));
  }
}

/**
 * Downloads every result part of a completed revision and writes them as one file at `out` (Parquet or
 * CSV by its extension); answers the rows written. Parts go through a temporary folder, one at a time.
 */
export async function downloadDataset(
  client: SlateClient,
  revisionId: string,
  partitions: number,
  out: string,
): Promise<number> {
  const staging = await mkdtemp(join(tmpdir(), 'slate-dataset-'));
  try {
    const parts: string[] = [];
    for (let part = 0; part < partitions; part++) {
      const path = join(staging, `part-${part}.parquet`);
      await writeFile(path, await downloadDatasetPart(client, revisionId, part));
      parts.push(path);
    }
    if (parts.length === 0)
      throw new SlateError('not_found', 'DATASET_EMPTY', `offline query ${revisionId} has no result parts`);
    return await writeDatasetFile(parts, out);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
