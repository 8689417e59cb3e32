import { defineConfig } from 'vite';

// The server serves `dist/` at `/` (with an SPA fallback); in dev, Vite proxies the API to it.
export default defineConfig({
  build: {
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
