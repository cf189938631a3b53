// One setup of the real stack with named tokens (alice and bob approve, carol only reads) for the tests of who may decide.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadTokens } from '../../api/auth.js';
import { startStack, type Stack, type StackOptions } from './stack.js';

export const TOKENS = {
  alice: 'alice-approver-token-0123456789',
  bob: 'bob-approver-token-9876543210xx',
  carol: 'carol-viewer-token-abcdefghijkl',
};

/**
 * Writes TOKENS to a tokens.yaml in a temp dir named by `prefix` and starts the stack with them
 * (no admin token); its stop also removes that dir.
 */
export async function startStackWithNamedTokens(prefix: string, opts: Omit<StackOptions, 'tokens'> = {}): Promise<Stack> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), prefix));
  const removeTmp = () => rm(tmp, { recursive: true, force: true });
  try {
    const tokensFile = path.join(tmp, 'tokens.yaml');
    await writeFile(
      tokensFile,
      `tokens:\n  - { name: alice, role: approver, token: ${TOKENS.alice} }\n  - { name: bob, role: approver, token: ${TOKENS.bob} }\n  - { name: carol, role: viewer, token: ${TOKENS.carol} }\n`,
    );
    const stack = await startStack({ ...opts, tokens: loadTokens({ apiToken: null, tokensFile }) });
    return {
      ...stack,
      stop: async () => {
        await stack.stop();
        await removeTmp();
      },
    };
  } catch (err) {
    await removeTmp();
    throw err;
  }
}
