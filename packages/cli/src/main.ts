import { type ErrorKind, SlateError } from '@slate/graph';
import { Command, CommanderError } from 'commander';
import { type CliContext, processCliContext } from './cli-context.ts';
import { registerAlerts } from './commands/alerts.ts';
import { registerApply } from './commands/apply.ts';
import { registerCodegen } from './commands/codegen.ts';
import { registerDatasets } from './commands/datasets.ts';
import { registerDelete } from './commands/delete.ts';
import { registerDeployments } from './commands/deployments.ts';
import { registerDiff } from './commands/diff.ts';
import { registerDrop } from './commands/drop.ts';
import { registerEnv } from './commands/env.ts';
import { registerInit } from './commands/init.ts';
import { registerLint } from './commands/lint.ts';
import { registerLogin } from './commands/login.ts';
import { registerLogout } from './commands/logout.ts';
import { registerMetrics } from './commands/metrics.ts';
import { registerModels } from './commands/models.ts';
import { registerOfflineQuery } from './commands/offline-query.ts';
import { registerQuery } from './commands/query.ts';
import { registerRuns } from './commands/runs.ts';
import { registerSchedules } from './commands/schedules.ts';
import { registerSecrets } from './commands/secrets.ts';
import { registerToken } from './commands/token.ts';
import { registerUp } from './commands/up.ts';
import { registerUpload } from './commands/upload.ts';
import { registerWhoAmI } from './commands/whoami.ts';

/** The `slate` version `slate --version` prints: @slate/cli's `package.json` version (a test keeps them equal). */
export const CLI_VERSION = '0.1.0';

/** Adds one command (or command group) to the program; commands write only through `context`. */
export type CommandRegistration = (program: Command, context: CliContext) => void;

/**
 * Every `slate` command, in help order. A new command lives in `src/commands/<name>.ts`, exports
 * `register<Name>(program, context)`, and is added here.
 */
export const commands: readonly CommandRegistration[] = [
  registerUp,
  registerInit,
  registerApply,
  registerDiff,
  registerQuery,
  registerOfflineQuery,
  registerDatasets,
  registerLint,
  registerDeployments,
  registerAlerts,
  registerMetrics,
  registerRuns,
  registerSchedules,
  registerSecrets,
  registerModels,
  registerWhoAmI,
  registerEnv,
  registerToken,
  registerUpload,
  registerDelete,
  registerDrop,
  registerCodegen,
  registerLogin,
  registerLogout,
];

/** The one table from error kind to exit code. Usage errors (bad flags) are `input` too. */
const exitCodeByKind: Record<ErrorKind, number> = {
  input: 2,
  authentication: 3,
  not_allowed: 3,
  not_found: 4,
  unavailable: 5,
  rate_limited: 5,
  timeout: 5,
  conflict: 1,
  internal: 1,
};

/** The process exit code for an error thrown by a command: `SlateError`s by kind, anything else 1. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof SlateError) return exitCodeByKind[error.kind];
  if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : exitCodeByKind.input;
  return 1;
}

/**
 * The `slate` program with every command of `commands` and the global connection flags. It throws instead
 * of exiting (`exitOverride`) so `runCli` decides the exit code.
 */
export function createProgram(context: CliContext, registrations = commands): Command {
  const program = new Command('slate')
    .description('Slate: deploy and query feature repositories')
    .version(CLI_VERSION, '-V, --version', 'print the version')
    .option('--api-server <url>', 'metadata plane URL (else SLATE_API_SERVER, .slate/credentials.json)')
    .option('--client-id <id>', 'client id (else SLATE_CLIENT_ID, _CHALK_CLIENT_ID, .slate/credentials.json)')
    .option('--client-secret <secret>', 'client secret (else SLATE_CLIENT_SECRET, _CHALK_CLIENT_SECRET, …)')
    .option('--environment <env>', 'environment id or name (default: the credentials’ primary one)')
    .option('--query-server <url>', 'data plane URL (default: from the token exchange)')
    .addHelpText(
      'after',
      '\nExit codes: 0 ok · 1 conflict/internal · 2 input (bad flags, lint errors) · 3 authentication/not ' +
        'allowed · 4 not found · 5 unavailable/timeout. Every command takes --json. See docs/cli.md.',
    )
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: context.stdout, writeErr: context.stderr });
  for (const register of registrations) register(program, context);
  // Subcommands inherit neither `exitOverride` nor output routing; apply both everywhere.
  const configure = (command: Command) => {
    command.exitOverride().configureOutput({ writeOut: context.stdout, writeErr: context.stderr });
    command.commands.forEach(configure);
  };
  program.commands.forEach(configure);
  return program;
}

/**
 * Runs `slate` with `argv` (as `process.argv`: node, script, args…) and returns the exit code. Errors are
 * printed once, here, as `error[CODE]: message` plus any schema issues.
 *
 * @example
 * process.exitCode = await runCli(process.argv);
 */
export async function runCli(
  argv: readonly string[],
  context: CliContext = processCliContext(),
): Promise<number> {
  try {
    await createProgram(context).parseAsync([...argv]);
    return 0;
  } catch (error) {
    // Commander has already printed its own usage errors and help.
    if (!(error instanceof CommanderError)) context.stderr(`${formatError(error)}\n`);
    return exitCodeOf(error);
  }
}

/** `error[CODE]: message`, then one line per issue of `details.issues` (schema findings). */
export function formatError(error: unknown): string {
  if (!(error instanceof SlateError)) {
    return `error[INTERNAL]: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
  }
  const lines = [`error[${error.code}]: ${error.message}`];
  const issues = error.details?.issues;
  if (Array.isArray(issues)) {
    for (const issue of issues) {
      const { path, message } = (typeof issue === 'object' && issue !== null ? issue : {}) as {
        path?: unknown;
        message?: unknown;
      };
      lines.push(
        typeof message === 'string'
          ? `  - ${typeof path === 'string' && path ? `${path}: ` : ''}${message}`
          : `  - ${String(issue)}`,
      );
    }
  }
  return lines.join('\n');
}
