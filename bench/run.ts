/**
 * `npm run bench -- <name> [<name> …]`: runs `bench/<name>.ts` (all benchmarks when none is named), prints
 * each report and replaces that benchmark's section of BENCHMARKS.md, leaving the others as they were.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { type Bench, toMarkdown } from './report.ts';

const folder = new URL('.', import.meta.url);
const file = new URL('../BENCHMARKS.md', import.meta.url);
const available = readdirSync(folder)
  .filter((name) => name.endsWith('.ts') && !['run.ts', 'report.ts'].includes(name))
  .map((name) => name.slice(0, -3))
  .sort();
const requested = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
const names = requested.length > 0 ? requested : available;
const unknown = names.filter((name) => !available.includes(name));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; available: ${available.join(', ')}`);
  process.exit(2);
}

const header =
  '# Benchmarks\n\nEach section is written by `npm run bench -- <name>`; every figure stands next to a baseline measured in the same run on the same machine.\n';
/** BENCHMARKS.md as it is now: re-read before each write, so benchmarks run side by side keep each other's sections. */
const current = () => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return header;
  }
};

for (const name of names) {
  console.log(`▸ bench ${name}…`);
  const bench = (await import(new URL(`./${name}.ts`, folder).href)) as Bench;
  const report = await bench.run();
  const section = `<!-- bench:${name} -->\n${toMarkdown(report)}<!-- /bench:${name} -->`;
  console.log(section);
  const pattern = new RegExp(`<!-- bench:${name} -->[\\s\\S]*?<!-- /bench:${name} -->`);
  const document = current();
  writeFileSync(
    file,
    pattern.test(document)
      ? document.replace(pattern, section)
      : `${document.trimEnd()}

${section}
`,
  );
}
