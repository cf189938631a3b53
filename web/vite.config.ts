// The dashboard's build: `vite build --config web/vite.config.ts` from the repository root
// writes web/dist, which the API serves at `/`. `vite --config web/vite.config.ts` serves it
// in development with the API proxied from HEALING_API (default http://127.0.0.1:3000).
import { fileURLToPath } from 'node:url';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
const api = process.env.HEALING_API ?? 'http://127.0.0.1:3000';

export default defineConfig({
  root,
  base: '/',
  plugins: [vue()],
  // every component is <script setup>: without the Options API, Vue's runtime is smaller to load and run
  define: { __VUE_OPTIONS_API__: 'false' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 300,
  },
  server: {
    proxy: { '/api': api, '/health': api },
  },
});
