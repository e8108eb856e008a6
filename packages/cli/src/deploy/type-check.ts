import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import type { LintIssue } from '@slate/graph';
import type TypeScript from 'typescript';
import { REPOSITORY_COMPILER_OPTIONS } from '../init/repository-template.ts';
import type { LoadedProjectConfig } from '../project-config.ts';

/**
 * `slate lint` and `slate apply` type-check the feature repository with the TypeScript compiler before
 * anything is uploaded (docs/adr/0015-type-check-before-deploy.md). A type error in the repository's own
 * files is a lint error (`TYPE_ERROR`, at `file:line:col`); a resolver output of the wrong type names the
 * feature it feeds. Two caches keep it off the developer loop's path, both in `node_modules/.cache/slate/`
 * of the repository (or a folder per repository in the temporary folder): the compiler's incremental state,
 * so an edit re-checks only what it touches, and the last result with the size and time of every file it
 * read, so an unchanged repository is not compiled at all.
 */
export interface TypeCheckResult {
  readonly issues: readonly LintIssue[];
  /** Files the compiler checked (the repository's and its dependencies'). */
  readonly files: number;
  /** Whether the repository has its own tsconfig.json (otherwise Slate's defaults were used). */
  readonly ownConfig: boolean;
}

/** At most this many type errors are listed; the rest are counted in one more issue. */
const MAX_REPORTED = 50;

export async function typeCheckProject(config: LoadedProjectConfig): Promise<TypeCheckResult> {
  const cacheDir = cacheFolder(config.dir);
  const resultPath = join(cacheDir, 'typecheck.json');
  const cached = readCachedResult(resultPath);
  const repositoryFiles = fingerprintRepository(config.dir);
  if (
    cached &&
    cached.repository === repositoryFiles &&
    cached.dependencies === fingerprintFiles(cached.read)
  )
    return cached.result;
  const result = await compile(config, join(cacheDir, 'typecheck.tsbuildinfo'));
  const read = result.read.filter((file) => !insideRepository(config.dir, file));
  const entry: CachedResult = {
    repository: repositoryFiles,
    dependencies: fingerprintFiles(read),
    read,
    result: { issues: result.issues, files: result.files, ownConfig: result.ownConfig },
  };
  writeAtomically(resultPath, JSON.stringify(entry));
  return entry.result;
}

async function compile(
  config: LoadedProjectConfig,
  buildInfoFile: string,
): Promise<TypeCheckResult & { readonly read: readonly string[] }> {
  const ts = (await import('typescript')).default;
  const issues: LintIssue[] = [];
  const configPath = join(config.dir, 'tsconfig.json');
  const ownConfig = existsSync(configPath);
  const parsed: ConfigRead = ownConfig
    ? readOwnConfig(ts, configPath, config.dir)
    : {
        ...ts.convertCompilerOptionsFromJson(
          { ...REPOSITORY_COMPILER_OPTIONS, types: nodeTypesIn(config.dir) },
          config.dir,
        ),
        fileNames: [],
      };
  const rootNames = parsed.fileNames.length > 0 ? parsed.fileNames : [config.entryPath];
  const configErrors = parsed.errors;
  if (!ownConfig) {
    issues.push({
      severity: 'warning',
      code: 'NO_TSCONFIG',
      message: 'no tsconfig.json: type-checked with strict defaults (`slate init` writes one)',
    });
  }
  const options: TypeScript.CompilerOptions = {
    ...parsed.options,
    noEmit: true,
    incremental: true,
    composite: false,
    declaration: false,
    tsBuildInfoFile: buildInfoFile,
  };
  // Several CLI processes may check one repository at once: each cache file is replaced whole.
  const host = ts.createIncrementalCompilerHost(options);
  host.writeFile = (path, text) => writeAtomically(path, text);
  // Relative paths and the default type roots (node_modules/@types) are the repository's, wherever the
  // CLI runs from (`slate up --project <dir>` runs elsewhere).
  host.getCurrentDirectory = () => config.dir;
  const program = ts.createIncrementalProgram({
    rootNames,
    options,
    host,
    configFileParsingDiagnostics: configErrors,
  });
  const diagnostics = [
    ...program.getConfigFileParsingDiagnostics(),
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...program.getSyntacticDiagnostics(),
    ...program.getSemanticDiagnostics(),
  ].filter((diagnostic) => diagnostic.category === ts.DiagnosticCategory.Error);
  // With noEmit, emitting writes only the incremental state.
  program.emit();

  const own: TypeScript.Diagnostic[] = [];
  const elsewhere: TypeScript.Diagnostic[] = [];
  for (const diagnostic of diagnostics) {
    if (!diagnostic.file) own.push(diagnostic);
    else if (insideRepository(config.dir, diagnostic.file.fileName)) own.push(diagnostic);
    else elsewhere.push(diagnostic);
  }
  for (const diagnostic of own.slice(0, MAX_REPORTED)) issues.push(toIssue(ts, diagnostic));
  if (own.length > MAX_REPORTED) {
    issues.push({
      severity: 'error',
      code: 'TYPE_ERROR',
      message: `${own.length - MAX_REPORTED} more type errors (run tsc for all of them)`,
    });
  }
  if (elsewhere.length > 0) {
    const first = elsewhere[0]!;
    const where = first.file ? ` (first: ${first.file.fileName})` : '';
    issues.push({
      severity: 'warning',
      code: 'TYPE_ERROR_IN_DEPENDENCY',
      message:
        `${elsewhere.length} type error(s) in dependencies under this tsconfig${where}: ` +
        ts.flattenDiagnosticMessageText(first.messageText, ' '),
    });
  }
  const read = program
    .getProgram()
    .getSourceFiles()
    .map((file) => file.fileName);
  return { issues, files: read.length, ownConfig, read };
}

/** The last result, valid while the repository's files and the dependency files it read are unchanged. */
interface CachedResult {
  /** Every file of the repository (outside node_modules and dot folders), with its size and time. */
  readonly repository: string;
  /** The same for the files outside the repository the compiler read (libraries, the SDK). */
  readonly dependencies: string;
  readonly read: readonly string[];
  readonly result: TypeCheckResult;
}

function readCachedResult(path: string): CachedResult | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as CachedResult;
    return typeof parsed.repository === 'string' && Array.isArray(parsed.read) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** The compiler's version and every file of the repository with its size and modification time. */
function fingerprintRepository(dir: string): string {
  const files: string[] = [];
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) files.push(path);
    }
  };
  walk(dir);
  const compiler = createRequire(import.meta.url)('typescript/package.json') as { version: string };
  return hashOf([`typescript@${compiler.version}`, fingerprintFiles(files.sort())]);
}

function fingerprintFiles(files: readonly string[]): string {
  return hashOf(
    files.map((file) => {
      try {
        const stat = statSync(file);
        return `${file}:${stat.size}:${stat.mtimeMs}`;
      } catch {
        return `${file}:missing`;
      }
    }),
  );
}

function writeAtomically(path: string, text: string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, path);
}

function hashOf(parts: readonly string[]): string {
  return createHash('sha256').update(parts.join('\n')).digest('hex');
}

interface ConfigRead {
  readonly options: TypeScript.CompilerOptions;
  readonly fileNames: readonly string[];
  readonly errors: readonly TypeScript.Diagnostic[];
}

function readOwnConfig(ts: typeof TypeScript, configPath: string, dir: string): ConfigRead {
  const read = ts.readConfigFile(configPath, ts.sys.readFile);
  if (read.error) return { options: {}, fileNames: [], errors: [read.error] };
  return ts.parseJsonConfigFileContent(read.config, ts.sys, dir, undefined, configPath);
}

/** `['node']` when the repository resolves `@types/node` (as `slate init`'s does), else none. */
function nodeTypesIn(dir: string): string[] {
  try {
    createRequire(join(dir, 'package.json')).resolve('@types/node/package.json');
    return ['node'];
  } catch {
    return [];
  }
}

function insideRepository(dir: string, file: string): boolean {
  const path = relative(dir, file);
  return (
    path !== '' &&
    !path.startsWith('..') &&
    !isAbsolute(path) &&
    !path.split(/[\\/]/).includes('node_modules')
  );
}

/** `node_modules/.cache/slate/` of the repository when it has node_modules, else a folder per repository. */
function cacheFolder(dir: string): string {
  const folder = existsSync(join(dir, 'node_modules'))
    ? join(dir, 'node_modules', '.cache', 'slate')
    : join(tmpdir(), 'slate-typecheck', createHash('sha256').update(dir).digest('hex').slice(0, 16));
  mkdirSync(folder, { recursive: true });
  return folder;
}

function toIssue(ts: typeof TypeScript, diagnostic: TypeScript.Diagnostic): LintIssue {
  const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n    ');
  const { file, start } = diagnostic;
  if (!file || start === undefined)
    return { severity: 'error', code: 'TYPE_ERROR', message: `TS${diagnostic.code}: ${text}` };
  const { line, character } = file.getLineAndCharacterOfPosition(start);
  const feature = resolverOutputAt(ts, file, start);
  return {
    severity: 'error',
    code: 'TYPE_ERROR',
    message: `${feature ? `${feature}: ` : ''}TS${diagnostic.code}: ${text}`,
    source: { file: file.fileName, line: line + 1 },
    column: character + 1,
  };
}

/**
 * When the error sits on a property that a resolver's `fn` returns, the feature that output feeds: in
 * `online({ outputs: { domain: User.email_domain }, fn: () => ({ domain: 42 }) })` an error on `domain: 42`
 * names `User.email_domain (output 'domain')`.
 */
function resolverOutputAt(
  ts: typeof TypeScript,
  file: TypeScript.SourceFile,
  position: number,
): string | undefined {
  let found: string | undefined;
  const visit = (node: TypeScript.Node, property: string | undefined): void => {
    if (position < node.getStart(file) || position >= node.getEnd()) return;
    let current = property;
    if (ts.isPropertyAssignment(node) && (ts.isIdentifier(node.name) || ts.isStringLiteral(node.name)))
      current = node.name.text;
    if (ts.isCallExpression(node) && node.arguments[0] && ts.isObjectLiteralExpression(node.arguments[0])) {
      const outputs = node.arguments[0].properties.find(
        (member): member is TypeScript.PropertyAssignment =>
          ts.isPropertyAssignment(member) && ts.isIdentifier(member.name) && member.name.text === 'outputs',
      );
      const fn = node.arguments[0].properties.find(
        (member) =>
          ts.isPropertyAssignment(member) && ts.isIdentifier(member.name) && member.name.text === 'fn',
      );
      if (outputs && fn && ts.isObjectLiteralExpression(outputs.initializer)) {
        const outputNames = outputs.initializer;
        const inFn = (inner: TypeScript.Node, name: string | undefined): void => {
          if (position < inner.getStart(file) || position >= inner.getEnd()) return;
          let param = name;
          if (ts.isPropertyAssignment(inner) && ts.isIdentifier(inner.name)) param = inner.name.text;
          const declared = outputNames.properties.find(
            (member): member is TypeScript.PropertyAssignment =>
              ts.isPropertyAssignment(member) && ts.isIdentifier(member.name) && member.name.text === param,
          );
          if (declared) found = `${declared.initializer.getText(file)} (output '${param}')`;
          ts.forEachChild(inner, (child) => inFn(child, param));
        };
        inFn(fn, undefined);
        if (found) return;
      }
    }
    ts.forEachChild(node, (child) => visit(child, current));
  };
  visit(file, undefined);
  return found;
}
