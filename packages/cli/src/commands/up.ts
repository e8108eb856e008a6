import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SlateError } from '@slate/graph';
import type { DataSourceConfig, OnlineStoreConfig } from '@slate/platform';
import type { Command } from 'commander';
import { type CliContext, printLine } from '../cli-context.ts';

interface UpFlags {
  readonly stateDir?: string;
  readonly host: string;
  readonly port?: string;
  readonly dataPlanePort?: string;
  readonly grpcPort?: string;
  readonly dataPlaneGrpcPort?: string;
  readonly project?: string;
  readonly seed?: string;
  readonly webRoot?: string;
  readonly verbose?: boolean;
  readonly onlineStore?: string;
  readonly typecheck: boolean;
}

/**
 * `slate up`: the whole platform on this machine, on embedded defaults, in this terminal. Deploys the
 * feature repository (only when it changed since the last start), proves it answers a query, prints how to
 * query it, and stops cleanly on Ctrl-C.
 */
export function registerUp(program: Command, context: CliContext): void {
  program
    .command('up')
    .description('run the metadata plane and a data plane locally and deploy the feature repository')
    .option('--state-dir <dir>', 'where state lives (env SLATE_STATE_DIR)', undefined)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--port <port>', 'metadata plane port: API and web UI (env SLATE_PORT, default 4000)')
    .option('--data-plane-port <port>', 'data plane port (env SLATE_DATA_PLANE_PORT, default 4001)')
    .option(
      '--grpc-port <port|off>',
      "the API host's gRPC port: token exchange and queries forwarded (env SLATE_METADATA_GRPC_PORT, default 4003)",
    )
    .option(
      '--data-plane-grpc-port <port|off>',
      "the data plane's gRPC query port; off turns gRPC off (env SLATE_DATA_PLANE_GRPC_PORT, default 4002)",
    )
    .option(
      '--project <dir>',
      'feature repository to deploy (default: this folder, else examples/quickstart)',
    )
    .option('--seed <file>', "seed file (default: the project's seed.yaml)")
    .option('--web-root <dir>', 'built web UI to serve (default: apps/web/dist when built)')
    .option(
      '--online-store <kind>',
      'online store: lmdb (on disk in the state folder, the default) or memory (lost on restart) (env SLATE_ONLINE_STORE)',
    )
    .option('--no-typecheck', 'deploy without the TypeScript type check')
    .option('--verbose', 'log every request')
    .action(async (flags: UpFlags) => {
      const env = context.env;
      const project = resolve(
        context.cwd,
        flags.project ?? (existsSync(resolve(context.cwd, 'slate.yaml')) ? '.' : 'examples/quickstart'),
      );
      if (!existsSync(resolve(project, 'slate.yaml'))) {
        throw new SlateError(
          'input',
          'NO_PROJECT',
          `${project} holds no slate.yaml: pass --project <feature repository>`,
        );
      }
      const seedFile = flags.seed ? resolve(context.cwd, flags.seed) : resolve(project, 'seed.yaml');
      const webRoot = flags.webRoot ? resolve(context.cwd, flags.webRoot) : defaultWebRoot();
      const stateDir = resolve(context.cwd, flags.stateDir ?? env.SLATE_STATE_DIR ?? '.slate');
      const port = portOf(flags.port ?? env.SLATE_PORT ?? '4000', '--port');
      const dataPlanePort = portOf(
        flags.dataPlanePort ?? env.SLATE_DATA_PLANE_PORT ?? '4001',
        '--data-plane-port',
      );
      const dataPlaneGrpc = optionalPortOf(
        flags.dataPlaneGrpcPort ?? env.SLATE_DATA_PLANE_GRPC_PORT ?? '4002',
        '--data-plane-grpc-port',
      );
      const apiHostGrpc = optionalPortOf(
        flags.grpcPort ?? env.SLATE_METADATA_GRPC_PORT ?? '4003',
        '--grpc-port',
      );
      const line = (text: string) => printLine(context, text);

      // Loaded on use: both planes and their stores (the @slate/platform app) are most of the CLI's code, and
      // an optional peer of the CLI: only `slate up` needs them.
      const [{ createRedactingLogger }, { startPlatform }, { applyDeployment }, { chooseSampleQuery }] =
        await Promise.all([
          import('@slate/http-edge'),
          loadPlatform(),
          import('../deploy/apply-deployment.ts'),
          import('../up/sample-query.ts'),
        ]);
      line(`▸ starting Slate in ${relative(context.cwd, stateDir) || '.'}`);
      const platform = await startPlatform({
        stateDir,
        host: flags.host,
        port,
        dataPlanePort,
        grpc: dataPlaneGrpc === undefined ? undefined : { dataPlane: dataPlaneGrpc, apiHost: apiHostGrpc },
        seedFile: existsSync(seedFile) ? seedFile : undefined,
        webRoot: webRoot && existsSync(webRoot) ? webRoot : undefined,
        logger: createRedactingLogger({ level: flags.verbose ? 'info' : 'warn' }),
        dataSources: await projectDataSources(project),
        onlineStore: onlineStoreOf(flags.onlineStore ?? env.SLATE_ONLINE_STORE ?? 'lmdb', stateDir, env),
      });
      const stop = waitForSignal();
      try {
        line(`▸ metadata plane  ${platform.apiServer}  (API and web UI)`);
        line(`▸ data plane      ${platform.dataPlaneUrl}  (queries)`);
        if (dataPlaneGrpc !== undefined) {
          const host = new URL(platform.apiServer).hostname;
          const apiHost = apiHostGrpc === undefined ? '' : `${host}:${apiHostGrpc} (API host), `;
          line(`▸ gRPC            ${apiHost}${host}:${dataPlaneGrpc} (data plane)`);
        }
        line(
          `▸ credentials     ${relative(context.cwd, platform.credentialsPath)}  (environment ${platform.environment})`,
        );
        const { unchanged, deployment, build } = await applyDeployment({
          dir: project,
          client: platform.client,
          onProgress: line,
          typeCheck: flags.typecheck,
        });
        if (unchanged)
          line(
            `▸ ${relative(context.cwd, project) || '.'} is unchanged: still serving deployment ${deployment.id}`,
          );

        // The sample comes from the graph just deployed; a repository it does not fit still comes up.
        const sample = chooseSampleQuery(build.artifact);
        line('');
        if (!sample) {
          line(
            'Slate is up. No sample query: no feature class has an online resolver that takes only its key.',
          );
        } else {
          const answer = await platform.client.queryOnline({
            inputs: { ...sample.inputs },
            outputs: [...sample.outputs],
          });
          const errors = answer.errors ?? [];
          if (errors.length > 0) {
            line(`Slate is up. The sample query for ${sample.entity} answered with errors:`);
            for (const error of errors) line(`  ${error.code}: ${error.message}`);
          } else {
            line(`Slate is up. ${sample.entity} of ${build.artifact.project} right now:`);
            for (const result of answer.data)
              line(`  ${result.field.padEnd(24)} ${JSON.stringify(result.value)}`);
          }
          const [[key, value]] = Object.entries(sample.inputs) as [[string, number | string]];
          const shown = sample.outputs.slice(0, 2);
          line('');
          line('Query it yourself (from this folder, in another terminal):');
          line(`  npx slate query --in ${key}=${value} ${shown.map((fqn) => `--out ${fqn}`).join(' ')}`);
          line(`  TOKEN=$(npx slate token)`);
          line(
            `  curl -s ${platform.dataPlaneUrl}/v1/query/online -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '${JSON.stringify({ inputs: sample.inputs, outputs: shown })}'`,
          );
        }
        const signIn = platform.ownerEmail ? ` and sign in as ${platform.ownerEmail}` : '';
        line(`Open ${platform.apiServer}${signIn}. Press Ctrl-C to stop.`);
        await stop.promise;
        line('▸ stopping…');
      } finally {
        stop.dispose();
        await platform.close();
      }
      line('▸ stopped');
    });
}

/** A port, or undefined for `off`. */
function optionalPortOf(text: string, flag: string): number | undefined {
  if (text === 'off') return undefined;
  const port = portOf(text, flag);
  // The API host forwards to the data plane's gRPC port by number, so it cannot be picked at random.
  if (port === 0)
    throw new SlateError('input', 'INVALID_PORT', `${flag} must be a port number or off, not 0`);
  return port;
}

function portOf(text: string, flag: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new SlateError('input', 'INVALID_PORT', `${flag} must be a port number, not '${text}'`);
  return port;
}

/**
 * The online store `--online-store` names: `lmdb` in `<stateDir>/online` (durability from
 * `SLATE_ONLINE_STORE_DURABILITY`, `process` by default) or `memory`.
 */
function onlineStoreOf(
  kind: string,
  stateDir: string,
  env: Readonly<Record<string, string | undefined>>,
): OnlineStoreConfig {
  if (kind === 'memory') return { type: 'memory' };
  if (kind !== 'lmdb')
    throw new SlateError(
      'input',
      'INVALID_ONLINE_STORE',
      `--online-store must be lmdb or memory, not '${kind}'`,
    );
  // `process` (acknowledged at commit: survives a crash of slate up; see ADR 0008 for why not `disk` here).
  const durability = env.SLATE_ONLINE_STORE_DURABILITY ?? 'process';
  if (durability !== 'disk' && durability !== 'process')
    throw new SlateError(
      'input',
      'INVALID_ONLINE_STORE',
      `SLATE_ONLINE_STORE_DURABILITY must be disk or process, not '${durability}'`,
    );
  return { type: 'lmdb', path: join(stateDir, 'online'), durability };
}

/** apps/web/dist of the repository this code runs from: searched upwards, as it runs from src/ or dist/. */
function defaultWebRoot(): string | undefined {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const dist = join(dir, 'apps/web/dist');
    if (existsSync(join(dist, 'index.html'))) return dist;
  }
  return undefined;
}

/** Resolves on the first SIGINT or SIGTERM; `dispose` removes the handlers. */
function waitForSignal(): { promise: Promise<void>; dispose(): void } {
  let handler: () => void = () => {};
  const promise = new Promise<void>((resolve) => {
    handler = () => resolve();
    process.once('SIGINT', handler);
    process.once('SIGTERM', handler);
  });
  return {
    promise,
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

/** The project's `data_sources`, with `initFile`/`dataDir` made absolute (they are relative to slate.yaml). */
async function projectDataSources(project: string): Promise<DataSourceConfig[]> {
  const { readProjectConfig } = await import('../project-config.ts');
  const config = await readProjectConfig(project);
  return (config.data_sources ?? []).map((source) => {
    const absolute = (key: string) =>
      typeof source[key] === 'string' ? { [key]: resolve(project, source[key] as string) } : {};
    return { ...source, ...absolute('initFile'), ...absolute('dataDir') } as DataSourceConfig;
  });
}

/** The embedded platform, or a clear error when the CLI was installed without it (an optional peer). */
async function loadPlatform(): Promise<typeof import('@slate/platform')> {
  try {
    return await import('@slate/platform');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes("'@slate/platform'")) {
      throw new SlateError(
        'unavailable',
        'PLATFORM_NOT_INSTALLED',
        '`slate up` needs the embedded platform: npm install @slate/platform',
        undefined,
        { cause: error },
      );
    }
    throw error;
  }
}
