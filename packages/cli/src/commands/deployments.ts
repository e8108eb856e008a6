import type { Deployment } from '@slate/client';
import { SlateError } from '@slate/graph';
import type { Command } from 'commander';
import { type CliContext, clientForCommand, printJson, printLine } from '../cli-context.ts';
import { formatTable } from '../format-table.ts';

interface ListFlags {
  readonly limit: string;
  readonly cursor?: string;
  readonly json?: boolean;
}

interface RollbackFlags {
  readonly await: boolean;
  readonly json?: boolean;
  readonly timeout: string;
}

/**
 * `slate deployments list [--limit 20] [--cursor c] [--json]` and
 * `slate deployments rollback <id> [--no-await] [--json]` (redeploys an earlier deployment).
 */
export function registerDeployments(program: Command, context: CliContext): void {
  const deployments = program.command('deployments').description('list and roll back deployments');

  deployments
    .command('list')
    .description("the environment's deployments, newest first")
    .option('--limit <n>', 'how many to show', '20')
    .option('--cursor <cursor>', 'continue from a previous page')
    .option('--json', 'print the page as JSON')
    .action(async (flags: ListFlags, command: Command) => {
      const client = await clientForCommand(command, context);
      const page = await client.listDeployments({
        limit: Number(flags.limit),
        ...(flags.cursor ? { cursor: flags.cursor } : {}),
      });
      if (flags.json) return printJson(context, page);
      printLine(context, formatDeployments(page.items));
      if (page.next_cursor) printLine(context, `more: slate deployments list --cursor ${page.next_cursor}`);
    });

  deployments
    .command('rollback')
    .description('deploy an earlier deployment again')
    .argument('<id>', 'the deployment to return to')
    .option('--no-await', 'return without waiting for the data plane')
    .option('--timeout <seconds>', 'how long to wait for the data plane', '120')
    .option('--json', 'print the new deployment as JSON')
    .action(async (id: string, flags: RollbackFlags, command: Command) => {
      const client = await clientForCommand(command, context);
      const created = await client.redeploy(id);
      const line = (text: string) => (flags.json ? context.stderr(`${text}\n`) : printLine(context, text));
      line(`▸ redeploying ${id} as ${created.id}… ${created.status}`);
      const deployment = flags.await
        ? await client.waitForDeployment(created.id, { timeoutMs: Number(flags.timeout) * 1000 })
        : created;
      if (flags.await) line(`▸ waiting for the data plane… ${deployment.status}`);
      if (flags.json) printJson(context, deployment);
      if (flags.await && deployment.status !== 'SUCCESS') {
        throw new SlateError(
          'internal',
          `DEPLOYMENT_${deployment.status}`,
          `deployment ${deployment.id} ended ${deployment.status}${deployment.error ? `: ${deployment.error}` : ''}`,
        );
      }
    });
}

/** The deployments table: `*` marks the one serving. */
export function formatDeployments(items: readonly Deployment[]): string {
  if (items.length === 0) return 'no deployments yet';
  return formatTable(
    ['', 'id', 'status', 'created', 'commit', 'error'],
    items.map((d) => [
      d.active ? '*' : '',
      d.id,
      d.status,
      d.created_at,
      (d.git?.commit ?? '').slice(0, 10),
      d.error ?? '',
    ]),
  );
}
