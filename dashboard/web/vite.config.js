// Builds the dashboard into ../dist, which the Go package embeds. The
// output is deterministic (hashed file names, no timestamps), so
// scripts/test.sh can rebuild into a temporary folder and compare.
import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';

export default defineConfig({
  base: '/_/',
  plugins: [preact({ devToolsInProd: false, prefreshEnabled: false })],
  build: {
    outDir: '../dist',
    emptyOutDir: true,
    target: 'es2020',
    sourcemap: false,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 400,
  },
  server: {
    // npm run dev: the Go server on 8090 answers the API.
    proxy: {
      '/graphql': { target: 'http://127.0.0.1:8090', ws: true },
      '/files': 'http://127.0.0.1:8090',
    },
  },
});
