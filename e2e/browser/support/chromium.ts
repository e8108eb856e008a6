import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`; `.ci/run` installs it). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Flags for a headless Chromium in a container: no sandbox (no user namespaces here), no GPU, and none of
 * the background traffic (updates, sync, QUIC probes) a test run must not depend on or wait for.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Why the browser suites cannot run here (`undefined` when they can); pass it to `unlessCi`. */
export function chromiumUnavailable(path = CHROMIUM_PATH): string | undefined {
  return existsSync(path) ? undefined : `Chromium is not installed at ${path} (apt-get install chromium)`;
}

/** Launches the machine's Chromium through playwright-core (which brings no browser of its own). */
export function launchChromium(path = CHROMIUM_PATH): Promise<Browser> {
  return chromium.launch({ executablePath: path, args: [...CHROMIUM_ARGS] });
}
