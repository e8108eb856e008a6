/**
 * What the browser suites share: Debian's Chromium through playwright-core, one harness per suite (fresh
 * profiles at desktop and phone size, page errors collected, screenshots), the embedded sign-in, a fresh
 * build of the UI, a metadata plane serving it, and an OpenID provider.
 */
export {
  apiAsSession,
  type BrowserHarness,
  DESKTOP,
  fillEmailSignIn,
  type OpenOptions,
  PHONE,
  SCREENSHOTS_ROOT,
  sessionCookie,
  signInWithEmail,
  startBrowserHarness,
  VIEWPORTS,
  type Viewport,
} from './browser-harness.ts';
export { buildWebUi } from './build-web-ui.ts';
export { CHROMIUM_ARGS, CHROMIUM_PATH, chromiumUnavailable, launchChromium } from './chromium.ts';
export { startTestIdentityProvider, type TestIdentityProvider } from './test-identity-provider.ts';
export { startUiPlane, teamSeed, type UiPlane, type UiPlaneOptions } from './ui-plane.ts';
