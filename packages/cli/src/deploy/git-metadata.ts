import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { GitMetadata } from '@slate/client';

const run = promisify(execFile);

/**
 * The checked-out commit of the repository holding `dir`: hash, branch, author and subject. `undefined`
 * when `dir` is not in a git repository, git is not installed, or there is no commit yet; never throws.
 */
export async function readGitMetadata(dir: string): Promise<GitMetadata | undefined> {
  const git = async (...args: string[]) =>
    (await run('git', args, { cwd: dir, timeout: 5_000, windowsHide: true })).stdout.trim();
  try {
    const [commit, branch, log] = await Promise.all([
      git('rev-parse', 'HEAD'),
      git('rev-parse', '--abbrev-ref', 'HEAD'),
      git('log', '-1', '--format=%an <%ae>%n%s'),
    ]);
    const [author = '', message = ''] = log.split('\n');
    return { commit, branch, author, message };
  } catch {
    return undefined;
  }
}
