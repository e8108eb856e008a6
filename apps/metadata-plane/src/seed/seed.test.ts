import { SlateError } from '@slate/graph';
import { describe, expect, it } from 'vitest';
import { parseSeed } from './seed.ts';

const guideSeed = `
chalk:
  metadata:
    seed:
      teams:
        - id: teamshortid
          name: Your Company Name
      projects:
        - id: projectshortid
          name: Your Project Name
          team_id: teamshortid
      environments:
        - id: envshortid
          name: Development
          project_id: projectshortid
          team_id: teamshortid
      team_invites:
        - id: "seed_invite_1"
          team: teamshortid
          email: "your@email.com"
          role: owner
`;

function issuesOf(source: unknown): { path: string; message: string }[] {
  try {
    parseSeed(source);
  } catch (error) {
    expect(error).toBeInstanceOf(SlateError);
    expect((error as SlateError).code).toBe('INVALID_SEED');
    return (error as SlateError).details?.issues as { path: string; message: string }[];
  }
  throw new Error('expected INVALID_SEED');
}

describe('parseSeed', () => {
  it("reads the installation guide's example verbatim, then rejects its over-long ids", () => {
    // The guide's own placeholder ids have 11-14 characters, breaking its "less than 10" rule.
    expect(issuesOf(guideSeed).map((i) => i.path)).toEqual([
      'teams[0].id',
      'projects[0].id',
      'environments[0].id',
    ]);
  });

  it('finds the seed under chalk.metadata.seed, slate.metadata.seed or bare', () => {
    const bare = {
      teams: [{ id: 'acme', name: 'Acme' }],
      projects: [{ id: 'p1', name: 'P', team_id: 'acme' }],
      environments: [{ id: 'dev', name: 'Dev', project_id: 'p1', team_id: 'acme' }],
      team_invites: [{ id: 'seed_invite_1', team: 'acme', email: 'a@acme.test', role: 'owner' }],
    };
    const expected = { ...bare };
    expect(parseSeed(bare)).toEqual(expected);
    expect(parseSeed({ chalk: { metadata: { seed: bare } } })).toEqual(expected);
    expect(parseSeed({ slate: { metadata: { seed: bare } } })).toEqual(expected);
    expect(
      parseSeed(
        guideSeed
          .replaceAll('teamshortid', 'team1')
          .replaceAll('projectshortid', 'proj1')
          .replaceAll('envshortid', 'env1'),
      ).environments,
    ).toEqual([{ id: 'env1', name: 'Development', project_id: 'proj1', team_id: 'team1' }]);
  });

  it('reports every violation with its path', () => {
    const issues = issuesOf({
      teams: [
        { id: 'Acme', name: 'A' },
        { id: 'ok', name: 'B' },
        { id: 'ok', name: 'C' },
      ],
      projects: [{ id: 'p 1', name: 'P', team_id: 'nope' }],
      environments: [
        { id: 'dev', name: 'Dev', project_id: 'p 1', team_id: 'ok' },
        { id: 'abcdefghij', name: 'Long', project_id: 'missing', team_id: 'ok' },
      ],
      team_invites: [{ id: 'i1', team: 'ok', email: 'not-an-email', role: 'boss' }],
    });
    const paths = issues.map((i) => i.path).sort();
    expect(paths).toEqual(
      [
        'teams[0].id',
        'projects[0].id',
        'environments[1].id',
        'team_invites[0].email',
        'team_invites[0].role',
      ].sort(),
    );
  });

  it('checks references and duplicates once the shapes are valid', () => {
    const issues = issuesOf({
      teams: [
        { id: 'acme', name: 'A' },
        { id: 'acme', name: 'again' },
        { id: 'beta', name: 'B' },
      ],
      projects: [
        { id: 'p1', name: 'P', team_id: 'ghost' },
        { id: 'p2', name: 'Q', team_id: 'acme' },
      ],
      environments: [
        { id: 'dev', name: 'Dev', project_id: 'p9', team_id: 'acme' },
        { id: 'stg', name: 'Stg', project_id: 'p2', team_id: 'beta' },
      ],
      team_invites: [{ id: 'i1', team: 'gamma', email: 'x@y.test', role: 'viewer' }],
    });
    expect(issues).toEqual([
      { path: 'teams[1].id', message: 'duplicate id "acme"' },
      { path: 'projects[0].team_id', message: 'unknown team "ghost"' },
      { path: 'environments[0].project_id', message: 'unknown project "p9"' },
      { path: 'environments[1].team_id', message: 'project "p2" belongs to team "acme", not "beta"' },
      { path: 'team_invites[0].team', message: 'unknown team "gamma"' },
    ]);
  });

  it('rejects invalid YAML as INVALID_SEED', () => {
    expect(issuesOf('teams: [unclosed')[0]?.message).toMatch(/not valid YAML/);
  });
});
