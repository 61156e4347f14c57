import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// The console is served by the Socle binary at /console; the build output in dist/ is
// committed and embedded (crates/console). Keep the build deterministic: file names carry
// content hashes, no timestamps, no source maps.
const server = process.env.SOCLE_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  base: '/console/',
  plugins: [svelte()],
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    sourcemap: false,
    // Evergreen browsers only: no modulepreload polyfill.
    modulePreload: { polyfill: false },
    target: 'es2022',
  },
  server: {
    // `npm run dev`: the API and the apps are proxied to a running `socle serve`.
    // (`ws`: the page editor's Yjs room and the notifications are WebSockets under /api.)
    proxy: {
      '/api': { target: server, ws: true },
      '/apps': { target: server, ws: true },
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
  },
});
