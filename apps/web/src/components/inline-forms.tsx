import { type FormEvent, type ReactNode, useState } from 'react';

/** An error's message for a form: the server's words for an `ApiError`, else the text of anything thrown. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs an async form action with `busy` and `error` state: the pattern every admin form shares. The
 * action's own exception becomes `error`; a second submit while one runs is ignored.
 */
export function useAction(): {
  busy: boolean;
  error: string | null;
  run: (action: () => Promise<void>) => Promise<boolean>;
  clear: () => void;
} {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async (action: () => Promise<void>) => {
    if (busy) return false;
    setBusy(true);
    setError(null);
    try {
      await action();
      return true;
    } catch (e) {
      setError(messageOf(e));
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run, clear: () => setError(null) };
}

/**
 * A name shown as text with a "Rename" button that turns it into a one-field form. `onRename` gets the
 * trimmed new name; its error stays in the form.
 */
export function RenameInline({
  name,
  label,
  onRename,
  disabled = false,
  children,
}: {
  name: string;
  /** What is renamed, for the button's accessible name ("Rename project Fraud"). */
  label: string;
  onRename: (name: string) => Promise<void>;
  disabled?: boolean;
  children?: ReactNode;
}) {
  const [editing, setEditing] = useState(false);
  const [value, setValue] = useState(name);
  const action = useAction();
  if (!editing) {
    return (
      <span className="inline-gap">
        {children ?? <span className="strong">{name}</span>}
        {!disabled && (
          <button
            type="button"
            className="button button-ghost button-small"
            aria-label={`Rename ${label} ${name}`}
            onClick={() => {
              setValue(name);
              action.clear();
              setEditing(true);
            }}
          >
            Rename
          </button>
        )}
      </span>
    );
  }
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (await action.run(() => onRename(value.trim()))) setEditing(false);
  };
  return (
    <form className="inline-form" onSubmit={submit} aria-label={`Rename ${label}`}>
      <input
        aria-label={`New name of ${label} ${name}`}
        value={value}
        onChange={(e) => setValue(e.target.value)}
        maxLength={200}
        required
        // biome-ignore lint/a11y/noAutofocus: the user just asked to rename
        autoFocus
      />
      <button
        type="submit"
        className="button button-primary button-small"
        disabled={action.busy || !value.trim()}
      >
        Save
      </button>
      <button type="button" className="button button-ghost button-small" onClick={() => setEditing(false)}>
        Cancel
      </button>
      {action.error && (
        <span className="form-error" role="alert">
          {action.error}
        </span>
      )}
    </form>
  );
}

/** A button that opens a one-field "name" form to create something; closes on success. */
export function CreateByName({
  label,
  placeholder,
  onCreate,
}: {
  /** "New project", "New environment". */
  label: string;
  placeholder?: string;
  onCreate: (name: string) => Promise<void>;
}) {
  const [open, setOpen] = useState(false);
  const [value, setValue] = useState('');
  const action = useAction();
  if (!open) {
    return (
      <button type="button" className="button button-small" onClick={() => setOpen(true)}>
        {label}
      </button>
    );
  }
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (await action.run(() => onCreate(value.trim()))) {
      setValue('');
      setOpen(false);
    }
  };
  return (
    <form className="inline-form" onSubmit={submit} aria-label={label}>
      <input
        aria-label={`${label}: name`}
        placeholder={placeholder ?? 'Name'}
        value={value}
        onChange={(e) => setValue(e.target.value)}
        maxLength={200}
        required
        // biome-ignore lint/a11y/noAutofocus: the user just opened the form
        autoFocus
      />
      <button
        type="submit"
        className="button button-primary button-small"
        disabled={action.busy || !value.trim()}
      >
        Create
      </button>
      <button type="button" className="button button-ghost button-small" onClick={() => setOpen(false)}>
        Cancel
      </button>
      {action.error && (
        <span className="form-error" role="alert">
          {action.error}
        </span>
      )}
    </form>
  );
}
