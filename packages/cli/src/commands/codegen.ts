import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { type GraphArtifact, GraphArtifactSchema, SlateError } from '@slate/graph';
import type { Command } from 'commander';
import { type CliContext, clientForCommand, printJson, printLine } from '../cli-context.ts';

interface CodegenFlags {
  readonly out: string;
  readonly fromRepo?: string;
  readonly json?: boolean;
}

/**
 * `slate codegen [--out src/slate-features.ts] [--from-repo <dir>] [--json]`: typed client code for an
 * environment's features — an interface per feature class, a `Features` table of every FQN with its wire
 * type, and a typed `queryOnline` over `@slate/client`. From the environment's active deployment, or with
 * `--from-repo` from a feature repository on disk (no server needed).
 */
export function registerCodegen(program: Command, context: CliContext): void {
  program
    .command('codegen')
    .description("write typed client code (TypeScript) for the environment's features")
    .option('--out <file>', 'the file to write', 'src/slate-features.ts')
    .option(
      '--from-repo <dir>',
      'generate from a feature repository on disk instead of the active deployment',
    )
    .option('--json', 'print what was written as JSON')
    .action(async (flags: CodegenFlags, command: Command) => {
      const { artifact, origin } = flags.fromRepo
        ? await fromRepository(resolve(context.cwd, flags.fromRepo))
        : await fromEnvironment(command, context);
      const { renderTypedClient } = await import('../codegen/typed-client.ts');
      const source = renderTypedClient({ origin, artifact });
      const out = resolve(context.cwd, flags.out);
      await mkdir(dirname(out), { recursive: true });
      await writeFile(out, source);
      const features = artifact.namespaces.reduce((sum, namespace) => sum + namespace.features.length, 0);
      if (flags.json)
        return printJson(context, { file: out, origin, namespaces: artifact.namespaces.length, features });
      printLine(
        context,
        `✓ wrote ${relative(context.cwd, out) || out}: ${artifact.namespaces.length} feature classes, ${features} features (${origin})`,
      );
    });
}

async function fromRepository(dir: string): Promise<{ artifact: GraphArtifact; origin: string }> {
  const { collectProject } = await import('../deploy/build-deployment.ts');
  const { artifact, config } = await collectProject(dir, { typeCheck: false });
  return { artifact, origin: `the repository ${config.project}` };
}

async function fromEnvironment(
  command: Command,
  context: CliContext,
): Promise<{ artifact: GraphArtifact; origin: string }> {
  const client = await clientForCommand(command, context);
  const { getEnvironment } = await import('../connect.ts');
  const environment = await getEnvironment(client);
  const active = environment.active_deployment_id;
  if (!active) {
    throw new SlateError(
      'not_found',
      'NO_ACTIVE_DEPLOYMENT',
      `environment ${environment.name} serves no deployment yet: slate apply first, or --from-repo <dir>`,
    );
  }
  const deployment = await client.getDeployment(active);
  const parsed = GraphArtifactSchema.safeParse((deployment as { graph?: unknown }).graph);
  if (!parsed.success) {
    throw new SlateError(
      'internal',
      'INVALID_ACTIVE_GRAPH',
      `the graph of deployment ${active} cannot be read: ${parsed.error.issues[0]?.message}`,
    );
  }
  return { artifact: parsed.data, origin: `environment ${environment.id}, deployment ${active}` };
}
