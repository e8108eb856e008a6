import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/** Where `vite dev`/`vite preview` send API calls; the metadata plane listens here in embedded mode. */
const API_TARGET = process.env.SLATE_API_URL ?? 'http://127.0.0.1:4000';

const proxy = {
  '/v1': { target: API_TARGET, changeOrigin: false },
  '/.well-known': { target: API_TARGET, changeOrigin: false },
};

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 400,
  },
  server: { port: 5173, strictPort: false, proxy },
  preview: { port: 4173, strictPort: false, proxy },
});
