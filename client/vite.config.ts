import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { fieldServiceWorker } from './src/field/build/service-worker-plugin';

// The server serves `dist/` at `/` (with an SPA fallback); in dev, Vite proxies the API to it.
export default defineConfig({
  // The field app (/field, src/field) is a second page with its own service worker.
  plugins: [fieldServiceWorker()],
  build: {
    rollupOptions: {
      input: {
        main: fileURLToPath(new URL('index.html', import.meta.url)),
        field: fileURLToPath(new URL('field/index.html', import.meta.url)),
      },
    },
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // maplibre-gl is one ~1 MB module; splitting it further buys nothing for an internal app.
    chunkSizeWarningLimit: 1600,
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: {
    port: 5173,
    proxy: {
      '/graphql': 'http://localhost:3000',
      '/tiles': 'http://localhost:3000',
    },
  },
});
