import { describe, expect, it } from 'vitest';
import { stackForWire, stackTraceModeFromEnv } from './stack-traces.ts';

const stack = [
  'Error: no such account',
  '    at score (/home/alice/features/src/user.ts:12:11)',
  '    at file:///home/alice/features/.slate/bundle.mjs:40:3',
  '    at callResolver (/opt/slate/packages/engine/src/runtime/call-resolver.ts:30:9)',
  '    at async Promise.all (index 0)',
  '    at run (/opt/slate/node_modules/tsx/dist/x.js:1:1)',
  '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
  '    at main (file:///opt/slate/dist/data-plane/main.js:9:9)',
].join('\n');

describe('stackForWire', () => {
  const serverDirs = ['/opt/slate/packages/', '/opt/slate/apps/', '/opt/slate/dist/'];

  it("keeps the message and the user's frames only, in user mode", () => {
    expect(stackForWire(stack, 'user', serverDirs)).toBe(
      [
        'Error: no such account',
        '    at score (/home/alice/features/src/user.ts:12:11)',
        '    at file:///home/alice/features/.slate/bundle.mjs:40:3',
        '    at async Promise.all (index 0)',
      ].join('\n'),
    );
  });

  it('sends nothing when off and everything when full', () => {
    expect(stackForWire(stack, 'off', serverDirs)).toBe('');
    expect(stackForWire(stack, 'full', serverDirs)).toBe(stack);
  });
});

describe('stackTraceModeFromEnv', () => {
  it('is off in production, user elsewhere, and SLATE_STACK_TRACES wins', () => {
    expect(stackTraceModeFromEnv({ NODE_ENV: 'production' })).toBe('off');
    expect(stackTraceModeFromEnv({})).toBe('user');
    expect(stackTraceModeFromEnv({ NODE_ENV: 'production', SLATE_STACK_TRACES: 'full' })).toBe('full');
    expect(() => stackTraceModeFromEnv({ SLATE_STACK_TRACES: 'all' })).toThrow();
  });
});
