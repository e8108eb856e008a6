import { describe, expect, it } from 'vitest';
import { parseRoles } from './roles.ts';

describe('parseRoles', () => {
  it('reads all (and nothing) as every role', () => {
    expect([...parseRoles(undefined)].sort()).toEqual(['jobs', 'persistence', 'query', 'streaming']);
    expect([...parseRoles('all')].sort()).toEqual(['jobs', 'persistence', 'query', 'streaming']);
  });

  it('reads a comma list, spaces allowed', () => {
    expect([...parseRoles('query, jobs')].sort()).toEqual(['jobs', 'query']);
    expect([...parseRoles('persistence')]).toEqual(['persistence']);
  });

  it('refuses what is not a role with INVALID_ROLE, naming it', () => {
    expect(() => parseRoles('query,cron')).toThrow(/"cron" is not a role/);
    expect(() => parseRoles('query,')).toThrow(expect.objectContaining({ code: 'INVALID_ROLE' }));
  });
});
