// What approving a suggestion does, said before the click: apply its file edit, or acknowledge
// advice (nothing written); under the two-person rule, which approval this one is; and why it
// cannot be approved here at all (an open API, your own approval already given, a viewer token, a
// file changed since the review).
import type { SuggestionDetail } from '../api/types';

export interface ApprovalPlan {
  /** apply: approving writes the file; acknowledge: advice, nothing is written */
  kind: 'apply' | 'acknowledge';
  /** the confirm button's text */
  label: string;
  /** why approving is not possible here and what to do instead; null when it is */
  blocked: string | null;
  /** the two-person rule said up front; null when one approver does */
  twoPerson: { required: number; approvedBy: string[]; text: string } | null;
}

const ordinal = (n: number) => (n === 1 ? '1st' : n === 2 ? '2nd' : n === 3 ? '3rd' : `${n}th`);

export function approvalPlan(s: SuggestionDetail): ApprovalPlan {
  const kind = s.advice ? 'acknowledge' : 'apply';
  const verb = kind === 'apply' ? 'Approve & Apply' : 'Acknowledge';
  const outcome = kind === 'apply' ? 'applies it' : 'acknowledges it';
  const viewerBlock = s.viewer.role === 'viewer' ? `Your token (${s.viewer.name}) has the viewer role: approving needs an approver or admin token.` : null;
  // An apply of a file changed since the review is refused; acknowledging advice writes nothing.
  const staleBlock = kind === 'apply' && s.stale ? 'Not approvable as it is: its file changed since the review (see above). Re-review the job.' : null;
  const blocked = viewerBlock ?? staleBlock;
  const required = s.approvals_required;
  if (required <= 1) return { kind, label: verb, blocked, twoPerson: null };

  const by = s.approvals.map((a) => a.by);
  const rule = `It needs ${required} different approvers (two_person_rule: critical and security suggestions).`;
  const so = by.length ? `Approved so far by ${by.join(', ')}.` : 'Nobody has approved it yet.';
  const twoPerson = (text: string) => ({ required, approvedBy: by, text: `${rule} ${so} ${text}` });
  if (s.api_open) {
    return {
      kind,
      label: verb,
      blocked: blocked ?? 'It cannot be approved here.',
      twoPerson: twoPerson(
        `This API has no tokens, so everyone using it is the same anonymous person and cannot be two approvers: it cannot be approved here. Give each approver their own token in HEALING_TOKENS_FILE, or set self_healing.suggestions.two_person_rule: false for ${s.job_id}.`,
      ),
    };
  }
  if (by.includes(s.viewer.name)) {
    const left = required - by.length;
    return {
      kind,
      label: verb,
      blocked: blocked ?? 'You have approved it already.',
      twoPerson: twoPerson(`You (${s.viewer.name}) approved it. ${left === 1 ? 'Another approver' : `${left} more approvers`} must open suggestion #${s.id} with their own token and approve it; the last approval ${outcome}.`),
    };
  }
  const nth = by.length + 1;
  const last = nth >= required;
  return {
    kind,
    label: `${kind === 'apply' ? 'Approve' : 'Acknowledge'} (${ordinal(nth)} of ${required})${last && kind === 'apply' ? ' & Apply' : ''}`,
    blocked,
    twoPerson: twoPerson(last ? `Your approval is the last one needed and ${outcome}.` : `Your approval is the ${ordinal(nth)}; nothing changes until another person approves too.`),
  };
}
