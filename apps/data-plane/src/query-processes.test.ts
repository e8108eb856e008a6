import { describe, expect, it } from 'vitest';
import { checkQueryProcesses, superviseQueryProcesses } from './query-processes.ts';
import { parseRoles } from './roles.ts';

const config = (processes: number, role: string, keyFile: string | null = '/keys/dp.json') => ({
  processes,
  roles: parseRoles(role),
  instanceId: 'dp-1',
  stateDir: '/tmp/state',
  metricsPort: 9464,
  keyFile: keyFile ?? undefined,
});

describe('SLATE_QUERY_PROCESSES', () => {
  it('accepts several processes for the query role with the shared key file', () => {
    expect(() => checkQueryProcesses(config(4, 'query'))).not.toThrow();
  });

  it('refuses several processes for any other role set, or without the key file', () => {
    for (const role of ['all', 'query,jobs', 'persistence'])
      expect(() => checkQueryProcesses(config(2, role))).toThrow(
        expect.objectContaining({ code: 'INVALID_QUERY_PROCESSES' }),
      );
    expect(() => checkQueryProcesses(config(2, 'query', null))).toThrow(
      expect.objectContaining({ code: 'INVALID_QUERY_PROCESSES' }),
    );
  });

  it('with one process, supervises nothing: the process serves itself, whatever its roles', () => {
    expect(() => checkQueryProcesses(config(1, 'all', null))).not.toThrow();
    expect(superviseQueryProcesses(config(1, 'all'), () => {})).toBe(false);
  });
});
