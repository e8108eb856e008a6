import { createHash } from 'node:crypto';
import { appendFile, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { MODEL_PART_MAX_BYTES, ModelSignatureSchema, SlateError } from '@slate/graph';
import type { Command } from 'commander';
import { type CliContext, clientForCommand, printJson, printLine } from '../cli-context.ts';
import { formatTable } from '../format-table.ts';

/** Reads `size` bytes at `offset` of an open file. */
async function readAt(handle: Awaited<ReturnType<typeof open>>, offset: number, size: number) {
  const buffer = Buffer.alloc(size);
  const { bytesRead } = await handle.read(buffer, 0, size, offset);
  return buffer.subarray(0, bytesRead);
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/**
 * `slate models upload|list|versions|promote|download`. Uploads and downloads go part by part (8 MiB),
 * so memory stays bounded whatever the artifact's size, with progress on standard error; an interrupted
 * upload resumes (parts already stored are not sent twice by the server).
 */
export function registerModels(program: Command, context: CliContext): void {
  const models = program.command('models').description("the environment's model registry");
  const progress = (label: string, done: number, total: number) =>
    context.stderr(
      `\r${label} ${mib(done)} / ${mib(total)} (${total === 0 ? 100 : Math.floor((done / total) * 100)}%)`,
    );

  models
    .command('upload')
    .description('register a new version of a model from an ONNX file')
    .argument('<name>', 'the model name (letters, digits, _)')
    .argument('<file>', 'the .onnx file')
    .option('--signature <file>', 'JSON {inputs, outputs}; default: read from the ONNX file')
    .option('--metrics <json>', 'metrics as a JSON object of numbers, e.g. {"auc":0.91}')
    .option('--metadata <json>', 'metadata as a JSON object')
    .option('--dataset-revision <id>', 'the training dataset revision')
    .option('--description <text>', 'what the model does')
    .option('--promote <alias>', 'point this alias at the new version once registered')
    .option('--json', 'print the version as JSON')
    .action(
      async (
        name: string,
        file: string,
        flags: {
          signature?: string;
          metrics?: string;
          metadata?: string;
          datasetRevision?: string;
          description?: string;
          promote?: string;
          json?: boolean;
        },
        command: Command,
      ) => {
        const size = (await stat(file)).size;
        const parseJson = (text: string, what: string) => {
          try {
            return JSON.parse(text) as Record<string, unknown>;
          } catch {
            throw new SlateError('input', 'INVALID_JSON', `${what} is not valid JSON`);
          }
        };
        let signature: { inputs: unknown; outputs: unknown };
        if (flags.signature)
          signature = parseJson(await readFile(flags.signature, 'utf8'), '--signature') as typeof signature;
        else {
          const { readOnnxSignature } = await import('../models/onnx-signature.ts');
          signature = readOnnxSignature(await readFile(file));
        }
        const inputs = ModelSignatureSchema.parse(signature.inputs);
        const outputs = ModelSignatureSchema.parse(signature.outputs);
        const client = await clientForCommand(command, context);
        const { uploadModelPart, registerModelVersion, promoteModel } = await import('../connect.ts');
        const handle = await open(file, 'r');
        const parts: { sha256: string; size: number }[] = [];
        const whole = createHash('sha256');
        try {
          for (let offset = 0; offset < size; offset += MODEL_PART_MAX_BYTES) {
            const bytes = await readAt(handle, offset, Math.min(MODEL_PART_MAX_BYTES, size - offset));
            const sha256 = createHash('sha256').update(bytes).digest('hex');
            whole.update(bytes);
            await uploadModelPart(client, sha256, bytes);
            parts.push({ sha256, size: bytes.length });
            progress(`uploading ${name}`, offset + bytes.length, size);
          }
        } finally {
          await handle.close();
        }
        context.stderr('\n');
        const version = await registerModelVersion(client, name, {
          artifact: { sha256: whole.digest('hex'), size, parts },
          inputs,
          outputs,
          ...(flags.description ? { description: flags.description } : {}),
          ...(flags.metrics
            ? { metrics: parseJson(flags.metrics, '--metrics') as Record<string, number> }
            : {}),
          ...(flags.metadata ? { metadata: parseJson(flags.metadata, '--metadata') } : {}),
          ...(flags.datasetRevision ? { training_dataset_revision: flags.datasetRevision } : {}),
        });
        if (flags.promote) await promoteModel(client, name, flags.promote, version.version);
        if (flags.json) return printJson(context, version);
        printLine(
          context,
          `▸ ${name} v${version.version} registered (sha256 ${version.sha256.slice(0, 12)}…, ${mib(size)})${flags.promote ? `, ${flags.promote} → v${version.version}` : ''}`,
        );
      },
    );

  models
    .command('list')
    .description('list models with their latest version and aliases')
    .option('--json', 'print the models as JSON')
    .action(async (flags: { json?: boolean }, command: Command) => {
      const client = await clientForCommand(command, context);
      const { listModels } = await import('../connect.ts');
      const items = await listModels(client);
      if (flags.json) return printJson(context, { items });
      if (items.length === 0) return printLine(context, 'no models');
      printLine(
        context,
        formatTable(
          ['name', 'latest', 'aliases'],
          items.map((m) => [
            m.name,
            m.latest_version === null ? '-' : `v${m.latest_version}`,
            Object.entries(m.aliases)
              .map(([a, v]) => `${a}=v${v}`)
              .join(' ') || '-',
          ]),
        ),
      );
    });

  models
    .command('versions')
    .description("list a model's versions, newest first")
    .argument('<name>', 'the model name')
    .option('--json', 'print the versions as JSON')
    .action(async (name: string, flags: { json?: boolean }, command: Command) => {
      const client = await clientForCommand(command, context);
      const { listModelVersions } = await import('../connect.ts');
      const items = await listModelVersions(client, name);
      if (flags.json) return printJson(context, { items });
      printLine(
        context,
        formatTable(
          ['version', 'aliases', 'size', 'sha256', 'metrics', 'created'],
          items.map((v) => [
            `v${v.version}`,
            v.aliases.join(' ') || '-',
            mib(v.size),
            `${v.sha256.slice(0, 12)}…`,
            Object.entries(v.metrics)
              .map(([k, m]) => `${k}=${m}`)
              .join(' ') || '-',
            v.created_at,
          ]),
        ),
      );
    });

  models
    .command('promote')
    .description(
      'point an alias (production, staging, …) at a version; running deployments keep theirs until the next deploy',
    )
    .argument('<name>', 'the model name')
    .argument('<version>', 'the version number')
    .option('--alias <alias>', 'the alias to move', 'production')
    .option('--expect <version>', "move only if the alias points at this version now ('none': not set)")
    .option('--json', 'print the move as JSON')
    .action(
      async (
        name: string,
        version: string,
        flags: { alias: string; expect?: string; json?: boolean },
        command: Command,
      ) => {
        const target = Number(version.replace(/^v/, ''));
        if (!Number.isInteger(target) || target < 1)
          throw new SlateError(
            'input',
            'INVALID_VERSION',
            `version must be a positive integer, got ${version}`,
          );
        const expectedVersion =
          flags.expect === undefined
            ? undefined
            : flags.expect === 'none'
              ? null
              : Number(flags.expect.replace(/^v/, ''));
        const client = await clientForCommand(command, context);
        const { promoteModel } = await import('../connect.ts');
        const move = await promoteModel(client, name, flags.alias, target, { expectedVersion });
        if (flags.json) return printJson(context, move);
        printLine(
          context,
          `▸ ${name}@${move.alias}: ${move.from_version === null ? 'unset' : `v${move.from_version}`} → v${move.to_version} (deploy to roll it out)`,
        );
      },
    );

  models
    .command('download')
    .description('download a version (number or alias) to a file, checking its sha256')
    .argument('<name>', 'the model name')
    .argument('<version>', 'a version number or an alias')
    .requiredOption('-o, --output <file>', 'where to write the artifact')
    .action(async (name: string, version: string, flags: { output: string }, command: Command) => {
      const client = await clientForCommand(command, context);
      const { getModelVersion, downloadModelPart } = await import('../connect.ts');
      const ref = /^v?\d+$/.test(version) ? Number(version.replace(/^v/, '')) : version;
      const found = await getModelVersion(client, name, ref);
      const temporary = `${flags.output}.${process.pid}.part`;
      const whole = createHash('sha256');
      let done = 0;
      try {
        await writeFile(temporary, new Uint8Array());
        for (const part of found.parts) {
          const bytes = await downloadModelPart(client, part.sha256);
          whole.update(bytes);
          await appendFile(temporary, bytes);
          done += bytes.length;
          progress(`downloading ${name} v${found.version}`, done, found.size);
        }
        context.stderr('\n');
        const actual = whole.digest('hex');
        if (actual !== found.sha256) {
          throw new SlateError(
            'input',
            'ARTIFACT_SHA256_MISMATCH',
            `the downloaded artifact hashes to ${actual}, not ${found.sha256}`,
          );
        }
        await rename(temporary, flags.output);
      } finally {
        await rm(temporary, { force: true });
      }
      printLine(context, `▸ ${name} v${found.version} written to ${flags.output} (${mib(found.size)})`);
    });
}
