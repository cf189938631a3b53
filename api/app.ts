// The Express app: JSON API under /api/v1, health, and the dashboard at /.
import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { type Express } from 'express';
import type { ApiDeps } from './context.js';
import { errorHandler, routeNotFound } from './errors.js';
import { actionsRouter } from './routes/actions.js';
import { healthRouter } from './routes/health.js';
import { jobsRouter } from './routes/jobs.js';
import { reviewsRouter } from './routes/reviews.js';
import { suggestionsRouter } from './routes/suggestions.js';

export function createApp(deps: ApiDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple'); // no nested objects from query strings
  app.use(express.json({ limit: '1mb', strict: false }));

  const api = express.Router();
  api.use(healthRouter(deps));
  api.use(reviewsRouter(deps));
  api.use(suggestionsRouter(deps));
  api.use(actionsRouter(deps));
  api.use(jobsRouter(deps));
  api.use(routeNotFound);

  app.use(healthRouter(deps));
  app.use('/api/v1', api);
  if (deps.webDist && existsSync(path.join(deps.webDist, 'index.html'))) {
    app.use(express.static(deps.webDist, { index: 'index.html', maxAge: '1h' }));
  }
  app.use(routeNotFound);
  app.use(errorHandler(deps.log));
  return app;
}
