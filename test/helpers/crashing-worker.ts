// A worker in its own process that hangs right after a chosen activity has done its work, before
// Temporal hears of it, so a test can SIGKILL it at the worst moment.
import { NativeConnection } from '@temporalio/worker';
import pino from 'pino';
import { createDb } from '../../db/knex.js';
import { createWorkers } from '../../worker/workers.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

const hangAfter = env('HANG_AFTER');
const log = pino({ level: 'silent' });
const db = createDb(env('DATABASE_URL'));
const connection = await NativeConnection.connect({ address: env('TEMPORAL_ADDRESS') });
const workers = await createWorkers({
  connection,
  namespace: env('TEMPORAL_NAMESPACE'),
  analysisConcurrency: 1,
  log,
  deps: {
    db,
    jobsSource: env('JOBS_DIR'),
    dataDir: env('DATA_DIR'),
    home: env('HOME_DIR'),
    procclawHome: env('HOME_DIR'),
    analyzer: { mode: 'rules', openclawBin: 'openclaw', agent: null, thinking: null, timeoutSeconds: 10 },
    dashboardUrl: 'http://dashboard.test',
    log,
  },
  interceptors: {
    activity: [
      (ctx) => ({
        inbound: {
          async execute(input, next) {
            const result = await next(input);
            if (ctx.info.activityType === hangAfter) {
              process.stdout.write(`HUNG ${hangAfter}\n`);
              await new Promise(() => undefined); // never report the result
            }
            return result;
          },
        },
      }),
    ],
  },
});
process.stdout.write('READY\n');
await workers.run();
