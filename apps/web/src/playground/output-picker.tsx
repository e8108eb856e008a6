import { useState } from 'react';
import type { GraphIndex } from '../catalog/graph-index.ts';
import { formatDType } from '../format.ts';

/** Outputs one query may name at most (the form stays usable; the server has its own limits). */
export const MAX_OUTPUTS = 200;

/**
 * Chosen outputs as chips, and a field that completes feature names from the catalog (a native
 * `<datalist>`, so the browser's own keyboard and screen-reader support apply).
 */
export function OutputPicker({
  id,
  index,
  outputs,
  onChange,
}: {
  id: string;
  index: GraphIndex;
  outputs: readonly string[];
  onChange: (outputs: string[]) => void;
}) {
  const [draft, setDraft] = useState('');
  const add = () => {
    const fqn = draft.trim();
    if (fqn && !outputs.includes(fqn) && outputs.length < MAX_OUTPUTS) onChange([...outputs, fqn]);
    setDraft('');
  };
  const unknown = draft.trim() !== '' && !index.feature(draft.trim());
  return (
    <div className="field">
      <label className="field-label" htmlFor={`${id}-input`}>
        Outputs
      </label>
      <datalist id={`${id}-features`}>
        {index.features.map(({ feature }) => (
          <option key={feature.fqn} value={feature.fqn}>
            {feature.kind === 'scalar' ? formatDType(feature.dtype) : feature.kind}
          </option>
        ))}
      </datalist>
      {outputs.length > 0 && (
        <div className="chips">
          {outputs.map((fqn) => (
            <span key={fqn} className="chip">
              <code>{fqn}</code>
              <button
                type="button"
                className="chip-remove"
                aria-label={`Remove output ${fqn}`}
                onClick={() => onChange(outputs.filter((o) => o !== fqn))}
              >
                ×
              </button>
            </span>
          ))}
        </div>
      )}
      <div className="inline-form">
        <input
          id={`${id}-input`}
          className="search mono"
          list={`${id}-features`}
          placeholder="Type a feature, e.g. user.name"
          autoComplete="off"
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter') {
              e.preventDefault();
              add();
            }
          }}
        />
        <button type="button" className="button" onClick={add} disabled={!draft.trim()}>
          Add output
        </button>
      </div>
      {unknown && (
        <span className="muted small">Not in this deployment’s catalog: the server will say so.</span>
      )}
    </div>
  );
}
