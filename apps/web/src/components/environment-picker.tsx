import type { Environment, Project } from '../api/index.ts';
import { navigate } from '../router.tsx';

/** A "project / environment" select that navigates to `hrefOf(environmentId)` on change. */
export function EnvironmentPicker({
  environments,
  projects,
  value,
  hrefOf,
}: {
  environments: readonly Environment[];
  projects: readonly Project[];
  value: string | null;
  hrefOf: (environmentId: string) => string;
}) {
  const projectName = (id: string) => projects.find((p) => p.id === id)?.name ?? id;
  return (
    <label className="picker">
      <span className="field-label">Environment</span>
      <select value={value ?? ''} onChange={(e) => navigate(hrefOf(e.target.value))}>
        {environments.map((e) => (
          <option key={e.id} value={e.id}>
            {projectName(e.project_id ?? '')} / {e.name}
          </option>
        ))}
      </select>
    </label>
  );
}
