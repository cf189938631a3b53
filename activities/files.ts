// Atomic file writes live in db/files.ts, beside the job catalog, so the API can use them too.
export { removeStaleTemps, writeFileAtomic } from '../db/files.js';
