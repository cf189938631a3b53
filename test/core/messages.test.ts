// Validation messages in words a person can act on (core/messages.ts), for each kind of zod issue;
// a message a schema sets itself is kept.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseInput } from '../../api/errors.js';
import { BatchBody } from '../../api/routes/batches.js';
import { SelfHealingSchema } from '../../core/job.js';
import { humanError } from '../../core/messages.js';

const reasons = (schema: z.ZodType, value: unknown) => schema.safeParse(value, { error: humanError }).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);

describe('humanError', () => {
  it('says each kind of problem in words, naming the bound or the choices', () => {
    const schema = z.object({
      count: z.number().int().min(0).max(10),
      ratio: z.number().positive(),
      name: z.string().min(1).max(3),
      code: z.string().min(4),
      mode: z.enum(['reactive', 'proactive']),
      level: z.enum(['low', 'medium', 'high']),
      tags: z.array(z.string()).min(1).max(2),
      on: z.boolean(),
      id: z.string().regex(/^a+$/),
      step: z.number().multipleOf(5),
      needed: z.string(),
    });
    expect(reasons(schema, { count: 11, ratio: 0, name: 'abcd', code: 'ab', mode: 'x', level: 'x', tags: [], on: 'yes', id: 'b', step: 7 })).toEqual([
      'count: must be 10 or less',
      'ratio: must be more than 0',
      'name: must be at most 3 characters long',
      'code: must be at least 4 characters long',
      'mode: must be reactive or proactive',
      'level: must be one of low, medium, high',
      'tags: must list at least one item',
      'on: must be true or false, not the text "yes"',
      'id: has the wrong form',
      'step: must be a multiple of 5',
      'needed: is required: text',
    ]);
    expect(reasons(schema, { count: -1, ratio: 1, name: '', code: 'abcd', mode: 'reactive', level: 'low', tags: ['a', 'b', 'c'], on: true, id: 'a', step: 5, needed: 'x' })).toEqual([
      'count: must be 0 or more',
      'name: must not be empty',
      'tags: must list at most 2 items',
    ]);
    expect(reasons(schema, 42)).toEqual([': must be a map of fields (key: value), not the number 42']);
    expect(reasons(z.object({ n: z.number().int() }), { n: 1.5 })).toEqual(['n: must be a whole number, not the number 1.5']);
  });

  it('keeps the messages the job schema sets itself (a time, min_runs above its bound, a time zone)', () => {
    expect(reasons(SelfHealingSchema, { review_schedule: { time: '25:00', min_runs: 101, timezone: 'Mars/Olympus' } })).toEqual([
      'review_schedule.time: must be HH:MM (24-hour), e.g. "03:00"',
      'review_schedule.min_runs: must be at most 100: a review reads a bounded number of runs (200 at most), so a larger min_runs might never be met and the job never reviewed',
      'review_schedule.timezone: unknown IANA time zone',
    ]);
    expect(reasons(SelfHealingSchema, { review_schedule: { min_runs: -1 } })).toEqual(['review_schedule.min_runs: must be 0 or more']);
  });
});

describe('a 400 from the API', () => {
  it('says each problem once, though two checks find it (ids: [1e300] is past both int and max)', () => {
    let message = '';
    try {
      parseInput(BatchBody, { decision: 'approve', ids: [1e300] }, 'body');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe('invalid body: ids.0: must be 9007199254740991 or less');
  });
});
