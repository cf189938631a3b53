// What a run report (POST /api/v1/jobs/{id}/runs) may hold. The API's body parser and schema
// accept exactly these, and the ProcClaw importer builds its reports to fit them, so a report it
// sends is never refused for its size.

/** The largest request body the API reads (express.json), in bytes of its JSON. */
export const API_BODY_LIMIT_BYTES = 1024 * 1024;

/** Per-field bounds of a run report, in JavaScript string length (what zod's `max` counts) or entries. */
export const RUN_REPORT_LIMITS = {
  error_chars: 20_000,
  log_tail_chars: 256 * 1024,
  session_messages: 10_000,
} as const;
