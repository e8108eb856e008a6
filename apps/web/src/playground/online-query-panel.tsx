import type { JsonValue, OnlineQueryRequest, OnlineQueryResponse } from '@slate/client';
import { type FormEvent, useId, useMemo, useState } from 'react';
import type { GraphArtifact } from '../api/index.ts';
import { useApi } from '../api-context.tsx';
import { createGraphIndex, dtypeOfEntry } from '../catalog/graph-index.ts';
import { CopyButton } from '../components/copy-button.tsx';
import { ErrorState } from '../components/states.tsx';
import { formatDType } from '../format.ts';
import { parseInputValue } from './input-values.ts';
import { OnlineQueryResult } from './online-query-result.tsx';
import { OutputPicker } from './output-picker.tsx';
import { onlineQueryClientCode, onlineQueryCurl } from './query-snippets.ts';

type Outcome =
  | { readonly kind: 'idle' }
  | { readonly kind: 'running' }
  | { readonly kind: 'done'; readonly response: OnlineQueryResponse; readonly request: OnlineQueryRequest }
  | { readonly kind: 'failed'; readonly error: unknown };

/**
 * An online query: outputs picked from the catalog (typing completes feature names), one typed field per
 * input (the outputs' primary keys are added for you), then the answer's values, errors, meta and explain.
 */
export function OnlineQueryPanel({
  environmentId,
  graph,
  initialOutputs,
}: {
  environmentId: string;
  graph: GraphArtifact;
  initialOutputs: readonly string[];
}) {
  const api = useApi();
  const index = useMemo(() => createGraphIndex(graph), [graph]);
  const listId = useId();
  const [outputs, setOutputs] = useState<string[]>(() => initialOutputs.filter((o) => index.feature(o)));
  const [extraInputs, setExtraInputs] = useState<string[]>([]);
  const [values, setValues] = useState<Record<string, string>>({});
  const [includeMeta, setIncludeMeta] = useState(true);
  const [explain, setExplain] = useState(false);
  const [queryName, setQueryName] = useState('');
  const [outcome, setOutcome] = useState<Outcome>({ kind: 'idle' });

  // The inputs a query needs: the primary key of each output's namespace, plus any the user added.
  const inputs = useMemo(() => {
    const keys = outputs.flatMap((o) => {
      const entry = index.feature(o);
      return entry ? [entry.namespace.primaryKey] : [];
    });
    return [...new Set([...keys, ...extraInputs])];
  }, [outputs, extraInputs, index]);

  const parsed = inputs.map((fqn) => ({
    fqn,
    result: parseInputValue(values[fqn] ?? '', dtypeOfEntry(index.feature(fqn))),
  }));
  const inputErrors = parsed.filter((p) => !p.result.ok);
  const request: OnlineQueryRequest = {
    inputs: Object.fromEntries(
      parsed.map((p) => [p.fqn, p.result.ok ? p.result.value : (null as JsonValue)]),
    ),
    outputs,
    include_meta: includeMeta,
    ...(explain ? { explain: true } : {}),
    ...(queryName.trim() ? { query_name: queryName.trim() } : {}),
  };

  const run = async (event: FormEvent) => {
    event.preventDefault();
    if (outputs.length === 0 || inputErrors.length > 0) return;
    setOutcome({ kind: 'running' });
    try {
      const response = await api.queryOnline(environmentId, request);
      setOutcome({ kind: 'done', response, request });
    } catch (error) {
      setOutcome({ kind: 'failed', error });
    }
  };

  const apiServer = window.location.origin;

  return (
    <div className="stack-lg">
      <form className="card card-pad stack" onSubmit={run} aria-label="Online query">
        <OutputPicker id={listId} index={index} outputs={outputs} onChange={setOutputs} />

        <fieldset className="field">
          <legend className="field-label">Inputs</legend>
          {inputs.length === 0 && (
            <span className="muted small">Add an output: its primary key appears here.</span>
          )}
          <div className="input-grid">
            {parsed.map(({ fqn, result }) => {
              const dtype = dtypeOfEntry(index.feature(fqn));
              return (
                <label key={fqn} className="input-row">
                  <span className="input-name">
                    <code>{fqn}</code>{' '}
                    <span className="dtype muted small">{formatDType(dtype) || 'string'}</span>
                  </span>
                  <input
                    className="search mono"
                    aria-label={`Input ${fqn}`}
                    aria-invalid={!result.ok}
                    value={values[fqn] ?? ''}
                    onChange={(e) => setValues({ ...values, [fqn]: e.target.value })}
                    placeholder={placeholderFor(formatDType(dtype))}
                  />
                  {!result.ok && <span className="form-error">{result.error}</span>}
                  {extraInputs.includes(fqn) && (
                    <button
                      type="button"
                      className="button button-small button-ghost"
                      onClick={() => setExtraInputs(extraInputs.filter((x) => x !== fqn))}
                    >
                      Remove
                    </button>
                  )}
                </label>
              );
            })}
          </div>
          <AddInput
            listId={`${listId}-features`}
            onAdd={(fqn) => !inputs.includes(fqn) && setExtraInputs([...extraInputs, fqn])}
          />
        </fieldset>

        <details className="options">
          <summary>Options</summary>
          <div className="stack">
            <label className="check">
              <input
                type="checkbox"
                checked={includeMeta}
                onChange={(e) => setIncludeMeta(e.target.checked)}
              />{' '}
              Include meta (resolver, cache hit per feature)
            </label>
            <label className="check">
              <input type="checkbox" checked={explain} onChange={(e) => setExplain(e.target.checked)} />{' '}
              Explain (the query plan)
            </label>
            <label className="field">
              <span className="field-label">Query name</span>
              <input className="search" value={queryName} onChange={(e) => setQueryName(e.target.value)} />
            </label>
          </div>
        </details>

        <div className="form-actions">
          <button
            type="submit"
            className="button button-primary"
            disabled={outputs.length === 0 || inputErrors.length > 0 || outcome.kind === 'running'}
          >
            {outcome.kind === 'running' ? 'Running…' : 'Run query'}
          </button>
          <CopyButton value={onlineQueryCurl(apiServer, request)} label="Copy as curl" />
          <CopyButton
            value={onlineQueryClientCode(apiServer, environmentId, request)}
            label="Copy as TypeScript"
          />
        </div>
      </form>

      {outcome.kind === 'failed' && <ErrorState error={outcome.error} title="The query failed" />}
      {outcome.kind === 'done' && (
        <OnlineQueryResult
          response={outcome.response}
          outputs={outcome.request.outputs}
          environmentId={environmentId}
        />
      )}
    </div>
  );
}

function AddInput({ listId, onAdd }: { listId: string; onAdd: (fqn: string) => void }) {
  const [text, setText] = useState('');
  const add = () => {
    if (text.trim()) onAdd(text.trim());
    setText('');
  };
  return (
    <div className="inline-form">
      <input
        className="search mono"
        list={listId}
        aria-label="Another input feature"
        placeholder="Another input, e.g. user.country"
        value={text}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter') {
            e.preventDefault();
            add();
          }
        }}
      />
      <button type="button" className="button" onClick={add} disabled={!text.trim()}>
        Add input
      </button>
    </div>
  );
}

function placeholderFor(type: string): string {
  if (type === 'int') return '42';
  if (type === 'float') return '0.5';
  if (type === 'bool') return 'true';
  if (type === 'datetime') return '2026-01-31T12:00:00Z';
  if (type.startsWith('list') || type.startsWith('set')) return '[1, 2]';
  if (type.startsWith('struct')) return '{"a": 1}';
  return '';
}
