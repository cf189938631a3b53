// An update RPC that runs past its deadline on an overloaded Temporal (seen in the scale drill):
// the decision may have reached the workflow, so the caller hears 503 "may have been recorded",
// never a 500. Temporal cannot be made this slow on cue, so the client answers as the SDK does.
import type { Client } from '@temporalio/client';
import { WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { HttpError } from '../api/errors.js';
import { sendCommand, startReview } from '../api/temporal.js';
import { NamespaceNotFoundError } from '@temporalio/common';
import type { ReviewInput } from '../core/temporal.js';
import type { Db } from '../db/knex.js';

function clientWhoseUpdate(fails: 'before acceptance' | 'after acceptance'): Client {
  const timeout = new WorkflowUpdateRPCTimeoutOrCancelledError('Timed out or cancelled waiting for Workflow Update', { cause: new Error('deadline exceeded') });
  const handle = {
    startUpdate: async () => {
      if (fails === 'before acceptance') throw timeout;
      return { result: async () => Promise.reject(timeout) };
    },
  };
  return { workflow: { getHandle: () => handle } } as unknown as Client;
}

describe('an update whose RPC runs out of time', () => {
  it('answers 503 saying the approval may have been recorded when it times out before acceptance', async () => {
    const sent = sendCommand(clientWhoseUpdate('before acceptance'), 7, 'approve', { by: 'alice' }, async () => 'pending');
    const error = await sent.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).status).toBe(503);
    expect((error as HttpError).message).toMatch(/may have been recorded: read suggestion 7/);
    expect((error as HttpError).detail).toEqual({ maybe_recorded: true });
  });

  it('answers as accepted (202) when it times out after the workflow accepted it', async () => {
    const result = await sendCommand(clientWhoseUpdate('after acceptance'), 7, 'approve', { by: 'alice' }, async () => 'approved');
    expect(result).toMatchObject({ accepted: true, status: 'approved' });
  });
});

describe('a review started while Temporal does not know the namespace', () => {
  it('answers 503 naming the namespace and what to check, never a 500', async () => {
    const client = {
      workflow: {
        start: async () => {
          throw new NamespaceNotFoundError('default');
        },
      },
    } as unknown as Client;
    const error = await startReview(client, {} as Db, { jobId: 'etl', trigger: 'manual' } as ReviewInput).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).status).toBe(503);
    expect((error as HttpError).message).toMatch(/namespace "default" does not exist: try again in a moment; if it persists, check TEMPORAL_NAMESPACE/);
  });
});
