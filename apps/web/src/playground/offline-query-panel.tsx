import type {
  OfflineQueryError,
  OfflineQueryRequest,
  OfflineQueryResult,
  OfflineQueryStatusReport,
} from '@slate/client';
import { type ChangeEvent, type FormEvent, useEffect, useId, useMemo, useState } from 'react';
import type { GraphArtifact } from '../api/index.ts';
import { useApi } from '../api-context.tsx';
import { createGraphIndex, dtypeOf } from '../catalog/graph-index.ts';
import { ErrorState } from '../components/states.tsx';
import { StatusBadge } from '../components/status-badge.tsx';
import { plural } from '../format.ts';
import { parquetPartsToCsv } from './csv-export.ts';
import { type OfflineInput, parseTable, tableToOfflineInput } from './input-values.ts';
import { formatValue } from './online-query-result.tsx';
import { OutputPicker } from './output-picker.tsx';
import { type ParquetPreview, previewParquet } from './parquet-preview.ts';

/** How often a running offline query's status is read. */
export const POLL_MS = 1_000;
/** Largest CSV accepted from a file (it is read into the page, then sent as the query's input). */
export const MAX_UPLOAD_BYTES = 5 * 1024 * 1024;

type Source = 'table' | 'sql';

type Run =
  | { readonly kind: 'idle' }
  | { readonly kind: 'submitting' }
  | { readonly kind: 'failed'; readonly error: unknown }
  | {
      readonly kind: 'running';
      readonly revisionId: string;
      readonly report?: OfflineQueryStatusReport['report'];
      readonly errors: readonly OfflineQueryError[];
    }
  | {
      readonly kind: 'finished';
      readonly revisionId: string;
      readonly report: OfflineQueryStatusReport['report'];
      readonly result: OfflineQueryResult;
    };

/**
 * An offline query: rows from a pasted table, an uploaded CSV or a spine SQL query; its progress while the
 * data plane computes it; a preview of the first rows; and its Parquet parts to download.
 */
export function OfflineQueryPanel({
  environmentId,
  graph,
  initialOutputs,
}: {
  environmentId: string;
  graph: GraphArtifact;
  initialOutputs: readonly string[];
}) {
  const api = useApi();
  const id = useId();
  const index = useMemo(() => createGraphIndex(graph), [graph]);
  const [outputs, setOutputs] = useState<string[]>(() => initialOutputs.filter((o) => index.feature(o)));
  const [source, setSource] = useState<Source>('table');
  const [tableText, setTableText] = useState('');
  const [sql, setSql] = useState('');
  const [recompute, setRecompute] = useState(true);
  const [maxSamples, setMaxSamples] = useState('');
  const [datasetName, setDatasetName] = useState('');
  const [uploadError, setUploadError] = useState<string | null>(null);
  const [run, setRun] = useState<Run>({ kind: 'idle' });

  const input: OfflineInput | { ok: false; errors: string[] } | null = useMemo(() => {
    if (source !== 'table' || tableText.trim() === '') return null;
    try {
      return tableToOfflineInput(parseTable(tableText), (fqn) => {
        const entry = index.feature(fqn);
        return entry ? dtypeOf(entry.feature) : null;
      });
    } catch (error) {
      return { ok: false, errors: [error instanceof Error ? error.message : String(error)] };
    }
  }, [source, tableText, index]);

  const firstPrimaryKey = outputs.map((o) => index.feature(o)?.namespace.primaryKey).find(Boolean);
  const ready =
    outputs.length > 0 &&
    (source === 'sql' ? sql.trim() !== '' : input?.ok === true) &&
    run.kind !== 'submitting' &&
    run.kind !== 'running';

  const onFile = async (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    event.target.value = '';
    if (!file) return;
    if (file.size > MAX_UPLOAD_BYTES) {
      setUploadError(
        `${file.name} is larger than ${MAX_UPLOAD_BYTES / 1024 / 1024} MB: use a spine SQL query`,
      );
      return;
    }
    setUploadError(null);
    setTableText(await file.text());
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!ready) return;
    const request: OfflineQueryRequest = {
      output: outputs,
      recompute_features: recompute,
      ...(source === 'sql'
        ? {
            spine_sql_query: sql,
            ...(Number(maxSamples) > 0 ? { max_samples: Math.floor(Number(maxSamples)) } : {}),
          }
        : input?.ok
          ? { input: input.input, ...(input.inputTimes ? { input_times: input.inputTimes } : {}) }
          : {}),
      ...(datasetName.trim() ? { dataset_name: datasetName.trim() } : {}),
    };
    setRun({ kind: 'submitting' });
    try {
      const response = await api.submitOfflineQuery(environmentId, request);
      const revision = response.revisions[0];
      if (!revision) {
        setRun({
          kind: 'failed',
          error: new Error(response.errors[0]?.message ?? 'the server started no revision'),
        });
        return;
      }
      setRun({ kind: 'running', revisionId: revision.revision_id, errors: response.errors });
    } catch (error) {
      setRun({ kind: 'failed', error });
    }
  };

  // Poll the running revision's status until it finishes; then read its parts' links and columns.
  const revisionId = run.kind === 'running' ? run.revisionId : null;
  useEffect(() => {
    if (!revisionId) return;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        const { report } = await api.offlineQueryStatus(environmentId, revisionId, controller.signal);
        if (report.status === 'COMPLETED' || report.status === 'FAILED') {
          const result = await api.offlineQuery(environmentId, revisionId, controller.signal);
          if (!controller.signal.aborted) setRun({ kind: 'finished', revisionId, report, result });
          return;
        }
        if (!controller.signal.aborted) setRun((r) => (r.kind === 'running' ? { ...r, report } : r));
      } catch (error) {
        if (!controller.signal.aborted) setRun({ kind: 'failed', error });
        return;
      }
      if (!controller.signal.aborted) timer = setTimeout(tick, POLL_MS);
    };
    void tick();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [api, environmentId, revisionId]);

  return (
    <div className="stack-lg">
      <form className="card card-pad stack" onSubmit={submit} aria-label="Offline query">
        <OutputPicker id={id} index={index} outputs={outputs} onChange={setOutputs} />
        <fieldset className="field">
          <legend className="field-label">Rows</legend>
          <div className="segmented" role="radiogroup" aria-label="Where the rows come from">
            <label className={source === 'table' ? 'segment segment-on' : 'segment'}>
              <input
                type="radio"
                name={`${id}-source`}
                checked={source === 'table'}
                onChange={() => setSource('table')}
              />
              Table or CSV
            </label>
            <label className={source === 'sql' ? 'segment segment-on' : 'segment'}>
              <input
                type="radio"
                name={`${id}-source`}
                checked={source === 'sql'}
                onChange={() => setSource('sql')}
              />
              Spine SQL
            </label>
          </div>
          {source === 'table' ? (
            <>
              <textarea
                className="code-input"
                rows={6}
                aria-label="Input rows"
                spellCheck={false}
                placeholder={`${firstPrimaryKey ?? 'user.id'},__ts__\n1,2026-01-31T00:00:00Z\n2,2026-01-31T00:00:00Z`}
                value={tableText}
                onChange={(e) => setTableText(e.target.value)}
              />
              <div className="inline-form">
                <label className="button button-small file-button">
                  Upload CSV…
                  <input
                    type="file"
                    accept=".csv,.tsv,text/csv,text/tab-separated-values"
                    onChange={onFile}
                  />
                </label>
                <span className="muted small">
                  Header row of feature names (e.g. the primary key); an optional <code>__ts__</code> column
                  gives each row its time. Paste from a spreadsheet or CSV.
                </span>
              </div>
              {uploadError && <span className="form-error">{uploadError}</span>}
              {input && !input.ok && (
                <ul className="form-error error-list" aria-label="Input errors">
                  {input.errors.map((e) => (
                    <li key={e}>{e}</li>
                  ))}
                </ul>
              )}
              {input?.ok && (
                <span className="muted small">
                  {plural(input.input.values[0]?.length ?? 0, 'row')} ×{' '}
                  {plural(input.input.columns.length, 'column')}
                  {input.inputTimes ? ', with times' : ''}
                </span>
              )}
            </>
          ) : (
            <>
              <textarea
                className="code-input"
                rows={5}
                aria-label="Spine SQL"
                spellCheck={false}
                placeholder={`SELECT id AS "${firstPrimaryKey ?? 'user.id'}" FROM ...`}
                value={sql}
                onChange={(e) => setSql(e.target.value)}
              />
              <label className="field">
                <span className="field-label">Max rows</span>
                <input
                  className="search"
                  inputMode="numeric"
                  value={maxSamples}
                  onChange={(e) => setMaxSamples(e.target.value)}
                  placeholder="all"
                />
              </label>
            </>
          )}
        </fieldset>
        <details className="options">
          <summary>Options</summary>
          <div className="stack">
            <label className="check">
              <input type="checkbox" checked={recompute} onChange={(e) => setRecompute(e.target.checked)} />{' '}
              Recompute with resolvers (otherwise read the offline store)
            </label>
            <label className="field">
              <span className="field-label">Dataset name</span>
              <input
                className="search"
                value={datasetName}
                onChange={(e) => setDatasetName(e.target.value)}
              />
            </label>
          </div>
        </details>
        <div className="form-actions">
          <button type="submit" className="button button-primary" disabled={!ready}>
            {run.kind === 'submitting'
              ? 'Starting…'
              : run.kind === 'running'
                ? 'Running…'
                : 'Run offline query'}
          </button>
        </div>
      </form>
      {run.kind === 'failed' && <ErrorState error={run.error} title="The offline query failed" />}
      {(run.kind === 'running' || run.kind === 'finished') && (
        <OfflineRun run={run} environmentId={environmentId} />
      )}
    </div>
  );
}

function OfflineRun({
  run,
  environmentId,
}: {
  run: Extract<Run, { kind: 'running' | 'finished' }>;
  environmentId: string;
}) {
  const report = run.report;
  const meta = report?.operation_metadata;
  const errors = run.kind === 'finished' ? run.result.errors : run.errors;
  return (
    <section className="card" aria-label="Offline query run">
      <div className="card-header">
        <h3 className="card-title">
          Revision <code>{run.revisionId}</code>
        </h3>
        <StatusBadge status={report?.status ?? 'QUEUED'} />
      </div>
      <div className="card-pad stack">
        <p className="small" role="status">
          {run.kind === 'running'
            ? report?.status === 'WORKING'
              ? `Computing${meta?.attempt && meta.attempt > 1 ? ` (attempt ${meta.attempt})` : ''}…`
              : 'Queued…'
            : report?.status === 'COMPLETED'
              ? `Done: ${plural(meta?.num_rows ?? 0, 'row')} in ${plural(meta?.num_partitions ?? 0, 'part')}${
                  meta?.duration_ms != null ? `, ${(meta.duration_ms / 1000).toFixed(1)} s` : ''
                }.`
              : 'Failed.'}
        </p>
        {run.kind === 'running' && <div className="progress" aria-hidden="true" />}
        {errors.length > 0 && (
          <ul className="form-error error-list" aria-label="Offline query errors">
            {errors.map((e) => (
              <li key={`${e.code}:${e.message}`}>
                <code>{e.code}</code> {e.message}
              </li>
            ))}
          </ul>
        )}
        {run.kind === 'finished' && run.result.urls.length > 0 && (
          <div className="inline-form">
            {run.result.urls.map((url, i) => (
              <a key={url} className="button" href={url} download={`${run.revisionId}-part-${i}.parquet`}>
                Download Parquet{run.result.urls.length > 1 ? ` (part ${i + 1})` : ''}
              </a>
            ))}
            <CsvDownload
              environmentId={environmentId}
              revisionId={run.revisionId}
              parts={run.result.urls.length}
            />
          </div>
        )}
      </div>
      {run.kind === 'finished' && report?.status === 'COMPLETED' && run.result.urls.length > 0 && (
        <Preview environmentId={environmentId} revisionId={run.revisionId} />
      )}
    </section>
  );
}

function Preview({ environmentId, revisionId }: { environmentId: string; revisionId: string }) {
  const api = useApi();
  const [state, setState] = useState<
    { kind: 'loading' } | { kind: 'ready'; preview: ParquetPreview } | { kind: 'failed'; error: unknown }
  >({ kind: 'loading' });
  useEffect(() => {
    const controller = new AbortController();
    api
      .offlineQueryPart(environmentId, revisionId, 0, controller.signal)
      .then((bytes) => previewParquet(bytes))
      .then(
        (preview) => !controller.signal.aborted && setState({ kind: 'ready', preview }),
        (error: unknown) => !controller.signal.aborted && setState({ kind: 'failed', error }),
      );
    return () => controller.abort();
  }, [api, environmentId, revisionId]);
  if (state.kind === 'loading') return <p className="card-pad muted small">Reading the first rows…</p>;
  if (state.kind === 'failed')
    return <ErrorState error={state.error} title="The preview could not be read" />;
  const { columns, rows, totalRows } = state.preview;
  return (
    <section aria-label="Preview">
      <p className="card-pad muted small preview-caption">
        First {plural(rows.length, 'row')} of part 1 ({totalRows.toLocaleString()} in it)
      </p>
      <div className="table-wrap">
        <table className="table table-compact preview-table">
          <thead>
            <tr>
              {columns.map((c) => (
                <th key={c} className="mono">
                  {c}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((row, r) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: rows of a file have no identity beyond position
              <tr key={r}>
                {columns.map((c) => (
                  <td key={c} className="mono small">
                    {formatCell(row[c])}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function formatCell(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  return formatValue(value);
}

/**
 * "Download CSV": reads every part (through the API host, with the session), converts them in the page and
 * saves `<revision>.csv`. Refused above `MAX_CSV_ROWS` rows, with the reason.
 */
function CsvDownload({
  environmentId,
  revisionId,
  parts,
}: {
  environmentId: string;
  revisionId: string;
  parts: number;
}) {
  const api = useApi();
  const [state, setState] = useState<{ busy: boolean; error: string | null }>({ busy: false, error: null });
  const download = async () => {
    setState({ busy: true, error: null });
    try {
      const bytes = await Promise.all(
        Array.from({ length: parts }, (_, i) => api.offlineQueryPart(environmentId, revisionId, i)),
      );
      const url = URL.createObjectURL(new Blob([await parquetPartsToCsv(bytes)], { type: 'text/csv' }));
      const link = document.createElement('a');
      link.href = url;
      link.download = `${revisionId}.csv`;
      link.click();
      // The browser has taken the file by the next task; the object URL would otherwise live with the page.
      setTimeout(() => URL.revokeObjectURL(url), 0);
      setState({ busy: false, error: null });
    } catch (error) {
      setState({ busy: false, error: error instanceof Error ? error.message : String(error) });
    }
  };
  return (
    <>
      <button type="button" className="button" onClick={download} disabled={state.busy}>
        {state.busy ? 'Preparing CSV…' : 'Download CSV'}
      </button>
      {state.error && (
        <span className="form-error" role="alert">
          {state.error}
        </span>
      )}
    </>
  );
}
