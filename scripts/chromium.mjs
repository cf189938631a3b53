// Debian's chromium for the browser tests: `npm test` installs it when it is missing and it can
// (root with apt-get, as CI runs), else says the one command that does.
//
// Plain JavaScript, Node built-ins only: it runs before `npm install`.

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const INSTALL_COMMAND = 'sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium';

/** Resolves true when chromium is there (found or installed now). */
export async function ensureChromium({ log }) {
  if (fs.existsSync(CHROMIUM)) return true;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root || !(await succeeds('apt-get', ['--version']))) {
    log(`warning: ${CHROMIUM} is missing, so the browser tests will fail; install Debian's chromium: ${INSTALL_COMMAND}`);
    return false;
  }
  log(`${CHROMIUM} is missing: installing Debian's chromium with apt-get (a minute or two)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const output = [];
  const ok =
    (await succeeds('apt-get', ['update', '-qq'], env, output)) &&
    (await succeeds('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], env, output));
  if (ok && fs.existsSync(CHROMIUM)) {
    log(`installed ${CHROMIUM}`);
    return true;
  }
  log(`warning: apt-get could not install chromium, so the browser tests will fail. Its last lines:\n${output.join('').trim().split('\n').slice(-10).join('\n')}`);
  return false;
}

function succeeds(cmd, args, env = process.env, output = []) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk) => output.push(chunk.toString()));
    child.stderr.on('data', (chunk) => output.push(chunk.toString()));
    child.on('error', () => resolve(false));
    child.on('close', (code) => resolve(code === 0));
  });
}
