// Health: Postgres, Temporal, a worker polling our task queues, and the active analyzer.
import { Router } from 'express';
import proto from '@temporalio/proto';

const { temporal } = proto; // a CommonJS module: named imports do not resolve under Node's ESM loader
import { pingDb } from '../../db/knex.js';
import { ANALYSIS_TASK_QUEUE, TASK_QUEUE } from '../../core/temporal.js';
import { tokenOf } from '../auth.js';
import type { ApiDeps } from '../context.js';

const WORKFLOW_QUEUE = temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW;
const ACTIVITY_QUEUE = temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY;

export function healthRouter(deps: ApiDeps): Router {
  const router = Router();
  router.get('/health', async (req, res) => {
    const [postgres, temporalState, analyzer] = await Promise.all([pingDb(deps.db), temporalHealth(deps), deps.analyzerStatus()]);
    const ok = postgres && temporalState.reachable && temporalState.worker;
    // Open to load balancers; with tokens configured, the details (versions, addresses, queues)
    // only for a caller with a valid one.
    if (deps.tokens.length > 0 && !tokenOf(deps.tokens, req.get('authorization'))) {
      res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'degraded', postgres: { ok: postgres }, temporal: { ok: temporalState.reachable }, worker: { ok: temporalState.worker } });
      return;
    }
    res.status(ok ? 200 : 503).json({
      status: ok ? 'ok' : 'degraded',
      postgres: { ok: postgres },
      temporal: { ok: temporalState.reachable, namespace: deps.temporalNamespace, ui: deps.temporalUiUrl },
      worker: { ok: temporalState.worker, task_queues: temporalState.queues },
      analyzer,
    });
  });
  return router;
}

async function temporalHealth(deps: ApiDeps) {
  try {
    const client = await deps.temporal();
    const pollers = async (name: string, taskQueueType: number) => {
      const answer = await client.workflowService.describeTaskQueue({ namespace: deps.temporalNamespace, taskQueue: { name }, taskQueueType });
      return answer.pollers?.length ?? 0;
    };
    const [workflows, activities, analysis] = await Promise.all([
      pollers(TASK_QUEUE, WORKFLOW_QUEUE),
      pollers(TASK_QUEUE, ACTIVITY_QUEUE),
      pollers(ANALYSIS_TASK_QUEUE, ACTIVITY_QUEUE),
    ]);
    return {
      reachable: true,
      worker: workflows > 0 && activities > 0 && analysis > 0,
      queues: { [TASK_QUEUE]: { workflow_pollers: workflows, activity_pollers: activities }, [ANALYSIS_TASK_QUEUE]: { activity_pollers: analysis } },
    };
  } catch {
    return { reachable: false, worker: false, queues: {} };
  }
}
