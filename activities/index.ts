// All activities, built from their dependencies (real or test) by one factory.
import { createApplyActivities } from './apply.js';
import { createBatchActivities } from './batch.js';
import { createDecisionActivities } from './decisions.js';
import type { ActivityDeps } from './deps.js';
import { createNotifyActivities } from './notify.js';
import { createRetentionActivities } from './retention.js';
import { createReviewActivities } from './reviews.js';
import { createRunActivities } from './runs.js';
import { createWatchActivities } from './watch.js';

export function createActivities(deps: ActivityDeps) {
  return {
    ...createReviewActivities(deps),
    ...createDecisionActivities(deps),
    ...createApplyActivities(deps),
    ...createNotifyActivities(deps),
    ...createRetentionActivities(deps),
    ...createRunActivities(deps),
    ...createWatchActivities(deps),
    ...createBatchActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { ActivityDeps } from './deps.js';
