// The dashboard's own URL of each thing it shows (web/src/composables/useRoute.ts reads them):
// `#/suggestions/42` opens that suggestion, `#/reviews/15` that review, `#/actions/7` that
// action, `#/jobs/<id>` that job. Notifications and the Temporal UI link to these, under
// HEALING_PUBLIC_URL (or the local address the API listens on).

export type LinkKind = 'suggestions' | 'reviews' | 'actions' | 'jobs';

/** `base/#/kind/id`; the id is encoded (a job id is URL-safe already, a number trivially). */
export function dashboardLink(base: string, kind: LinkKind, id: number | string): string {
  return `${base.replace(/\/+$/, '')}/#/${kind}/${encodeURIComponent(String(id))}`;
}

/** Markdown for a Temporal UI details field: one link, its text plain (no markdown of its own). */
export function markdownLink(text: string, url: string): string {
  return `[${text.replace(/[[\]\\]/g, '')}](${url.replace(/[()\s]/g, encodeURIComponent)})`;
}
