import { dirname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/**
 * What a resolver error's `stacktrace` carries on the wire:
 * - `off`: nothing (an empty string);
 * - `user`: the error line and only the frames in user code (the feature repository), with Slate's own
 *   and its dependencies' frames (server file paths) left out;
 * - `full`: the stack as thrown (debugging a local install).
 */
export type StackTraceMode = 'off' | 'user' | 'full';

export const StackTraceModeSchema = z.enum(['off', 'user', 'full']);

/** Where Slate's own code lives: the monorepo (or install) root above `packages/http-edge/src`. */
const SLATE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const SERVER_DIRS = ['packages', 'apps', 'dist'].map((dir) => `${SLATE_ROOT}${sep}${dir}${sep}`);

/**
 * The default mode: `off` when `NODE_ENV` is `production`, `user` otherwise. An explicit
 * `SLATE_STACK_TRACES` (`off` | `user` | `full`) wins.
 *
 * @throws ZodError when `SLATE_STACK_TRACES` is set to anything else.
 * @example
 * stackTraceModeFromEnv({ NODE_ENV: 'production' }); // 'off'
 */
export function stackTraceModeFromEnv(env: Readonly<Record<string, string | undefined>>): StackTraceMode {
  if (env.SLATE_STACK_TRACES) return StackTraceModeSchema.parse(env.SLATE_STACK_TRACES);
  return env.NODE_ENV === 'production' ? 'off' : 'user';
}

/**
 * A stack trace as `mode` lets it leave the server. A frame is the server's when its location is a Node
 * internal (`node:`, `internal/`), a dependency (`node_modules`), or under Slate's own `packages/`, `apps/`
 * or `dist/` (`serverDirs`); every other frame is user code and kept in `user` mode.
 *
 * @example
 * stackForWire('Error: boom\n    at score (/repo/src/user.ts:3:9)\n    at call (/opt/slate/node_modules/x.js:1:1)', 'user');
 * // 'Error: boom\n    at score (/repo/src/user.ts:3:9)'
 */
export function stackForWire(stack: string, mode: StackTraceMode, serverDirs = SERVER_DIRS): string {
  if (mode === 'full') return stack;
  if (mode === 'off') return '';
  return stack
    .split('\n')
    .filter((line) => !/^\s+at /.test(line) || !isServerFrame(line, serverDirs))
    .join('\n');
}

function isServerFrame(line: string, serverDirs: readonly string[]): boolean {
  const location = /\(([^()]*)\)\s*$/.exec(line)?.[1] ?? line.replace(/^\s+at\s+(async\s+)?/, '');
  let path = location;
  if (path.startsWith('file://')) {
    try {
      path = fileURLToPath(path.replace(/:\d+(:\d+)?$/, ''));
    } catch {
      return true;
    }
  }
  if (
    path.startsWith('node:') ||
    path.startsWith('internal/') ||
    path === 'native' ||
    path.includes('<anonymous>')
  )
    return true;
  if (path.includes(`${sep}node_modules${sep}`) || path.includes('/node_modules/')) return true;
  return serverDirs.some((dir) => path.startsWith(dir));
}
