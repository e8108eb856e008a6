import { collectGraph } from '@slate/sdk';
import { describe, expect, it } from 'vitest';
import * as quickstart from '../../../../examples/quickstart/src/index.ts';
import { createEngine } from '../engine.ts';
import { createInProcessRuntime } from '../runtime/in-process/in-process-runtime.ts';

const { artifact, functions } = collectGraph(quickstart, { project: 'quickstart' });
const engine = createEngine({
  graph: artifact,
  runtime: createInProcessRuntime(functions),
  environment: 'dev',
  deploymentId: 'c-test',
});

/** The PARSE_FAILED messages of a query naming `outputs` for user 1. */
async function parseErrors(outputs: string[], inputs: Record<string, unknown[]> = { 'user.id': [1] }) {
  const result = await engine.query({ inputs, outputs });
  return result.errors.filter((e) => e.code === 'PARSE_FAILED').map((e) => e.message);
}

describe('undefined features: did you mean', () => {
  it('suggests the close feature of the same namespace', async () => {
    expect(await parseErrors(['user.emial', 'user.nmae'])).toEqual([
      "Query output referenced undefined feature 'user.emial' (did you mean 'user.email'?)",
      "Query output referenced undefined feature 'user.nmae' (did you mean 'user.name'?)",
    ]);
  });

  it('suggests the feature under a misspelled namespace, and for inputs', async () => {
    expect(await parseErrors(['usr.email'])).toEqual([
      "Query output referenced undefined feature 'usr.email' (did you mean 'user.email'?)",
    ]);
    expect(await parseErrors(['user.name'], { 'user.ids': [1] })).toContain(
      "Query input referenced undefined feature 'user.ids' (did you mean 'user.id'?)",
    );
  });

  it('suggests nothing when nothing is close', async () => {
    expect(await parseErrors(['user.nope', 'user.favourite_colour', 'nothing.here'])).toEqual([
      "Query output referenced undefined feature 'user.nope'",
      "Query output referenced undefined feature 'user.favourite_colour'",
      "Query output referenced undefined feature 'nothing.here'",
    ]);
  });
});
