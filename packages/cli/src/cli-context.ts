import type { SlateClient } from '@slate/client';
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
}

/** The real process: `process.cwd()`, `process.env`, stdout and stderr. */
export function processCliContext(): CliContext {
  return {
    cwd: process.cwd(),
    env: process.env,
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  };
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
 * nearest `.slate/credentials.json` above `dir` (default: the working directory).
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
  const { createSlateClient, loadCredentials } = await import('./connect.ts');
  const credentials = await loadCredentials({
    cwd: dir ?? context.cwd,
    env: context.env,
    apiServer: flags.apiServer,
    clientId: flags.clientId,
    clientSecret: flags.clientSecret,
    environment: flags.environment,
    queryServer: flags.queryServer,
  });
  return createSlateClient({ ...credentials, ...(context.fetch ? { fetch: context.fetch } : {}) });
}

/** Writes a line to standard output. */
export function printLine(context: CliContext, line = ''): void {
  context.stdout(`${line}\n`);
}

/** Writes pretty JSON to standard output. */
export function printJson(context: CliContext, value: unknown): void {
  context.stdout(`${JSON.stringify(value, null, 2)}\n`);
}
