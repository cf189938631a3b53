// GET /metrics in the Prometheus text format. Every figure is read from Postgres at scrape time
// (a few cheap group-bys), so any number of API processes report the same truth. Each app has its
// own registry, never the global one, so tests and embedders can create several apps.
import { Router } from 'express';
import { Gauge, Registry } from 'prom-client';
import { metricsSnapshot, type Durations, type MetricsSnapshot } from '../../db/stats.js';
import type { ApiDeps } from '../context.js';

export function metricsRouter(deps: ApiDeps): Router {
  const registry = new Registry();
  // One snapshot per scrape, shared by every gauge's collect().
  let pending: Promise<MetricsSnapshot> | null = null;
  const snapshot = () => (pending ??= metricsSnapshot(deps.db));

  const gauge = <L extends string>(name: string, help: string, labelNames: L[], fill: (g: Gauge<L>, s: MetricsSnapshot) => void) =>
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        this.reset();
        fill(this, await snapshot());
      },
    });

  gauge('healing_reviews', 'Reviews kept in Postgres, by status and trigger', ['status', 'trigger'], (g, s) => {
    for (const r of s.reviews) g.set({ status: r.status, trigger: r.trigger }, r.n);
  });
  gauge('healing_suggestions', 'Suggestions kept in Postgres, by status', ['status'], (g, s) => {
    for (const r of s.suggestions) g.set({ status: r.status }, r.n);
  });
  gauge('healing_actions', 'Apply attempts kept in Postgres, by status', ['status'], (g, s) => {
    for (const r of s.actions) g.set({ status: r.status }, r.n);
  });
  gauge('healing_notifications', 'Notifications kept in Postgres, by status', ['status'], (g, s) => {
    for (const r of s.notifications) g.set({ status: r.status }, r.n);
  });
  const quantiles = (g: Gauge<'quantile'>, d: Durations) => {
    for (const [q, v] of [['0.5', d.p50], ['0.9', d.p90], ['0.99', d.p99]] as const) if (v !== null) g.set({ quantile: q }, v / 1000);
  };
  gauge('healing_analysis_duration_seconds', 'Analysis duration of the reviews started in the last 24 hours, by quantile', ['quantile'], (g, s) => quantiles(g, s.analysis));
  gauge('healing_analysis_duration_samples', 'Reviews with an analysis duration started in the last 24 hours', [], (g, s) => g.set(s.analysis.count));
  gauge('healing_apply_duration_seconds', 'Duration of the apply attempts made in the last 24 hours, by quantile', ['quantile'], (g, s) => quantiles(g, s.apply));
  gauge('healing_apply_duration_samples', 'Apply attempts with a duration made in the last 24 hours', [], (g, s) => g.set(s.apply.count));

  const router = Router();
  router.get('/metrics', async (_req, res) => {
    try {
      const text = await registry.metrics();
      res.type(registry.contentType).send(text);
    } finally {
      pending = null;
    }
  });
  return router;
}
