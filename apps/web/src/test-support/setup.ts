import { cleanup, configure } from '@testing-library/react';
import { afterEach } from 'vitest';

afterEach(cleanup);

// `findBy…` and `waitFor` give up after 1 s by default; beside the rest of `npm test` on two loaded cores a
// page's reload after a change has taken longer. They return as soon as the awaited state appears.
configure({ asyncUtilTimeout: 5_000 });

// jsdom has no media queries; uPlot reads the device pixel ratio through one when it loads. Nothing
// matches, as on a plain screen. (Charts then render their labelled placeholder: see `UplotChart`.)
if (typeof window.matchMedia !== 'function') {
  window.matchMedia = (query: string) =>
    ({
      matches: false,
      media: query,
      onchange: null,
      addListener: () => {},
      removeListener: () => {},
      addEventListener: () => {},
      removeEventListener: () => {},
      dispatchEvent: () => false,
    }) as MediaQueryList;
}
