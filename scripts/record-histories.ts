// Records real Temporal histories of every workflow type and path into test/fixtures/histories/,
// which test/replay.test.ts replays against today's workflow code on every `npm test`: a change
// that would break a workflow already running (a suggestion lives for weeks) fails there first.
//
//   npm run record-histories                        every path, with the code as committed (HEAD)
//   npm run record-histories -- --only suggestionWorkflow/rejected,reviewWorkflow/failed
//   npm run record-histories -- --before suggestion-wait-for-running-job
//                                                   the paths a patch changes, with the code from
//                                                   before it (the parent of the commit that
//                                                   introduced it; HEAD while it is not committed)
//   npm run record-histories -- --all               every path at HEAD, plus every patch's set
//   npm run record-histories -- --list              the paths it knows, with what each does
//
// Options: --commit <rev> (the code the plain set is recorded from; default HEAD), --keep (leave
// the extracted trees in /tmp), --every-path (with --before: every path, not only those listing
// the patch), --out <dir> (another fixtures folder, to audit old code without touching these).
// Needs git, and TEMPORAL_CLI_PATH or the CLI `npm test` builds;
// TEST_DATABASE_URL, else an embedded Postgres of its own.
//
// How: the code to record is extracted with `git archive <commit>` into a temporary folder (never
// the working tree, so work in progress never leaks into a fixture), with this repository's
// node_modules linked in; a child process then runs that tree's own test stack
// (test/helpers/stack.ts: its own database, Temporal dev server, worker, activities and API) and
// drives each path through that tree's API, as a person would, checks the workflow ended as that
// path must, then saves its history in the JSON of `temporal workflow show --output json`.
// manifest.json records where each history came from, and the README's table is rewritten from it.
//
// A new path: add a Scenario below (it must work on every tree it is recorded from: check
// `ctx.has(patchId)` where the code before a patch behaves otherwise) and run
// `npm run record-histories -- --only <type>/<path>`. Procedure: docs/WORKFLOW-CHANGES.md.
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createRequire, register } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { History } from '@temporalio/common/lib/proto-utils.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const HISTORIES_DIR = path.join(ROOT, 'test', 'fixtures', 'histories');
const MANIFEST = 'manifest.json';
const README = 'README.md';
const TABLE_START = '<!-- recordings: written by scripts/record-histories.ts from manifest.json -->';
const TABLE_END = '<!-- /recordings -->';

// ---------------------------------------------------------------------------------------------
// What a tree's workflow code holds: its patches and workflow types (read from the source, so the
// replay test asks the same questions of today's code).

/** The ids of the `patched(...)` gates in workflow sources (deprecatePatch ones are not gates any more). */
export function patchIdsInSources(sources: { file: string; source: string }[]): string[] {
  const ids = new Set<string>();
  for (const { file, source } of sources) {
    const constants = new Map<string, string>();
    for (const m of source.matchAll(/const\s+([A-Z][A-Z0-9_]*)\s*=\s*['"]([^'"]+)['"]/g)) constants.set(m[1]!, m[2]!);
    // gate(X): a gate that an umbrella patch answers for new workflows (workflows/review.ts), patched(X) for older ones
    for (const m of source.matchAll(/\b(?:patched|gate)\(\s*(?:([A-Z][A-Z0-9_]*)|['"]([^'"]+)['"])\s*\)/g)) {
      const id = m[2] ?? constants.get(m[1]!);
      if (!id) throw new Error(`${file}: patched(${m[1]}) names a constant this reader cannot find (declare it as const ${m[1]} = '<id>' in the same file)`);
      ids.add(id);
    }
  }
  return [...ids].sort();
}

/** The patch ids of a workflows folder. */
export function patchIdsIn(workflowsDir: string): string[] {
  const files = readdirSync(workflowsDir).filter((f) => f.endsWith('.ts'));
  return patchIdsInSources(files.map((file) => ({ file, source: readFileSync(path.join(workflowsDir, file), 'utf8') })));
}

/** The workflow types a workflows/index.ts exports. */
export function workflowTypesIn(workflowsDir: string): string[] {
  const source = readFileSync(path.join(workflowsDir, 'index.ts'), 'utf8');
  const names = [...source.matchAll(/export\s*\{([^}]*)\}/g)].flatMap((m) => m[1]!.split(',').map((n) => n.trim().split(/\s+as\s+/).pop()!));
  return names.filter(Boolean).sort();
}

// ---------------------------------------------------------------------------------------------
// History files, in the JSON of `temporal workflow show --output json` (proto3 JSON).
//
// The SDK's own historyToJSON/historyFromJSON do this with @temporalio/common's copy of protobufjs,
// while the message types come from @temporalio/proto's: where npm installs them as separate
// copies (it does here, under a top-level protobufjs 7 that @grpc/proto-loader needs), every call
// fails with "type must be a Type". So the converter is taken from the copy that built the types.

const requireHere = createRequire(import.meta.url);
const protoRequire = createRequire(requireHere.resolve('@temporalio/proto'));
const protojson = protoRequire('protobufjs/ext/protojson') as {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, options?: { ignoreUnknownFields?: boolean }): unknown;
};
const protos = requireHere('@temporalio/proto') as typeof import('@temporalio/proto');
const { patchProtobufRoot } = requireHere('@temporalio/proto/lib/patch-protobuf-root') as { patchProtobufRoot: (root: unknown) => { lookupType(name: string): unknown } };
const historyType = patchProtobufRoot(protos).lookupType('temporal.api.history.v1.History');

/** A history as its fixture file holds it. */
export function historyToFixture(history: History): string {
  return `${JSON.stringify(protojson.toJson(historyType, protos.temporal.api.history.v1.History.fromObject(history)), null, 2)}\n`;
}

/** A fixture file's history, ready for Worker.runReplayHistories. */
export function historyFromFixture(json: unknown): History {
  const history = protojson.fromJson(historyType, json, { ignoreUnknownFields: true }) as History | null;
  if (!history?.events?.length) throw new Error('not a workflow history: no events');
  return history;
}

// ---------------------------------------------------------------------------------------------
// The manifest: where each history came from.

export interface Recording {
  workflowType: string;
  /** the path through the workflow, as the scenario is named */
  path: string;
  /** what the recorder did */
  how: string;
  /** the patch this history was recorded before, or null for the plain set */
  before: string | null;
  commit: string;
  commitSubject: string;
  /** the patch ids in the workflow code it was recorded with */
  patchesInCode: string[];
  workflowId: string;
  /** how the workflow ended (COMPLETED and its result, FAILED, CONTINUED_AS_NEW...), or RUNNING */
  outcome: string;
  recordedAt: string;
}

export type Manifest = Record<string, Recording>;

export function readManifest(dir = HISTORIES_DIR): Manifest {
  const file = path.join(dir, MANIFEST);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Manifest) : {};
}

/** Every history file under the fixtures folder, relative to it, sorted. */
export function historyFiles(dir = HISTORIES_DIR): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const entry of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(child);
      else if (entry.name.endsWith('.json') && child !== MANIFEST) out.push(child);
    }
  };
  if (existsSync(dir)) walk('');
  return out.sort();
}

// ---------------------------------------------------------------------------------------------
// The paths. Each scenario drives one workflow down one path on a running stack of the tree it is
// recorded from, and answers the execution to save.

const P = {
  localReviewSteps: 'review-local-steps',
  failedReviewClosesRow: 'review-failure-closes-row',
  notifyAfterClose: 'review-notify-after-close',
  waitForOpenclawJobs: 'review-waits-for-openclaw-jobs',
  localCommandSteps: 'suggestion-local-steps',
  durableAccept: 'suggestion-durable-accept',
  autoApplyStaysOpen: 'suggestion-auto-apply-stays-open',
  rewriteAfterAnswer: 'suggestion-rewrite-after-answer',
  waitForRunningJob: 'suggestion-wait-for-running-job',
  adviceAcknowledged: 'suggestion-advice-acknowledged',
  applyWindow: 'suggestion-apply-window',
  skipUnchanged: 'review-skip-unchanged',
  rulesAnalysisInline: 'review-rules-analysis-inline',
  reviewGatesAtOnce: 'review-gates-at-once',
  reviewStepsFolded: 'review-steps-folded',
} as const;

interface Execution {
  workflowId: string;
  /** a run of a workflow that continued as new; else the latest */
  runId?: string;
}

interface Scenario {
  workflowType: string;
  path: string;
  how: string;
  /** the patches whose old path this one takes: `--before <patch>` records it with the code before them */
  gates: string[];
  /** what the tree must have for this path to exist at all */
  requires?: { patches?: string[]; workflowTypes?: string[] };
  run(ctx: Ctx): Promise<Execution>;
  /** how the workflow must end on this tree, or the recording is refused (no fixture of a path gone wrong) */
  ends(has: (patchId: string) => boolean): Ending;
}

interface Ending {
  /** the run's status as Temporal reports it */
  status: 'COMPLETED' | 'FAILED' | 'CANCELLED' | 'CONTINUED_AS_NEW';
  /** the result, or the fields of it that must match */
  result?: unknown;
}

const returns = (result: unknown): Ending => ({ status: 'COMPLETED', result });

const ETL_YAML = `# ETL job: loads the warehouse.
name: ETL
cmd: ./etl.sh
type: scheduled
schedule: "0 * * * *"
self_healing:
  enabled: true
  mode: proactive
  review_schedule:
    min_runs: 0
`;
const ETL_WITH_RETRY = ETL_YAML.replace('self_healing:', 'retry:\n  enabled: true\n  max_attempts: 3\nself_healing:');
const ETL_SCRIPT = `#!/bin/bash\n# Loads the warehouse.\n${'echo "loading table"\n'.repeat(20)}`;
const OC_YAML = 'name: Idea digest\ntype: openclaw\ncmd: python3 ~/.procclaw/scripts/oc-runner.py 1b2c 660000\n';
const FRESH_YAML = 'name: Fresh\ncmd: ./scripts/cleanup.sh\nself_healing:\n  enabled: true\n  mode: proactive\n  review_schedule:\n    min_runs: 3\n';
const flakyYaml = (hook: string) =>
  `name: Backup flaky\ncmd: ./backup.sh\ntype: scheduled\nschedule: "0 2 * * *"\nself_healing:\n  enabled: true\n  mode: proactive\n` +
  `  review_schedule:\n    frequency: manual\n    min_runs: 3\n  suggestions:\n    notify_channel: webhook\n    notify_target: ${hook}\n`;
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

const hhmm = (at: number) => new Date(at).toISOString().slice(11, 16);
/** The next whole UTC minute at least 10 s away (time to approve before it): where a window opens. */
const nextMinute = () => Math.ceil((Date.now() + 10_000) / 60_000) * 60_000;
/** The ETL job in UTC, with an apply window of one hour from `opens` (self_healing.apply_window). */
const etlWindowYaml = (opens: number) =>
  `${ETL_YAML.replace('type: scheduled\n', 'type: scheduled\ntimezone: UTC\n')}  apply_window:\n    hours: ["${hhmm(opens)}-${hhmm(opens + HOUR_MS)}"]\n`;

/** Windows short enough that a recording ends in seconds; long enough that no step races them. */
const SHORT_ROLLBACK_WINDOW_MS = 2_000;
const DECISION_TTL_MS = 120_000;
const EXPIRY_TTL_MS = 1_500;

const SCENARIOS: Scenario[] = [
  // --- suggestionWorkflow -----------------------------------------------------------------------
  {
    workflowType: 'suggestionWorkflow',
    path: 'approved-applied',
    how: 'approve (applies at once); the rollback window (2 s) closes',
    gates: [P.localCommandSteps, P.durableAccept, P.waitForRunningJob],
    ends: () => returns('applied'),
    async run(ctx) {
      const id = await ctx.etlSuggestion({ rollbackWindowMs: SHORT_ROLLBACK_WINDOW_MS });
      await ctx.command(id, 'approve', {});
      return ctx.suggestionExecution(id);
    },
  },
  {
    workflowType: 'suggestionWorkflow',
    path: 'approved-then-applied',
    how: 'approve with apply: false, then apply; the rollback window (2 s) closes',
    gates: [P.localCommandSteps, P.durableAccept, P.waitForRunningJob],
    ends: () => returns('applied'),
    async run(ctx) {
      const id = await ctx.etlSuggestion({ rollbackWindowMs: SHORT_ROLLBACK_WINDOW_MS });
      await ctx.command(id, 'approve', { apply: false });
      await ctx.command(id, 'apply', {});
      return ctx.suggestionExecution(id);
    },
  },
  {
    workflowType: 'suggestionWorkflow',
    path: 'rejected',
    how: 'reject with a reason',
    gates: [P.localCommandSteps, P.durableAccept],
    ends: () => returns('rejected'),
    async run(ctx) {
      const id = await ctx.etlSuggestion();
      await ctx.command(id, 'reject', { reason: 'not now' });
      return ctx.suggestionExecution(id);
    },
  },
  {
    workflowType: 'suggestionWorkflow',
    path: 'expired',
    how: 'nobody decides within the TTL (1.5 s): expired',
    gates: [],
    ends: () => returns('expired'),
    async run(ctx) {
      const id = await ctx.etlSuggestion({ ttlMs: EXPIRY_TTL_MS });
      return ctx.suggestionExecution(id);
    },
  },
  {
    workflowType: 'suggestionWorkflow',
    path: 'approved-expired',
    how: 'approve with apply: false, never applied: expires after a second TTL (1.5 s)',
    // Not before suggestion-local-steps: that code ended `approved` when the second TTL ran out,
    // and 802501e added the expiry after it without a patch, so such closed histories do not replay.
    gates: [P.durableAccept],
    ends: () => returns('expired'),
    async run(ctx) {
      const id = await ctx.etlSuggestion({ ttlMs: EXPIRY_TTL_MS });
      await ctx.command(id, 'approve', { apply: false });
      return ctx.suggestionExecution(id);
    },
  },
  {
    workflowType: 'suggestionWorkflow',
    path: 'applied-rolled-back',
    how: 'approve (applied), then roll the action back within the window',
    gates: [P.localCommandSteps, P.durableAccept, P.waitForRunningJob],
    ends: () => returns('rolled_back'),
    async run(ctx) {
      const id = await ctx.etlSuggestion({ rollbackWindowMs: 120_000 });
      const applied = await ctx.command(id, 'approve', {});
      const actionId = applied.body.action_id ?? (await ctx.row(id)).action_id ?? (await ctx.actionOf(id));
      await ctx.expectStatus(await ctx.api('POST', `/api/v1/healing/actions/${actionId}/rollback`, {}), [200], 'rollback');
      return ctx.suggestionExecution(id);
    },
  },
  {
    workflowType: 'suggestionWorkflow',
    path: 'apply-refused-stale-file',
    how: 'the file changes after the review: approve is refused (409, failed); the file restored, apply applies; the window (2 s) closes',
    gates: [P.localCommandSteps, P.durableAccept, P.waitForRunningJob],
    ends: () => returns('applied'),
    async run(ctx) {
      const id = await ctx.etlSuggestion({ rollbackWindowMs: SHORT_ROLLBACK_WINDOW_MS });
      await writeFile(ctx.etlYaml, `${ETL_YAML}# someone's edit\n`);
      await ctx.expectStatus(await ctx.api('POST', `/api/v1/healing/suggestions/${id}/approve`, {}), [409], 'approve of a changed file');
      await writeFile(ctx.etlYaml, ETL_YAML);
      await ctx.command(id, 'apply', {});
      return ctx.suggestionExecution(id);
    },
  },
  {
    workflowType: 'suggestionWorkflow',
    path: 'apply-refused-guard',
    how: "a target outside the job's own files: approve is refused by the guard (409, failed); then rejected",
    gates: [P.localCommandSteps, P.durableAccept, P.waitForRunningJob],
    ends: () => returns('rejected'),
    async run(ctx) {
      const target = path.join(ctx.stack.workDir, 'elsewhere.txt');
      await writeFile(target, 'precious\n');
      const id = await ctx.suggestion({ jobId: 'etl', targetFile: target, proposed: 'x', current: 'precious\n' });
      await ctx.expectStatus(await ctx.api('POST', `/api/v1/healing/suggestions/${id}/approve`, {}), [409], 'approve of a guarded target');
      await ctx.command(id, 'reject', { reason: 'not this one' });
      return ctx.suggestionExecution(id);
    },
  },
  {
    workflowType: 'suggestionWorkflow',
    path: 'apply-refused-no-change',
    how: 'the proposal is what the file holds: approve is refused (409 "no change"), it stays pending; then rejected',
    gates: [],
    ends: () => returns('rejected'),
    requires: { patches: [P.waitForRunningJob] }, // the 'no change' refusal arrived with it
    async run(ctx) {
      const id = await ctx.suggestion({ jobId: 'etl', targetFile: ctx.etlYaml, proposed: ETL_YAML });
      await ctx.expectStatus(await ctx.api('POST', `/api/v1/healing/suggestions/${id}/approve`, {}), [409], 'approve of no change');
      await ctx.command(id, 'reject', { reason: 'nothing to do' });
      return ctx.suggestionExecution(id);
    },
  },
  {
    workflowType: 'suggestionWorkflow',
    path: 'apply-failed-restored',
    how: 'the new YAML no longer validates: the saga restores the backup (422, failed); then rejected',
    gates: [P.localCommandSteps, P.durableAccept, P.waitForRunningJob],
    ends: () => returns('rejected'),
    async run(ctx) {
      const id = await ctx.suggestion({ jobId: 'etl', targetFile: ctx.etlYaml, proposed: ETL_YAML.replace('mode: proactive', 'mode: sometimes') });
      // 422 since the API says a failed apply as a failure; 200 with status failed before.
      await ctx.expectStatus(await ctx.api('POST', `/api/v1/healing/suggestions/${id}/approve`, {}), [200, 422], 'approve of a YAML that no longer validates');
      await ctx.until(async () => (await ctx.row(id)).status === 'failed', 'the failed apply');
      await ctx.command(id, 'reject', { reason: 'broken' });
      return ctx.suggestionExecution(id);
    },
  },
  {
    workflowType: 'suggestionWorkflow',
    path: 'two-person',
    how: 'a critical suggestion needing two approvers: alice approves (1 more needed), bob approves (applied); the window (2 s) closes',
    gates: [P.localCommandSteps, P.durableAccept, P.waitForRunningJob],
    ends: () => returns('applied'),
    async run(ctx) {
      const id = await ctx.etlSuggestion({ requiredApprovals: 2, rollbackWindowMs: SHORT_ROLLBACK_WINDOW_MS }, 'critical');
      await ctx.command(id, 'approve', {}, 'alice');
      await ctx.command(id, 'approve', {}, 'bob');
      return ctx.suggestionExecution(id);
    },
  },
  {
    workflowType: 'suggestionWorkflow',
    path: 'auto-applied',
    how: "the job's policy applies it by itself; the window (2 s) closes",
    gates: [P.localCommandSteps, P.waitForRunningJob],
    ends: () => returns('applied'),
    async run(ctx) {
      const id = await ctx.etlSuggestion({ autoApply: true, rollbackWindowMs: SHORT_ROLLBACK_WINDOW_MS });
      return ctx.suggestionExecution(id);
    },
  },
  {
    workflowType: 'suggestionWorkflow',
    path: 'auto-apply-refused',
    how: 'an auto-apply meets a changed file: refused (failed; before suggestion-auto-apply-stays-open the workflow failed there); the file restored, apply applies; the window (2 s) closes',
    gates: [P.autoApplyStaysOpen],
    ends: (has) => (has(P.autoApplyStaysOpen) ? returns('applied') : { status: 'FAILED' }),
    async run(ctx) {
      const current = ETL_YAML;
      await writeFile(ctx.etlYaml, `${ETL_YAML}# someone's edit\n`);
      const id = await ctx.suggestion({
        jobId: 'etl',
        targetFile: ctx.etlYaml,
        proposed: ETL_WITH_RETRY,
        current,
        input: { autoApply: true, rollbackWindowMs: SHORT_ROLLBACK_WINDOW_MS, ttlMs: DECISION_TTL_MS },
      });
      await ctx.until(async () => (await ctx.row(id)).status === 'failed', 'the refused auto-apply');
      await writeFile(ctx.etlYaml, ETL_YAML);
      if (ctx.has(P.autoApplyStaysOpen)) await ctx.command(id, 'apply', {});
      return ctx.suggestionExecution(id);
    },
  },
  {
    workflowType: 'suggestionWorkflow',
    path: 'advice-acknowledged',
    how: 'advice (no file edit) approved: acknowledged (before suggestion-advice-acknowledged: applied, then a 2 s rollback window)',
    gates: [P.adviceAcknowledged, P.localCommandSteps, P.durableAccept],
    ends: (has) => returns(has(P.adviceAcknowledged) ? 'acknowledged' : 'applied'),
    async run(ctx) {
      const id = await ctx.suggestion({ jobId: 'etl', targetFile: null, proposed: null, input: { rollbackWindowMs: SHORT_ROLLBACK_WINDOW_MS } });
      await ctx.command(id, 'approve', {});
      return ctx.suggestionExecution(id);
    },
  },
  {
    workflowType: 'suggestionWorkflow',
    path: 'waiting-for-running-job',
    how: 'approved while the job has an open run: waits (202, job_running); the run ends, it applies; the window (2 s) closes',
    gates: [],
    ends: () => returns('applied'),
    requires: { patches: [P.waitForRunningJob] },
    async run(ctx) {
      const runId = await ctx.startRun('etl');
      const id = await ctx.etlSuggestion({ rollbackWindowMs: SHORT_ROLLBACK_WINDOW_MS });
      await ctx.expectStatus(await ctx.api('POST', `/api/v1/healing/suggestions/${id}/approve`, {}), [202], 'approve while the job runs');
      await ctx.endRun('etl', runId);
      return ctx.suggestionExecution(id);
    },
  },
  {
    workflowType: 'suggestionWorkflow',
    path: 'running-job-wait-timed-out',
    how: 'approved while the job runs, which has not ended within HEALING_APPLY_WAIT_S (2 s): failed with the reason; the run ends, apply applies; the window (2 s) closes',
    gates: [],
    ends: () => returns('applied'),
    requires: { patches: [P.waitForRunningJob] },
    async run(ctx) {
      ctx.waits.applyWaitS = 2;
      try {
        const runId = await ctx.startRun('etl');
        const id = await ctx.etlSuggestion({ rollbackWindowMs: SHORT_ROLLBACK_WINDOW_MS });
        await ctx.expectStatus(await ctx.api('POST', `/api/v1/healing/suggestions/${id}/approve`, {}), [202], 'approve while the job runs');
        await ctx.until(async () => (await ctx.row(id)).status === 'failed', 'the apply wait to time out');
        await ctx.endRun('etl', runId);
        await ctx.command(id, 'apply', {});
        return await ctx.suggestionExecution(id);
      } finally {
        ctx.waits.applyWaitS = 120;
      }
    },
  },
  {
    workflowType: 'suggestionWorkflow',
    path: 'auto-applied-after-running-job',
    how: 'an auto-apply meets an open run: waits; the run ends, it applies; the window (2 s) closes',
    gates: [],
    ends: () => returns('applied'),
    requires: { patches: [P.waitForRunningJob] },
    async run(ctx) {
      const runId = await ctx.startRun('etl');
      const id = await ctx.etlSuggestion({ autoApply: true, rollbackWindowMs: SHORT_ROLLBACK_WINDOW_MS });
      await ctx.until(async () => (await ctx.row(id)).applying_step === 'job_running', 'the auto-apply to wait for the run');
      await ctx.endRun('etl', runId);
      return ctx.suggestionExecution(id);
    },
  },
  {
    workflowType: 'suggestionWorkflow',
    path: 'ai-rewrite-applied',
    how: 'a suggestion without the new file: approve asks openclaw (the fake CLI) to write it, answering 202 first (before suggestion-rewrite-after-answer: inside the command), and applies; the window (2 s) closes',
    gates: [P.rewriteAfterAnswer, P.waitForRunningJob],
    ends: () => returns('applied'),
    async run(ctx) {
      ctx.stack.analyzer.mode = 'openclaw';
      try {
        const id = await ctx.suggestion({
          jobId: 'etl',
          targetFile: ctx.etlYaml,
          proposed: null,
          suggestedChange: 'Mark the file as reviewed.',
          input: { rollbackWindowMs: SHORT_ROLLBACK_WINDOW_MS },
        });
        await ctx.expectStatus(await ctx.api('POST', `/api/v1/healing/suggestions/${id}/approve`, {}), [200, 202], 'approve of a described change');
        // The rewrite goes on after a 202: the analyzer stays openclaw until the apply has ended.
        await ctx.until(async () => {
          const row = await ctx.row(id);
          return ['applied', 'failed'].includes(row.status) && !row.applying_step;
        }, 'the rewrite and apply');
        return ctx.suggestionExecution(id);
      } finally {
        ctx.stack.analyzer.mode = 'rules';
      }
    },
  },

  {
    workflowType: 'suggestionWorkflow',
    path: 'window-waited-applied',
    how: "approved outside the job's apply window (opening at the next minute): waits (202, window) on a timer; it opens, it applies; the window (2 s) closes",
    gates: [],
    ends: () => returns('applied'),
    requires: { patches: [P.applyWindow] },
    async run(ctx) {
      const opens = nextMinute();
      const id = await ctx.windowedEtlSuggestion(opens, { rollbackWindowMs: SHORT_ROLLBACK_WINDOW_MS });
      await ctx.expectStatus(await ctx.api('POST', `/api/v1/healing/suggestions/${id}/approve`, {}), [202], 'approve outside the window');
      await ctx.until(async () => (await ctx.row(id)).applying_step === 'window', 'the wait for the window');
      await ctx.until(async () => (await ctx.row(id)).status === 'applied', 'the apply when the window opens', 100_000);
      return ctx.suggestionExecution(id);
    },
  },
  {
    workflowType: 'suggestionWorkflow',
    path: 'window-apply-now',
    how: "approved outside the job's apply window (three hours away): waits (202, window); an admin's apply-now ends the wait, it applies; the window (2 s) closes",
    gates: [],
    ends: () => returns('applied'),
    requires: { patches: [P.applyWindow] },
    async run(ctx) {
      const id = await ctx.windowedEtlSuggestion(Date.now() + 3 * HOUR_MS, { rollbackWindowMs: SHORT_ROLLBACK_WINDOW_MS });
      await ctx.expectStatus(await ctx.api('POST', `/api/v1/healing/suggestions/${id}/approve`, {}), [202], 'approve outside the window');
      await ctx.until(async () => (await ctx.row(id)).applying_step === 'window', 'the wait for the window');
      await ctx.expectStatus(await ctx.api('POST', `/api/v1/healing/suggestions/${id}/apply-now`, {}), [200], 'apply-now');
      return ctx.suggestionExecution(id);
    },
  },
  {
    workflowType: 'suggestionWorkflow',
    path: 'auto-apply-window-waited',
    how: "an auto-apply outside the job's apply window (opening at the next minute): waits on a timer; it opens, it applies; the window (2 s) closes",
    gates: [],
    ends: () => returns('applied'),
    requires: { patches: [P.applyWindow] },
    async run(ctx) {
      const id = await ctx.windowedEtlSuggestion(nextMinute(), { autoApply: true, rollbackWindowMs: SHORT_ROLLBACK_WINDOW_MS });
      await ctx.until(async () => (await ctx.row(id)).applying_step === 'window', 'the auto-apply to wait for the window');
      await ctx.until(async () => (await ctx.row(id)).status === 'applied', 'the auto-apply when the window opens', 100_000);
      return ctx.suggestionExecution(id);
    },
  },

  // --- reviewWorkflow ---------------------------------------------------------------------------
  {
    workflowType: 'reviewWorkflow',
    path: 'completed',
    how: "the demo's nightly-backup (transient failures) reviewed by the rules: suggestions stored, their workflows started, the notification handed on",
    gates: [P.localReviewSteps, P.notifyAfterClose, P.waitForOpenclawJobs, P.rulesAnalysisInline, P.reviewGatesAtOnce, P.reviewStepsFolded],
    ends: () => returns({ status: 'completed' }),
    async run(ctx) {
      return ctx.review('nightly-backup', { force: true });
    },
  },
  {
    workflowType: 'reviewWorkflow',
    path: 'completed-no-suggestions',
    how: "the demo's healthy-cleanup reviewed by the rules: completed with nothing to suggest",
    gates: [P.localReviewSteps, P.waitForOpenclawJobs, P.rulesAnalysisInline, P.reviewGatesAtOnce, P.reviewStepsFolded],
    ends: () => returns({ status: 'completed', suggestionIds: [] }),
    async run(ctx) {
      return ctx.review('healthy-cleanup', { force: true });
    },
  },
  {
    workflowType: 'reviewWorkflow',
    path: 'skipped-min-runs',
    how: 'a job with 0 runs and min_runs 3, triggered by hand: skipped with the reason',
    gates: [P.localReviewSteps, P.waitForOpenclawJobs, P.reviewGatesAtOnce, P.reviewStepsFolded],
    ends: () => returns({ status: 'skipped' }),
    async run(ctx) {
      await writeFile(path.join(ctx.stack.jobsDir, 'fresh-job.yaml'), FRESH_YAML);
      return ctx.review('fresh-job', {});
    },
  },
  {
    workflowType: 'reviewWorkflow',
    path: 'failed',
    how: 'the openclaw analyzer (the fake CLI in failing mode) fails: the review is failed with the reason',
    gates: [P.localReviewSteps, P.failedReviewClosesRow, P.waitForOpenclawJobs, P.reviewGatesAtOnce, P.reviewStepsFolded],
    ends: () => ({ status: 'FAILED' }),
    async run(ctx) {
      ctx.stack.analyzer.mode = 'openclaw';
      process.env.FAKE_OPENCLAW_MODE = 'failing';
      try {
        return await ctx.review('report-sync', { force: true });
      } finally {
        ctx.stack.analyzer.mode = 'rules';
        delete process.env.FAKE_OPENCLAW_MODE;
      }
    },
  },
  {
    workflowType: 'reviewWorkflow',
    path: 'cancelled',
    how: 'cancelled from Temporal while the openclaw analyzer works: the row is closed as failed (before review-failure-closes-row the closing step was cancelled too)',
    gates: [P.failedReviewClosesRow, P.localReviewSteps, P.waitForOpenclawJobs, P.reviewGatesAtOnce, P.reviewStepsFolded],
    ends: (has) => ({ status: has(P.failedReviewClosesRow) ? 'FAILED' : 'CANCELLED' }),
    async run(ctx) {
      ctx.stack.analyzer.mode = 'openclaw';
      process.env.FAKE_OPENCLAW_DELAY_MS = '10000';
      try {
        const turns = await ctx.agentTurns();
        const execution = await ctx.review('report-sync', { force: true }, { wait: false });
        await ctx.until(async () => (await ctx.agentTurns()) > turns, 'the analyzer to start');
        await ctx.client.workflow.getHandle(execution.workflowId, execution.runId).cancel();
        return execution;
      } finally {
        ctx.stack.analyzer.mode = 'rules';
        delete process.env.FAKE_OPENCLAW_DELAY_MS;
      }
    },
  },
  {
    workflowType: 'reviewWorkflow',
    path: 'waited-for-openclaw-jobs',
    how: 'an openclaw analysis while an OpenClaw job runs: waits (timers, status waiting); the run ends, it analyses and completes',
    gates: [P.reviewGatesAtOnce, P.reviewStepsFolded],
    ends: () => returns({ status: 'completed' }),
    requires: { patches: [P.waitForOpenclawJobs] },
    async run(ctx) {
      ctx.stack.analyzer.mode = 'openclaw';
      try {
        const runId = await ctx.startRun('oc-digest');
        const execution = await ctx.review('etl', { force: true }, { wait: false });
        await ctx.until(async () => Boolean((await ctx.stack.db('healing_reviews').where({ workflow_run_id: execution.runId }).first())?.waiting_reason), 'the review to wait');
        await ctx.endRun('oc-digest', runId);
        return execution;
      } finally {
        ctx.stack.analyzer.mode = 'rules';
      }
    },
  },
  {
    workflowType: 'reviewWorkflow',
    path: 'openclaw-wait-skipped',
    how: 'an openclaw analysis while an OpenClaw job runs past HEALING_OPENCLAW_WAIT_S (2 s, timeout skip): skipped with the reason',
    gates: [P.reviewGatesAtOnce, P.reviewStepsFolded],
    ends: () => returns({ status: 'skipped' }),
    requires: { patches: [P.waitForOpenclawJobs] },
    async run(ctx) {
      ctx.stack.analyzer.mode = 'openclaw';
      Object.assign(ctx.waits, { openclawWaitS: 2, openclawWaitTimeout: 'skip' });
      try {
        const runId = await ctx.startRun('oc-digest');
        const execution = await ctx.review('etl', { force: true });
        await ctx.endRun('oc-digest', runId);
        return execution;
      } finally {
        ctx.stack.analyzer.mode = 'rules';
        Object.assign(ctx.waits, { openclawWaitS: 120, openclawWaitTimeout: 'run' });
      }
    },
  },

  {
    workflowType: 'reviewWorkflow',
    path: 'skipped-unchanged',
    how: 'a scheduled review of the ETL job (min_runs 0, one run) after one that analysed the same context (no new runs, same files): skipped with the reason, no analysis',
    gates: [P.reviewGatesAtOnce, P.reviewStepsFolded],
    ends: () => returns({ status: 'skipped' }),
    requires: { patches: [P.skipUnchanged] },
    async run(ctx) {
      await ctx.endRun('etl', await ctx.startRun('etl'));
      // The one it compares with, analysed by the rules; then the same context again.
      await ctx.closed(await ctx.scheduled('etl'));
      await ctx.closed(await ctx.scheduled('etl'));
      // The schedule's review runs as a child under the job's one review id; its latest run is this one.
      const workflowId = 'healing-review/etl';
      const { runId } = await ctx.client.workflow.getHandle(workflowId).describe();
      // A skip may be counted on the row of an earlier one (the job's streak): the row its outcome names.
      const { reviewId } = (await ctx.client.workflow.getHandle(workflowId, runId).result()) as { reviewId: number };
      const review = await ctx.stack.db('healing_reviews').where({ id: reviewId }).first();
      if (!String(review?.skip_reason).startsWith('nothing changed since review')) throw new Error(`the second scheduled review was not skipped as unchanged: ${review?.status} ${review?.skip_reason}`);
      return { workflowId, runId };
    },
  },

  // --- scheduledReviewWorkflow ------------------------------------------------------------------
  {
    workflowType: 'scheduledReviewWorkflow',
    path: 'completed',
    how: "started as the job's schedule starts it (healthy-cleanup): its review runs as a child and completes",
    gates: [],
    ends: () => returns({ started: true }),
    async run(ctx) {
      return ctx.scheduled('healthy-cleanup');
    },
  },
  {
    workflowType: 'scheduledReviewWorkflow',
    path: 'already-running',
    how: "started while a review of the job runs (the fake openclaw, 4 s): it finds that review and ends as already_running",
    gates: [],
    ends: () => returns({ started: false, status: 'already_running' }),
    async run(ctx) {
      ctx.stack.analyzer.mode = 'openclaw';
      process.env.FAKE_OPENCLAW_DELAY_MS = '4000';
      try {
        const running = await ctx.review('report-sync', { force: true }, { wait: false });
        const execution = await ctx.scheduled('report-sync');
        await ctx.closed(running);
        return execution;
      } finally {
        ctx.stack.analyzer.mode = 'rules';
        delete process.env.FAKE_OPENCLAW_DELAY_MS;
      }
    },
  },

  // --- notifyWorkflow ---------------------------------------------------------------------------
  {
    workflowType: 'notifyWorkflow',
    path: 'sent',
    how: 'a review leaves pending suggestions of a job that notifies a webhook (a local server): sent',
    gates: [],
    ends: () => returns({ sent: true }),
    requires: { workflowTypes: ['notifyWorkflow'] },
    async run(ctx) {
      return ctx.notification('flaky-ok', '/hook');
    },
  },
  {
    workflowType: 'notifyWorkflow',
    path: 'not-sent',
    how: 'a review leaves pending suggestions of a job whose webhook answers 500: three tries, then ended with sent: false',
    gates: [],
    ends: () => returns({ sent: false }),
    requires: { workflowTypes: ['notifyWorkflow'] },
    async run(ctx) {
      return ctx.notification('flaky-broken', '/hook-broken');
    },
  },

  // --- retentionWorkflow ------------------------------------------------------------------------
  {
    workflowType: 'retentionWorkflow',
    path: 'completed',
    how: 'a pass over two runs older than the window: one batch, recorded',
    gates: [],
    ends: () => ({ status: 'COMPLETED' }),
    async run(ctx) {
      await ctx.oldRuns('keeper-a', 2);
      return ctx.retention('healing-retention-recorded-a', {});
    },
  },
  {
    workflowType: 'retentionWorkflow',
    path: 'continued-as-new',
    how: 'batchSize 1, batchesPerRun 1 over three old runs: the first run, which continues as new',
    gates: [],
    ends: () => ({ status: 'CONTINUED_AS_NEW' }),
    async run(ctx) {
      await ctx.oldRuns('keeper-b', 3);
      const execution = await ctx.retention('healing-retention-recorded-b', { batchSize: 1, batchesPerRun: 1 });
      return { workflowId: execution.workflowId, runId: execution.firstRunId };
    },
  },
  {
    workflowType: 'retentionWorkflow',
    path: 'after-continue-as-new',
    how: 'batchSize 1, batchesPerRun 1 over two old runs: the last run of the chain, started with the cut-off and totals carried, recorded',
    gates: [],
    ends: () => ({ status: 'COMPLETED' }),
    async run(ctx) {
      await ctx.oldRuns('keeper-c', 2);
      const execution = await ctx.retention('healing-retention-recorded-c', { batchSize: 1, batchesPerRun: 1 });
      return { workflowId: execution.workflowId };
    },
  },

  // --- batchWorkflow ----------------------------------------------------------------------------
  {
    workflowType: 'batchWorkflow',
    path: 'approve-in-chunks',
    how: 'alice approves three suggestions in one batch, two per chunk: one applies, one waits for a second approver, one (rejected before) is refused',
    gates: [],
    ends: () => returns({ status: 'finished', total: 3, counts: { decided: 1, waiting_approver: 1, refused: 1, failed: 0 } }),
    requires: { workflowTypes: ['batchWorkflow'] },
    async run(ctx) {
      const applies = await ctx.etlSuggestion();
      const twoPerson = await ctx.suggestion({ jobId: 'etl', targetFile: null, proposed: null, input: { requiredApprovals: 2 } });
      const rejected = await ctx.suggestion({ jobId: 'etl', targetFile: null, proposed: null });
      await ctx.api('POST', `/api/v1/healing/suggestions/${rejected}/reject`, { reason: 'not this one' }, 'bob');
      // The rows POST /healing/batches writes, then its workflow started with chunks of two, so the run loops.
      const [batch] = await ctx.stack.db('healing_batches')
        .insert({ decision: 'approve', created_by: 'alice', created_role: 'approver', identified: true, ids: JSON.stringify([applies, twoPerson, rejected]), concurrency: 2, total: 3 })
        .returning('id');
      await ctx.stack.db('healing_batch_items').insert([applies, twoPerson, rejected].map((suggestionId, position) => ({ batch_id: batch.id, position, suggestion_id: suggestionId })));
      const handle = await ctx.client.workflow.start('batchWorkflow', { workflowId: `healing-batch/${batch.id}`, taskQueue: 'healing', args: [{ batchId: batch.id, concurrency: 2, chunkSize: 2 }] });
      return { workflowId: handle.workflowId };
    },
  },
];

export const SCENARIO_NAMES = SCENARIOS.map((s) => `${s.workflowType}/${s.path}`);

function scenarioNamed(name: string): Scenario {
  const scenario = SCENARIOS.find((s) => `${s.workflowType}/${s.path}` === name);
  if (!scenario) throw new Error(`unknown path ${name}; --list shows the known ones`);
  return scenario;
}

// ---------------------------------------------------------------------------------------------
// The child: runs the scenarios on one tree's own stack.

interface TreeModules {
  // The tree's own helpers, typed as today's (older trees take the same calls).
  stack: typeof import('../test/helpers/stack.js');
  suggestions: typeof import('../test/helpers/suggestions.js');
  demo: typeof import('../cli/demo.js');
  auth: typeof import('../api/auth.js');
}

type Stack = Awaited<ReturnType<TreeModules['stack']['startStack']>>;
type Who = 'admin' | 'alice' | 'bob';
type CreateSuggestionOptions = Parameters<TreeModules['suggestions']['createSuggestion']>[1];
type Waits = { applyWaitS: number; openclawWaitS: number; openclawWaitTimeout: 'run' | 'skip'; checkIntervalS: number };

const TOKENS: Record<Who, string> = {
  admin: 'recorder-admin-token-0123456789',
  alice: 'recorder-alice-token-0123456789',
  bob: 'recorder-bob-token-012345678901',
};

class Ctx {
  private runCounter = 0;
  readonly etlYaml: string;
  readonly client: Stack['env']['client'];

  constructor(
    readonly stack: Stack,
    private readonly modules: TreeModules,
    readonly waits: Waits,
    private readonly patches: Set<string>,
    private readonly hookUrl: string,
    private readonly openclawLog: string,
  ) {
    this.etlYaml = path.join(stack.jobsDir, 'etl.yaml');
    this.client = stack.env.client;
  }

  /** Whether the tree's workflow code has this patch (the code before it behaves the old way). */
  has(patchId: string): boolean {
    return this.patches.has(patchId);
  }

  api(method: string, url: string, body?: unknown, who: Who = 'admin') {
    return this.modules.stack.http(this.stack.api, method, url, body, TOKENS[who]);
  }

  async expectStatus<A extends { status: number; body: unknown }>(answer: A, expected: number[], what: string): Promise<A> {
    if (!expected.includes(answer.status)) throw new Error(`${what}: answered ${answer.status}, expected ${expected.join(' or ')}: ${JSON.stringify(answer.body)}`);
    return answer;
  }

  async command(id: number, name: 'approve' | 'apply' | 'reject', body: object, who: Who = 'admin') {
    return this.expectStatus(await this.api('POST', `/api/v1/healing/suggestions/${id}/${name}`, body, who), [200, 202], `${name} of suggestion ${id}`);
  }

  until<T>(check: () => Promise<T | undefined | false | null>, what: string, timeoutMs = 60_000) {
    return this.modules.stack.eventually(check, timeoutMs, what, 100);
  }

  async row(id: number) {
    return this.stack.db('healing_suggestions').where({ id }).first();
  }

  async actionOf(id: number): Promise<number> {
    const action = await this.stack.db('healing_actions').where({ suggestion_id: id }).orderBy('id', 'desc').first();
    return action.id as number;
  }

  suggestion(opts: CreateSuggestionOptions) {
    return this.modules.suggestions.createSuggestion(this.stack, { ...opts, input: { ttlMs: DECISION_TTL_MS, ...opts.input } });
  }

  /** A suggestion that adds a retry block to the ETL job's YAML. */
  etlSuggestion(input: Partial<CreateSuggestionOptions['input']> = {}, severity: 'medium' | 'critical' = 'medium') {
    return this.suggestion({ jobId: 'etl', targetFile: this.etlYaml, proposed: ETL_WITH_RETRY, severity, input: { ttlMs: DECISION_TTL_MS, ...input } });
  }

  /** A suggestion that adds a retry block to the ETL job's YAML, the job with an apply window from `opens` (UTC). */
  async windowedEtlSuggestion(opens: number, input: Partial<CreateSuggestionOptions['input']> = {}) {
    const yaml = etlWindowYaml(opens);
    await writeFile(this.etlYaml, yaml);
    return this.suggestion({ jobId: 'etl', targetFile: this.etlYaml, proposed: yaml.replace('self_healing:', 'retry:\n  enabled: true\n  max_attempts: 3\nself_healing:'), input });
  }

  suggestionExecution(id: number): Execution {
    return { workflowId: `healing-suggestion/${id}` };
  }

  /** Reports a run that has started and not ended; answers its external id. */
  async startRun(jobId: string): Promise<string> {
    this.runCounter += 1;
    const externalId = `${jobId}-recorded-${this.runCounter}`;
    await this.expectStatus(await this.api('POST', `/api/v1/jobs/${jobId}/runs`, { external_id: externalId, started_at: new Date(Date.now() - 10_000).toISOString() }), [201], 'an open run');
    return externalId;
  }

  async endRun(jobId: string, externalId: string, exitCode = 0): Promise<void> {
    const row = await this.stack.db('job_runs').where({ job_id: jobId, external_id: externalId }).first();
    const body = { external_id: externalId, started_at: new Date(row.started_at).toISOString(), finished_at: new Date().toISOString(), exit_code: exitCode };
    await this.expectStatus(await this.api('POST', `/api/v1/jobs/${jobId}/runs`, body), [200, 201], 'the end of a run');
  }

  /** Finished runs that fail every other time with a passing network error (the rules propose a retry). */
  async flakyRuns(jobId: string, count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const fails = i % 2 === 0;
      const started = Date.now() - (count - i) * 3_600_000;
      const body = {
        external_id: `${jobId}-${i}`,
        started_at: new Date(started).toISOString(),
        finished_at: new Date(started + 60_000).toISOString(),
        exit_code: fails ? 1 : 0,
        error: fails ? 'upload failed: connection reset by peer' : undefined,
      };
      await this.expectStatus(await this.api('POST', `/api/v1/jobs/${jobId}/runs`, body), [200, 201], 'a finished run');
    }
  }

  async oldRuns(jobId: string, count: number): Promise<void> {
    const old = new Date(Date.now() - 100 * DAY_MS);
    for (let i = 0; i < count; i++) await this.stack.db('job_runs').insert({ job_id: jobId, external_id: `${jobId}-old-${i}`, started_at: old, exit_code: 0 });
  }

  async agentTurns(): Promise<number> {
    const text = await readFile(this.openclawLog, 'utf8').catch(() => '');
    return text.split('\n').filter((line) => line.includes('"command":"agent"')).length;
  }

  /** Triggers a review through the API; answers its run (and, unless told not to, waits for its end). */
  async review(jobId: string, body: object, opts: { wait?: boolean } = {}): Promise<Execution> {
    const started = await this.expectStatus(await this.api('POST', `/api/v1/healing/reviews/${jobId}/trigger`, body), [202], `trigger of ${jobId}`);
    const workflowId = (started.body as { workflow_id?: string }).workflow_id ?? `healing-review/${jobId}`;
    const { runId } = await this.client.workflow.getHandle(workflowId).describe();
    const execution = { workflowId, runId };
    if (opts.wait !== false) await this.closed(execution);
    return execution;
  }

  async scheduled(jobId: string): Promise<Execution> {
    const handle = await this.client.workflow.start('scheduledReviewWorkflow', {
      workflowId: `healing-scheduled-review/${jobId}-recorded-${Date.now()}`,
      taskQueue: 'healing',
      args: [{ jobId }],
    });
    return { workflowId: handle.workflowId, runId: handle.firstExecutionRunId };
  }

  /** A review of a job that notifies a webhook path of the local server; answers the notification's workflow. */
  async notification(jobId: string, hookPath: string): Promise<Execution> {
    await writeFile(path.join(this.stack.jobsDir, `${jobId}.yaml`), flakyYaml(`${this.hookUrl}${hookPath}`));
    await writeFile(path.join(this.stack.jobsDir, 'backup.sh'), '#!/bin/bash\nset -e\necho backup\n', { mode: 0o755 });
    await this.flakyRuns(jobId, 6);
    const review = await this.review(jobId, {});
    const row = await this.stack.db('healing_reviews').where({ workflow_run_id: review.runId }).first();
    const workflowId = `healing-notify/${row.id}`;
    await this.until(() => this.client.workflow.getHandle(workflowId).describe(), `the notification of review ${row.id} to start`);
    return { workflowId };
  }

  async retention(workflowId: string, input: object): Promise<Execution & { firstRunId: string }> {
    const handle = await this.client.workflow.start('retentionWorkflow', { workflowId, taskQueue: 'healing', args: [input] });
    await handle.result(); // follows the continued runs to the last
    return { workflowId, firstRunId: handle.firstExecutionRunId };
  }

  /** Waits until the execution has closed (or the time-out); answers its status name. */
  async closed(execution: Execution, timeoutMs = 90_000): Promise<string> {
    const handle = this.client.workflow.getHandle(execution.workflowId, execution.runId);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { status } = await handle.describe();
      if (status.name !== 'RUNNING' || Date.now() > deadline) return status.name;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/** Lets the tree's test helpers call vitest's `inject` outside vitest: it reads what the parent provides. */
function provideVitestInject(): void {
  const shim = `data:text/javascript,${encodeURIComponent('export const inject = (key) => JSON.parse(process.env.HEALING_RECORDER_PROVIDED ?? "{}")[key];')}`;
  const hooks = `export async function resolve(specifier, context, next) {
    if (specifier === 'vitest') return { url: ${JSON.stringify(shim)}, format: 'module', shortCircuit: true };
    return next(specifier, context);
  }`;
  register(`data:text/javascript,${encodeURIComponent(hooks)}`);
}

interface ChildResult {
  scenario: string;
  workflowId?: string;
  status?: string;
  error?: string;
}

async function runChild(tree: string, scenarioNames: string[], outDir: string): Promise<void> {
  provideVitestInject();
  const load = <T>(rel: string) => import(pathToFileURL(path.join(tree, rel)).href) as Promise<T>;
  const modules: TreeModules = {
    stack: await load('test/helpers/stack.ts'),
    suggestions: await load('test/helpers/suggestions.ts'),
    demo: await load('cli/demo.ts'),
    auth: await load('api/auth.ts'),
  };
  const patches = new Set(patchIdsIn(path.join(tree, 'workflows')));
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'healing-record-'));
  const openclawLog = path.join(scratch, 'openclaw-calls.jsonl');
  process.env.FAKE_OPENCLAW_LOG = openclawLog;
  const tokensFile = path.join(scratch, 'tokens.yaml');
  await writeFile(tokensFile, `tokens:\n  - { name: alice, role: approver, token: ${TOKENS.alice} }\n  - { name: bob, role: approver, token: ${TOKENS.bob} }\n`);
  const hook = await startHookServer();
  const waits: Waits = { applyWaitS: 120, openclawWaitS: 120, openclawWaitTimeout: 'run', checkIntervalS: 1 };
  // `waits` is unknown to trees from before the waits existed; they ignore it.
  const stack = await modules.stack.startStack({ tokens: modules.auth.loadTokens({ apiToken: TOKENS.admin, tokensFile }), waits });
  const results: ChildResult[] = [];
  try {
    await modules.demo.writeDemoWorkspace(stack.workDir);
    await modules.demo.seedDemoRuns(stack.db, stack.workDir);
    await writeFile(path.join(stack.jobsDir, 'oc-digest.yaml'), OC_YAML);
    const ctx = new Ctx(stack, modules, waits, patches, hook.url, openclawLog);
    for (const name of scenarioNames) {
      const scenario = scenarioNamed(name);
      const started = Date.now();
      try {
        await writeFile(ctx.etlYaml, ETL_YAML);
        await writeFile(path.join(stack.jobsDir, 'etl.sh'), ETL_SCRIPT, { mode: 0o755 });
        const execution = await withinTime(scenario.run(ctx), SCENARIO_TIMEOUT_MS, name);
        const status = await ctx.closed(execution);
        const history = historyToFixture(await ctx.client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory());
        const wrong = wrongEnding(scenario.ends((id) => ctx.has(id)), status, resultOf(JSON.parse(history)));
        if (wrong) throw new Error(`${execution.workflowId} ${wrong}; not saved`);
        const file = path.join(outDir, `${name}.json`);
        await mkdir(path.dirname(file), { recursive: true });
        await writeFile(file, history);
        results.push({ scenario: name, workflowId: execution.workflowId, status });
        console.log(`[record] ${name}: ${status} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      } catch (error) {
        results.push({ scenario: name, error: error instanceof Error ? error.message : String(error) });
        console.log(`[record] ${name}: FAILED ${error instanceof Error ? error.message : String(error)}`);
      } finally {
        // Runs a scenario left open end, so the next one starts with no job running.
        await stack.db('job_runs').whereNull('finished_at').update({ finished_at: new Date(), exit_code: 0 });
      }
    }
  } finally {
    await writeFile(path.join(outDir, 'results.json'), JSON.stringify(results, null, 2));
    await stack.stop();
    await new Promise<void>((resolve) => hook.server.close(() => resolve()));
    await rm(scratch, { recursive: true, force: true });
  }
}

/** A scenario that hangs (old code can) fails with its name instead of holding the rest. */
const SCENARIO_TIMEOUT_MS = 180_000;
/** The same for a whole child, stack start and stop included. */
const CHILD_TIMEOUT_MS = 30 * 60_000;

function withinTime<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not end within ${ms / 1000} s`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

async function startHookServer(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.statusCode = req.url === '/hook-broken' ? 500 : 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  return { server, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` };
}

// ---------------------------------------------------------------------------------------------
// The parent: picks the code, extracts it, runs a child on it, files what it recorded.

const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();

/** What to record with one commit's code: each path, and the patch it is recorded before (null: the plain set). */
interface Job {
  commit: string;
  entries: { scenario: string; before: string | null }[];
}

/** The commit whose code predates the patch: the parent of the commit that introduced it, or HEAD while it is not committed. */
function commitBefore(patchId: string): string {
  const introduced = git('log', '--reverse', '--format=%H', '-S', `'${patchId}'`, 'HEAD', '--', 'workflows/').split('\n').filter(Boolean)[0];
  return introduced ? git('rev-parse', `${introduced}^`) : git('rev-parse', 'HEAD');
}

async function extract(commit: string): Promise<string> {
  const tree = await mkdtemp(path.join(os.tmpdir(), `healing-tree-${commit.slice(0, 7)}-`));
  execFileSync('sh', ['-c', `git archive ${commit} | tar -x -C "${tree}"`], { cwd: ROOT });
  await symlink(path.join(ROOT, 'node_modules'), path.join(tree, 'node_modules'));
  return tree;
}

function applicable(scenario: Scenario, patches: string[], types: string[]): boolean {
  return (scenario.requires?.patches ?? []).every((p) => patches.includes(p)) && (scenario.requires?.workflowTypes ?? []).every((t) => types.includes(t));
}

/** The result a completed history's last event carries (JSON payloads decoded), else undefined. */
function resultOf(history: { events: Record<string, any>[] }): unknown {
  const payload = history.events.at(-1)?.workflowExecutionCompletedEventAttributes?.result?.payloads?.[0];
  if (!payload?.data) return undefined;
  const text = Buffer.from(payload.data, 'base64').toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** What is wrong with how a run ended, against how its path must end; null when it ended so. */
function wrongEnding(expected: Ending, status: string, result: unknown): string | null {
  if (status !== expected.status) return `ended ${status}, expected ${expected.status}`;
  if (expected.result === undefined) return null;
  const matches =
    typeof expected.result === 'object' && expected.result !== null && typeof result === 'object' && result !== null
      ? Object.entries(expected.result).every(([k, v]) => JSON.stringify((result as Record<string, unknown>)[k]) === JSON.stringify(v))
      : JSON.stringify(result) === JSON.stringify(expected.result);
  return matches ? null : `returned ${JSON.stringify(result)}, expected ${JSON.stringify(expected.result)}`;
}

/** The outcome a history ends with, from its last event. */
function outcomeOf(history: { events: Record<string, any>[] }): string {
  const last = history.events.at(-1) ?? {};
  if (last.workflowExecutionCompletedEventAttributes) return `COMPLETED ${JSON.stringify(resultOf(history)) ?? ''}`.trim();
  if (last.workflowExecutionFailedEventAttributes) return `FAILED: ${last.workflowExecutionFailedEventAttributes.failure?.message ?? ''}`;
  if (last.workflowExecutionContinuedAsNewEventAttributes) return 'CONTINUED_AS_NEW';
  if (last.workflowExecutionCanceledEventAttributes) return 'CANCELED';
  return 'RUNNING';
}

async function recordJob(
  job: Job,
  provided: { databaseUrl: string; temporalCliPath: string },
  opts: { keep: boolean; into: string },
): Promise<{ recorded: string[]; failed: string[] }> {
  const subject = git('log', '-1', '--format=%s', job.commit).slice(0, 120);
  const befores = [...new Set(job.entries.map((e) => e.before).filter(Boolean))];
  console.log(`[record] ${job.commit.slice(0, 7)} ${subject}${befores.length ? ` (before ${befores.join(', ')})` : ''}`);
  const tree = await extract(job.commit);
  const outDir = await mkdtemp(path.join(os.tmpdir(), 'healing-histories-'));
  try {
    const patches = patchIdsIn(path.join(tree, 'workflows'));
    const types = workflowTypesIn(path.join(tree, 'workflows'));
    const wanted = [...new Set(job.entries.map((e) => e.scenario))];
    const scenarios = wanted.filter((name) => applicable(scenarioNamed(name), patches, types));
    for (const skipped of wanted.filter((n) => !scenarios.includes(n))) console.log(`[record] ${skipped}: not in this code, not recorded`);
    if (scenarios.length === 0) return { recorded: [], failed: [] };
    // The stack's own output (dev server banner, the SDK's warnings about activities failing on
    // purpose) goes to a log, shown by name when something was not recorded.
    const logFile = path.join(os.tmpdir(), `healing-record-${job.commit.slice(0, 7)}-${Date.now()}.log`);
    const log = createWriteStream(logFile);
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(
        process.execPath,
        ['--import', pathToFileURL(path.join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href, fileURLToPath(import.meta.url), '--child', tree, '--out', outDir, '--only', scenarios.join(',')],
        // Its own process group, so stopping it stops its Temporal dev server too.
        { cwd: tree, stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, HEALING_RECORDER_PROVIDED: JSON.stringify(provided) } },
      );
      const stop = () => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      };
      const interrupted = () => {
        stop();
        process.exit(130);
      };
      process.once('SIGINT', interrupted);
      child.stderr.pipe(log, { end: false });
      createInterface({ input: child.stdout }).on('line', (line) => {
        log.write(`${line}\n`);
        if (line.startsWith('[record]')) console.log(line);
      });
      const watchdog = setTimeout(() => {
        console.log(`[record] the recorder of ${job.commit.slice(0, 7)} ran past ${CHILD_TIMEOUT_MS / 60_000} min; stopped`);
        stop();
      }, CHILD_TIMEOUT_MS);
      child.on('exit', (exitCode) => {
        clearTimeout(watchdog);
        process.off('SIGINT', interrupted);
        resolve(exitCode);
      });
    });
    await new Promise((resolve) => log.end(resolve));
    const results = JSON.parse(await readFile(path.join(outDir, 'results.json'), 'utf8').catch(() => '[]')) as ChildResult[];
    if (code !== 0) console.log(`[record] the recorder of ${job.commit.slice(0, 7)} exited with ${code}`);
    const manifest = readManifest(opts.into);
    const recorded: string[] = [];
    for (const result of results.filter((r) => !r.error)) {
      const scenario = scenarioNamed(result.scenario);
      // Gates of one commit share one recording: filed under the first of them it was asked for.
      const before = job.entries.find((e) => e.scenario === result.scenario)!.before;
      const rel = before ? `${scenario.workflowType}/before-${before}/${scenario.path}.json` : `${result.scenario}.json`;
      const target = path.join(opts.into, rel);
      await mkdir(path.dirname(target), { recursive: true });
      await rename(path.join(outDir, `${result.scenario}.json`), target);
      manifest[rel] = {
        workflowType: scenario.workflowType,
        path: scenario.path,
        how: scenario.how,
        before,
        commit: job.commit,
        commitSubject: subject,
        patchesInCode: patches,
        workflowId: result.workflowId!,
        outcome: outcomeOf(JSON.parse(await readFile(target, 'utf8'))),
        recordedAt: new Date().toISOString(),
      };
      recorded.push(rel);
    }
    await writeManifest(opts.into, manifest);
    const failed = [...results.filter((r) => r.error).map((r) => `${r.scenario}: ${r.error}`), ...scenarios.filter((n) => !results.some((r) => r.scenario === n)).map((n) => `${n}: not run`)];
    if (failed.length > 0 || code !== 0) console.log(`[record] the recorder's full output: ${logFile}`);
    else await rm(logFile, { force: true });
    return { recorded, failed };
  } finally {
    await rm(outDir, { recursive: true, force: true });
    if (opts.keep) console.log(`[record] tree kept at ${tree}`);
    else await rm(tree, { recursive: true, force: true });
  }
}

async function writeManifest(dir: string, manifest: Manifest): Promise<void> {
  const sorted = Object.fromEntries(Object.entries(manifest).sort(([a], [b]) => a.localeCompare(b)));
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, MANIFEST), `${JSON.stringify(sorted, null, 2)}\n`);
  const rows = Object.entries(sorted).map(
    ([file, r]) => `| \`${file}\` | ${r.before ? `before \`${r.before}\`: ` : ''}\`${r.commit.slice(0, 7)}\` | ${r.how} | ${r.outcome.replace(/\|/g, '\\|').slice(0, 80)} |`,
  );
  const table = [TABLE_START, '', '| history | recorded with the code of | path | ended |', '|---|---|---|---|', ...rows, '', TABLE_END].join('\n');
  const readmeFile = path.join(dir, README);
  const readme = await readFile(readmeFile, 'utf8').catch(() => `# Recorded workflow histories\n\n${TABLE_START}\n${TABLE_END}\n`);
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  const next = start >= 0 && end > start ? `${readme.slice(0, start)}${table}${readme.slice(end + TABLE_END.length)}` : `${readme.trimEnd()}\n\n${table}\n`;
  await writeFile(readmeFile, next);
}

async function resolveTemporalCliPath(): Promise<string> {
  if (process.env.TEMPORAL_CLI_PATH) return process.env.TEMPORAL_CLI_PATH;
  // @ts-expect-error plain JS module shared with the bootstrap script
  const { resolveTemporalCli } = (await import('./temporal-cli.mjs')) as { resolveTemporalCli: (opts: object) => Promise<string> };
  return resolveTemporalCli({ log: (m: string) => console.log(m) });
}

async function startPostgres(): Promise<{ url: string; stop: () => Promise<void> }> {
  if (process.env.TEST_DATABASE_URL) return { url: process.env.TEST_DATABASE_URL, stop: async () => {} };
  const { startEmbeddedPostgres } = await import('../db/embedded.js');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'healing-record-pg-'));
  await chmod(dir, 0o755); // as root, Postgres runs as its own user and must reach the folder
  const embedded = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), persistent: false, database: 'postgres' });
  return {
    url: embedded.url,
    stop: async () => {
      await embedded.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: 'string' },
      out: { type: 'string' },
      only: { type: 'string' },
      before: { type: 'string', multiple: true },
      all: { type: 'boolean' },
      commit: { type: 'string' },
      keep: { type: 'boolean' },
      list: { type: 'boolean' },
      'every-path': { type: 'boolean' },
    },
  });
  const only = values.only ? values.only.split(',').map((s) => s.trim()) : null;
  const unknown = (only ?? []).filter((n) => !SCENARIO_NAMES.includes(n));
  if (unknown.length > 0) throw new Error(`unknown path(s): ${unknown.join(', ')}; --list shows the known ones`);

  if (values.child) {
    if (!values.out) throw new Error('--child needs --out');
    await runChild(values.child, only ?? [], values.out);
    return;
  }
  if (values.list) {
    for (const s of SCENARIOS) console.log(`${s.workflowType}/${s.path}${s.gates.length ? `  [before: ${s.gates.join(', ')}]` : ''}\n    ${s.how}`);
    return;
  }

  // One job per commit: gates introduced together share one tree and one stack.
  const jobs = new Map<string, Job>();
  const add = (commit: string, scenarios: string[], before: string | null) => {
    const job = jobs.get(commit) ?? { commit, entries: [] };
    for (const scenario of scenarios) {
      if (only && !only.includes(scenario)) continue;
      if (!job.entries.some((e) => e.scenario === scenario)) job.entries.push({ scenario, before });
    }
    jobs.set(commit, job);
  };
  if (!values.before || values.all) add(git('rev-parse', values.commit ?? 'HEAD'), SCENARIO_NAMES, null);
  for (const patchId of values.all ? patchIdsAtHead() : (values.before ?? [])) {
    const listed = SCENARIOS.filter((s) => s.gates.includes(patchId)).map((s) => `${s.workflowType}/${s.path}`);
    // A patch no path lists yet: every path, as any of them may cross it.
    add(commitBefore(patchId), listed.length > 0 && !values['every-path'] ? listed : SCENARIO_NAMES, patchId);
  }

  const temporalCliPath = await resolveTemporalCliPath();
  const postgres = await startPostgres();
  const failures: string[] = [];
  try {
    for (const job of jobs.values()) {
      if (job.entries.length === 0) continue;
      const { recorded, failed } = await recordJob(job, { databaseUrl: postgres.url, temporalCliPath }, { keep: values.keep ?? false, into: path.resolve(values.out ?? HISTORIES_DIR) });
      console.log(`[record] saved ${recorded.length}: ${recorded.join(', ') || '-'}`);
      failures.push(...failed);
    }
  } finally {
    await postgres.stop();
  }
  if (failures.length > 0) {
    console.error(`[record] not recorded:\n  ${failures.join('\n  ')}`);
    process.exitCode = 1;
  }
}

/** The patch ids of the committed workflow code. */
function patchIdsAtHead(): string[] {
  const files = git('ls-tree', '--name-only', 'HEAD', 'workflows/').split('\n').filter((f) => f.endsWith('.ts'));
  return patchIdsInSources(files.map((file) => ({ file, source: git('show', `HEAD:${file}`) })));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    () => process.exit(),
    (error: unknown) => {
      console.error(error instanceof Error ? error.stack ?? error.message : error);
      process.exit(1);
    },
  );
}
