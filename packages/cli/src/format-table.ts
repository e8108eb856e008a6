/**
 * A plain-text table with a header rule, columns padded to their widest cell. Cells must not contain
 * newlines (they are replaced by spaces) and are measured in UTF-16 code units, which is right for the
 * ASCII feature names and values it shows.
 *
 * @example
 * formatTable(['feature', 'value'], [['user.name', 'Ada']]);
 * // feature    value
 * // ─────────  ─────
 * // user.name  Ada
 */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const clean = (cell: string | undefined) => (cell ?? '').replace(/\s*\n\s*/g, ' ');
  const all = [header, ...rows].map((row) => header.map((_, i) => clean(row[i])));
  const widths = header.map((_, i) => Math.max(...all.map((row) => row[i]!.length)));
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(all[0]!), line(widths.map((w) => '─'.repeat(w))), ...all.slice(1).map(line)].join('\n');
}
