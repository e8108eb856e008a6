import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { GitMetadata } from '@slate/client';

const run = promisify(execFile);

/** The checked-out commit of a feature repository, and whether its files differ from it. */
export interface GitState extends GitMetadata {
  /**
   * Files under the feature repository's folder differ from `commit` (modified, staged, or untracked and
   * not ignored): the deployment is not reproducible from the commit alone.
   */
  readonly dirty: boolean;
}

/**
 * The checked-out commit of the repository holding `dir`: hash, branch, author, subject, and whether the
 * files under `dir` are dirty. `undefined` when `dir` is not in a git repository, git is not installed, or
 * there is no commit yet; never throws.
 */
export async function readGitMetadata(dir: string): Promise<GitState | undefined> {
  const git = async (...args: string[]) =>
    (await run('git', args, { cwd: dir, timeout: 5_000, windowsHide: true, maxBuffer: 16 * 1024 * 1024 }))
      .stdout;
  try {
    const [commit, branch, log, status] = await Promise.all([
      git('rev-parse', 'HEAD'),
      git('rev-parse', '--abbrev-ref', 'HEAD'),
      git('log', '-1', '--format=%an <%ae>%n%s'),
      git('status', '--porcelain', '--untracked-files=normal', '--', '.'),
    ]);
    const [author = '', message = ''] = log.trim().split('\n');
    return {
      commit: commit.trim(),
      branch: branch.trim(),
      author,
      message,
      dirty: status.trim().length > 0,
    };
  } catch {
    return undefined;
  }
}
