import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    setupFiles: ['src/test-support/setup.ts'],
    restoreMocks: true,
    // A page test renders, fetches from the in-memory server and re-renders: about a second alone, several
    // times that beside the rest of `npm test` on two cores.
    testTimeout: 20_000,
  },
});
