#!/usr/bin/env node
// Saves screenshots of every dashboard tab (and its modals, and dark mode) at 1280 and 390 px
// into docs/screenshots/, from the real stack with the demo workspace:
//
//   node scripts/screenshots.mjs
//
// It runs test/browser/screenshots.shot.ts through vitest, which brings the embedded Postgres and
// the Temporal CLI exactly as the tests do, and builds the dashboard first when web/dist is stale.
// Needs Debian's chromium at /usr/bin/chromium (or CHROMIUM_PATH).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const vitest = path.join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
const child = spawn(process.execPath, [vitest, 'run', '--config', 'test/browser/shots.config.ts'], { cwd: ROOT, stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 1)));
