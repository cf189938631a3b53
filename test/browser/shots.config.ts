// Vitest config for the screenshot run (`node scripts/screenshots.mjs`): the same global setup
// as the test suite (embedded Postgres, the Temporal CLI), but only the *.shot.ts files.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/browser/*.shot.ts'],
    pool: 'forks',
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 600_000,
    hookTimeout: 300_000,
  },
});
