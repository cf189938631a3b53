// The Temporal CLI the dev server runs from: TEMPORAL_CLI_PATH, else what `npm start` and
// `npm test` find (PATH, then the cached build). Benchmarks never build it.
// @ts-expect-error plain JS module shared with the bootstrap script
import { resolveTemporalCli } from '../../scripts/temporal-cli.mjs';

export async function resolveCli(): Promise<string> {
  const found = (await resolveTemporalCli({ log: () => undefined, build: false })) as string | null;
  if (!found) throw new Error('no Temporal CLI found: run `npm start` or `npm test` once (they build it), or set TEMPORAL_CLI_PATH');
  return found;
}
