import type { SlateClient } from '@slate/client';
import { SlateError } from '@slate/graph';
import type { Command } from 'commander';

/**
 * Everything a command touches outside its arguments, so tests run commands without ambient state:
 * working directory, environment variables, output streams and the network.
 */
export interface CliContext {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Writes text to standard output (the caller adds newlines). */
  readonly stdout: (text: string) => void;
  /** Writes text to standard error (the caller adds newlines). */
  readonly stderr: (text: string) => void;
  /** The `fetch` clients use (default: the global one). */
  readonly fetch?: typeof fetch;
  /**
   * Reads all of standard input as UTF-8 text, at most `limitBytes` of it (default: the process's stdin).
   * @throws SlateError `input`/`STDIN_TOO_LARGE` past the limit.
   */
  readonly stdin?: (limitBytes: number) => Promise<string>;
  /**
   * Asks a yes/no question on the terminal; absent when there is no terminal to ask on (then a command
   * that needs a confirmation requires `--yes`).
   */
  readonly confirm?: (question: string) => Promise<boolean>;
  /** Opens a URL in the user's browser; absent when there is none to open (then URLs are printed). */
  readonly openUrl?: (url: string) => Promise<boolean>;
}

/** The real process: `process.cwd()`, `process.env`, stdout and stderr. */
export function processCliContext(): CliContext {
  return {
    cwd: process.cwd(),
    env: process.env,
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    stdin: async (limitBytes) => {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of process.stdin) {
        size += (chunk as Buffer).byteLength;
        if (size > limitBytes) {
          process.stdin.destroy();
          throw new SlateError(
            'input',
            'STDIN_TOO_LARGE',
            `standard input holds more than ${limitBytes} bytes`,
          );
        }
        chunks.push(chunk as Buffer);
      }
      return Buffer.concat(chunks).toString('utf8');
    },
    // A browser only on a desktop: a display on Linux (not over SSH without one), always on macOS/Windows.
    ...(process.platform === 'darwin' ||
    process.platform === 'win32' ||
    ((process.env.DISPLAY || process.env.WAYLAND_DISPLAY) && !process.env.SSH_CONNECTION)
      ? { openUrl: (url: string) => openInBrowser(url) }
      : {}),
    ...(process.stdin.isTTY && process.stderr.isTTY
      ? {
          confirm: async (question: string) => {
            const { createInterface } = await import('node:readline/promises');
            const prompt = createInterface({ input: process.stdin, output: process.stderr });
            try {
              return /^y(es)?$/i.test((await prompt.question(question)).trim());
            } finally {
              prompt.close();
            }
          },
        }
      : {}),
  };
}

/** Starts the platform's URL opener, detached; resolves false when it could not be started. */
async function openInBrowser(url: string): Promise<boolean> {
  const { spawn } = await import('node:child_process');
  const [command, ...args] =
    process.platform === 'darwin'
      ? ['open', url]
      : process.platform === 'win32'
        ? ['cmd', '/c', 'start', '""', url]
        : ['xdg-open', url];
  return new Promise((resolve) => {
    const child = spawn(command!, args, { stdio: 'ignore', detached: true });
    child.once('error', () => resolve(false));
    child.once('spawn', () => {
      child.unref();
      resolve(true);
    });
  });
}

/** Connection flags every command accepts; they beat environment variables and `.slate/credentials.json`. */
export interface ConnectionFlags {
  readonly apiServer?: string;
  readonly clientId?: string;
  readonly clientSecret?: string;
  readonly environment?: string;
  readonly queryServer?: string;
}

/**
 * A client for the command being run, from its (global) connection flags, then the environment, then the
 * nearest `.slate/credentials.json` above `dir` (default: the working directory). The access token is cached
 * in the credentials folder (see `createFileTokenCache`) until it expires.
 *
 * @throws SlateError `NO_CREDENTIALS` when no client id and secret can be found.
 */
export async function clientForCommand(
  command: Command,
  context: CliContext,
  dir?: string,
): Promise<SlateClient> {
  const flags = command.optsWithGlobals<ConnectionFlags>();
  // Loaded on use, so `slate --help` does not load the client (and Apache Arrow with it).
  const {
    createFileTokenCache,
    createSlateClient,
    credentialsFolder,
    loadCredentials,
    loginCredentialsPath,
  } = await import('./connect.ts');
  const credentials = await loadCredentials({
    cwd: dir ?? context.cwd,
    env: context.env,
    fallbackFile: loginCredentialsPath(context.env),
    apiServer: flags.apiServer,
    clientId: flags.clientId,
    clientSecret: flags.clientSecret,
    environment: flags.environment,
    queryServer: flags.queryServer,
  });
  // One token per server, client id and environment, reused by every command until it expires.
  const folder = credentialsFolder(credentials, context.env);
  const tokenCache = folder ? createFileTokenCache(folder, credentials) : undefined;
  return createSlateClient({
    ...credentials,
    ...(context.fetch ? { fetch: context.fetch } : {}),
    ...(tokenCache ? { tokenCache } : {}),
  });
}

/** Writes a line to standard output. */
export function printLine(context: CliContext, line = ''): void {
  context.stdout(`${line}\n`);
}

/** Writes pretty JSON to standard output. */
export function printJson(context: CliContext, value: unknown): void {
  context.stdout(`${JSON.stringify(value, null, 2)}\n`);
}
