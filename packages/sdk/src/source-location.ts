import { fileURLToPath } from 'node:url';
import type { SourceLocation } from '@slate/graph';

/** This package's own source folder: frames there are the SDK's, not the user's (its tests excepted). */
const sdkDirectory = fileURLToPath(new URL('.', import.meta.url));
const isSdkFrame = (file: string) => file.startsWith(sdkDirectory) && !file.endsWith('.test.ts');

/**
 * Where the user's code called into the SDK: the first stack frame outside this package. Used for lint
 * messages (`src/user.ts:12`); `undefined` when the runtime gives no stack.
 */
export function callerLocation(): SourceLocation | undefined {
  const position = callerPosition();
  return position && { file: position.file, line: position.line };
}

/** `callerLocation` with the column (1-based), for errors printed as `file:line:col`. */
export function callerPosition(): (SourceLocation & { readonly column: number }) | undefined {
  const stack = new Error().stack?.split('\n').slice(1) ?? [];
  for (const frame of stack) {
    const match = /\(?((?:file:\/\/)?[^\s()]+?):(\d+):(\d+)\)?$/.exec(frame.trim());
    if (!match || match[1]!.startsWith('node:')) continue;
    const file = match[1]!.startsWith('file://') ? fileURLToPath(match[1]!) : match[1]!;
    if (isSdkFrame(file)) continue;
    return { file, line: Number(match[2]), column: Number(match[3]) };
  }
  return undefined;
}
