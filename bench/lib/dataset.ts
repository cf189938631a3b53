// A year-scale history in bulk SQL: `jobs` jobs, 10 suggestions per review, with statuses, triggers,
// categories and severities spread the way a busy installation has them, applied changes with
// their actions, and run history. 100,000 suggestions take a few seconds, not a few hours.
import type { Db } from '../../db/knex.js';

export interface Dataset {
  suggestions: number;
  reviews: number;
  jobs: string[];
}

export async function seedHistory(db: Db, opts: { suggestions: number; jobs: string[]; runsPerJob?: number }): Promise<Dataset> {
  const perReview = 10;
  const reviews = Math.ceil(opts.suggestions / perReview);
  await db.raw(
    `insert into healing_reviews (job_id, trigger, status, workflow_id, workflow_run_id, analyzer, started_at, finished_at,
                                  runs_analyzed, suggestions_count, analysis_duration_ms, created_at)
     select j.jobs[1 + (g % array_length(j.jobs, 1))],
            (array['scheduled','scheduled','scheduled','scheduled','scheduled','scheduled','scheduled','manual','on_failure','on_sla_breach'])[1 + (g * 7) % 10],
            'completed',
            'healing-review/' || j.jobs[1 + (g % array_length(j.jobs, 1))],
            'bench-run-' || g,
            'rules',
            now() - (90 * interval '1 day') * (1 - g::float / :reviews),
            now() - (90 * interval '1 day') * (1 - g::float / :reviews) + interval '2 seconds',
            7, ${perReview}, 5 + g % 40,
            now() - (90 * interval '1 day') * (1 - g::float / :reviews)
       from generate_series(0, :reviews - 1) as g, (select :jobs::text[] as jobs) as j`,
    { reviews, jobs: opts.jobs },
  );
  await db.raw(
    `insert into healing_suggestions (review_id, ordinal, job_id, trigger, category, severity, severity_rank, title, description,
                                      current_state, suggested_change, expected_impact, affected_files, target_file,
                                      fingerprint, status, workflow_id, reviewed_at, reviewed_by, applied_at,
                                      expires_at, created_at, updated_at)
     select r.id, o, r.job_id, r.trigger,
            (array['performance','cost','reliability','security','config','prompt','script'])[1 + (r.id * 3 + o) % 7],
            sev.name, sev.rank,
            'Suggestion ' || o || ' for ' || r.job_id,
            repeat('Evidence from the runs, the logs and the files of the job. ', 4),
            'retry: none', 'retry with 3 attempts', 'fewer failed runs',
            jsonb_build_array('/srv/jobs/' || r.job_id || '.yaml'), '/srv/jobs/' || r.job_id || '.yaml',
            md5(r.job_id || o), st.name, 'healing-suggestion/bench',
            case when st.name <> 'pending' then r.started_at + interval '1 hour' end,
            case when st.name <> 'pending' then 'bench' end,
            case when st.name in ('applied', 'rolled_back') then r.started_at + (1 + (r.id % 48)) * interval '1 hour' end,
            r.started_at + interval '14 days',
            r.started_at + o * interval '1 second', r.started_at + interval '1 hour'
       from healing_reviews r
      cross join generate_series(0, ${perReview - 1}) as o
      cross join lateral (select (array['low','medium','high','critical'])[1 + ((r.id + o * 5) % 11) % 4] as name,
                                 ((r.id + o * 5) % 11) % 4 as rank) as sev
      cross join lateral (select (array['pending','approved','rejected','rejected','rejected','applied','applied','applied','applied','expired',
                                        'expired','failed','rolled_back','pending','applied','rejected','expired','applied','rejected','applied'])[1 + (r.id * 7 + o * 3) % 20] as name) as st
      where r.workflow_run_id like 'bench-run-%'`,
  );
  await db.raw(
    `insert into healing_actions (suggestion_id, attempt, job_id, action_type, file_path, status, can_rollback,
                                  execution_duration_ms, rolled_back_at, created_at)
     select s.id, 1, s.job_id, 'edit_config', s.target_file,
            case when s.status = 'rolled_back' then 'rolled_back' when s.status = 'failed' then 'failed' else 'success' end,
            false, 40 + s.id % 200,
            case when s.status = 'rolled_back' then s.applied_at + interval '1 day' end,
            coalesce(s.applied_at, s.created_at + interval '1 hour')
       from healing_suggestions s where s.status in ('applied', 'rolled_back', 'failed') and s.workflow_id = 'healing-suggestion/bench'`,
  );
  await db.raw(`update healing_suggestions s set action_id = a.id from healing_actions a where a.suggestion_id = s.id and s.workflow_id = 'healing-suggestion/bench'`);
  const runsPerJob = opts.runsPerJob ?? 200;
  await db.raw(
    `insert into job_runs (job_id, external_id, started_at, finished_at, exit_code, duration_ms, trigger, error, sla_status)
     select j.id, 'bench-' || g,
            now() - (90 * interval '1 day') * (1 - g::float / :runs),
            now() - (90 * interval '1 day') * (1 - g::float / :runs) + (30 + g % 600) * interval '1 second',
            case when g % 5 = 0 then 1 else 0 end, (30 + g % 600) * 1000, 'scheduled',
            case when g % 5 = 0 then 'upload failed: connection reset by peer' end,
            case when g % 5 = 0 then 'fail' else 'pass' end
       from unnest(:jobs::text[]) as j(id) cross join generate_series(0, :runs - 1) as g
     on conflict do nothing`,
    { jobs: opts.jobs, runs: runsPerJob },
  );
  // what autovacuum does to a table that has had its inserts: statistics, and the visibility map
  // that lets index-only scans skip the table
  await db.raw('vacuum analyze');
  const row = (await db('healing_suggestions').count({ n: '*' }).first()) as { n: number } | undefined;
  return { suggestions: Number(row?.n ?? 0), reviews, jobs: opts.jobs };
}
