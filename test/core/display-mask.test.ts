// Masking secrets for display: the same detection as the prompt redaction, one mask per value
// across the texts of one answer, and a diff of masked contents that still shows a changed secret.
import { createTwoFilesPatch } from 'diff';
import { describe, expect, it } from 'vitest';
import { knownSecrets, maskForDisplay } from '../../core/display-mask.js';
import { MARKER, redactText } from '../../core/redact.js';
import { mask } from '../../core/secrets.js';

const STRIPE = 'sk_live_51HxQdemoSecretToken1234567890';
const STRIPE_2 = 'sk_live_51HxQdemoSecretTokenABCDEFGHIJ'; // same prefix and length: the same mask text
const DB_PASSWORD = 'Tr0ub4dor-3-horse';

const SCRIPT = `import os\n\nAPI_TOKEN = "${STRIPE}"\nheaders = {"Authorization": "Bearer " + API_TOKEN}\n`;

describe('maskForDisplay', () => {
  it('when a script holds a token, the token is shown as its mask, the rest of the file as it is', () => {
    const { texts, hidden } = maskForDisplay({ content: SCRIPT });
    expect(texts.content).toBe(SCRIPT.replace(STRIPE, 'sk_l…(38 chars)'));
    expect(mask(STRIPE)).toBe('sk_l…(38 chars)');
    expect(hidden).toBe(1);
  });

  it('when a header is built from a variable ("Bearer " + API_TOKEN), the scheme word is no secret, for the prompt either', () => {
    const line = 'headers = {"Authorization": "Bearer " + API_TOKEN}';
    expect(maskForDisplay({ line }).texts.line).toBe(line);
    expect(redactText(line).text).toBe(line);
    expect(redactText('"Authorization": "Bearer abcdefgh12345678"').text).toBe('"Authorization": "Bearer [REDACTED:authorization#1]"');
  });

  it('when a secret is found in one text, it is masked where it recurs in another without its key, with the same mask', () => {
    const { texts, hidden } = maskForDisplay({ current: `DB_PASSWORD=${DB_PASSWORD}\n`, note: `connect failed with ${DB_PASSWORD} for app` });
    expect(texts.current).toBe(`DB_PASSWORD=${mask(DB_PASSWORD)}\n`);
    expect(texts.note).toBe(`connect failed with ${mask(DB_PASSWORD)} for app`);
    expect(hidden).toBe(1);
  });

  it('when only the secret of a line changes, the diff of the masked sides shows the line changed and neither value', () => {
    const before = `API_TOKEN = "${STRIPE}"\nmain()\n`;
    const after = `API_TOKEN = "${STRIPE_2}"\nmain()\n`;
    const { texts, hidden } = maskForDisplay({ before, after });
    expect(texts.before).toBe('API_TOKEN = "sk_l…(38 chars)"\nmain()\n');
    expect(texts.after).toBe('API_TOKEN = "sk_l…(38 chars)#2"\nmain()\n');
    expect(hidden).toBe(2);
    const patch = createTwoFilesPatch('s.py', 's.py', texts.before!, texts.after!);
    expect(patch).toContain('-API_TOKEN = "sk_l…(38 chars)"');
    expect(patch).toContain('+API_TOKEN = "sk_l…(38 chars)#2"');
    expect(patch).not.toContain(STRIPE);
    expect(patch).not.toContain(STRIPE_2);
  });

  it('when a proposal removes the secret, the current side shows the mask and the proposed side the reference', () => {
    const after = 'API_TOKEN = os.environ["API_TOKEN"]\n';
    const { texts } = maskForDisplay({ before: SCRIPT, after });
    expect(texts.after).toBe(after);
    expect(createTwoFilesPatch('s.py', 's.py', texts.before!, texts.after!)).toContain('-API_TOKEN = "sk_l…(38 chars)"');
  });

  it('when a text is masked already (a rule quoting "sk_l…(38 chars)", a redaction marker), it is left as it is', () => {
    const text = 'line 3: API_TOKEN = sk_l…(38 chars)\nAuthorization: Bearer sk_l…(38 chars)#2\nkey=[REDACTED:stripe-key#1]';
    expect(maskForDisplay({ text })).toEqual({ texts: { text }, hidden: 0 });
  });

  it('hides what the prompt redaction hides, at the same places', () => {
    const text = [
      `export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE`,
      `DATABASE_URL=postgres://app:p4ssW0rd-in-url@db.internal:5432/orders`,
      `curl -H 'Authorization: Bearer eyJhbGciOi.J9sLongBearerToken_1234567890' https://x`,
      `{"client_secret": "${DB_PASSWORD}", "user": "bob"}`,
      `mysql --password ${DB_PASSWORD} orders`,
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----',
      `plain text with ghp_0123456789abcdefghijABCDEFGHIJ012345 inside`,
    ].join('\n');
    const redacted = redactText(text).text.replace(MARKER, '<secret>');
    const shown = maskForDisplay({ text }).texts.text!.replace(/[^\s…]{0,4}…\(\d+ chars\)(?:#\d+)?/g, '<secret>');
    expect(shown).toBe(redacted);
    expect(shown).toContain('"user": "bob"');
  });

  it("when the job's env values are known, they are masked wherever they appear, and a jobs.yaml's env values too", () => {
    const jobsYaml = 'jobs:\n  other:\n    cmd: ./x.sh\n    env:\n      PARTNER_KEY: "p4rtn3r-v4lue"\n';
    const known = knownSecrets({ UPSTREAM: 'upstream-s3cr3t', DEBUG: 'true' }, [{ path: '/jobs/jobs.yaml', content: jobsYaml }]);
    const { texts, hidden } = maskForDisplay({ script: 'curl -d upstream-s3cr3t https://x # DEBUG=true', config: jobsYaml }, known);
    expect(texts.script).toBe(`curl -d ${mask('upstream-s3cr3t')} https://x # DEBUG=true`);
    expect(texts.config).toBe(jobsYaml.replace('p4rtn3r-v4lue', mask('p4rtn3r-v4lue')));
    expect(hidden).toBe(2);
  });

  it('learns from texts it does not show (the files an answer quotes) and counts only the secrets it shows', () => {
    const file = `TOKEN=${DB_PASSWORD}\nOTHER_SECRET=unrelated-v4lue-9\n`;
    const answer = `{"current_state": "the script sends ${DB_PASSWORD} in clear"}`;
    const { texts, hidden } = maskForDisplay({ answer }, [], [file]);
    expect(texts.answer).toBe(`{"current_state": "the script sends ${mask(DB_PASSWORD)} in clear"}`);
    expect(hidden).toBe(1);
  });

  it('keeps null and empty texts as they are', () => {
    expect(maskForDisplay({ a: null, b: '', c: undefined })).toEqual({ texts: { a: null, b: '', c: null }, hidden: 0 });
  });
});
