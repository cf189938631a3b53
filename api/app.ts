// The Express app: JSON API under /api/v1, health, and the dashboard at /.
import express, { type Express } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import { API_BODY_LIMIT_BYTES } from '../core/run-report.js';
import { authenticate } from './auth.js';
import { openApiDocument } from './openapi.js';
import type { ApiDeps } from './context.js';
import { refuseCrossSiteCommands } from './cross-site.js';
import { dashboardRouter } from './dashboard.js';
import { errorHandler, refuseNulBytes, routeNotFound } from './errors.js';
import { actionsRouter } from './routes/actions.js';
import { analysisQueueRouter } from './routes/analysis-queue.js';
import { batchesRouter } from './routes/batches.js';
import { eventsRouter } from './routes/events.js';
import { healthRouter } from './routes/health.js';
import { jobsRouter } from './routes/jobs.js';
import { metricsRouter } from './routes/metrics.js';
import { reviewsRouter } from './routes/reviews.js';
import { statsRouter } from './routes/stats.js';
import { suggestionsRouter } from './routes/suggestions.js';
import { trendRouter } from './routes/trend.js';

export function createApp(deps: ApiDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple'); // no nested objects from query strings
  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: true,
        // The dashboard loads only its own bundle; AI text it shows can never pull in a script.
        // No upgrade-insecure-requests: served over plain HTTP on a LAN address (with a token), the
        // browser would rewrite the bundles to https:// and show a blank page.
        directives: { 'script-src': ["'self'"], 'connect-src': ["'self'"], 'img-src': ["'self'", 'data:'], 'frame-ancestors': ["'none'"], 'upgrade-insecure-requests': null },
      },
    }),
  );
  // CORS stays closed: no Access-Control-* headers, so other origins' pages cannot read the API's
  // answers; their commands, which a browser sends without asking, are refused (api/cross-site.ts).
  app.use('/api', refuseCrossSiteCommands);
  app.use(express.json({ limit: API_BODY_LIMIT_BYTES, strict: false }));
  app.use(refuseNulBytes);

  const api = express.Router();
  const openapi = openApiDocument();
  api.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });
  // The banner prints /api/v1: it answers with where to go from there.
  api.get('/', (_req, res) => {
    res.json({ success: true, name: 'ProcClaw Healing API', openapi: '/api/v1/openapi.json', dashboard: '/', health: '/health' });
  });
  api.use(authenticate(deps.tokens));
  // Deciding and triggering are rate limited per caller; reads are not.
  api.use(
    rateLimit({
      windowMs: 60_000,
      limit: deps.commandRateLimit ?? 120,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      skip: (req) => req.method === 'GET' || req.method === 'HEAD',
      keyGenerator: (req, res) => `${res.locals.actor ?? 'anonymous'}:${ipKeyGenerator(req.ip ?? '')}`,
      handler: (_req, res) => {
        res.status(429).json({ success: false, error: 'too many commands; wait a minute and try again', detail: null });
      },
    }),
  );
  api.use(healthRouter(deps));
  api.use(reviewsRouter(deps));
  api.use(analysisQueueRouter(deps));
  api.use(suggestionsRouter(deps));
  api.use(batchesRouter(deps));
  api.use(actionsRouter(deps));
  api.use(jobsRouter(deps));
  api.use(trendRouter(deps));
  api.use(statsRouter(deps));
  api.use(eventsRouter(deps));
  api.use(routeNotFound);

  // /health stays open for load balancers and container health checks; without a token it tells only reachability.
  app.use(healthRouter(deps));
  app.use('/metrics', authenticate(deps.tokens));
  app.use(metricsRouter(deps));
  app.use('/api/v1', api);
  app.use(dashboardRouter(deps.webDist));
  app.use(routeNotFound);
  app.use(errorHandler(deps.log));
  return app;
}
