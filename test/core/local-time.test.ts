// Naive local times around clock changes (cli/procclaw/local-time.ts) and a ProcClaw run's times
// read with them (cli/procclaw/convert.ts, procclawRunTimes): pure, no server.
import { describe, expect, it } from 'vitest';
import { procclawRunTimes } from '../../cli/procclaw/convert.js';
import { describeInstant, instantsOfWallTime, readFinishedAt, readStartedAt, readWallTime } from '../../cli/procclaw/local-time.js';

const NY = 'America/New_York';
/** A wall time as its number ("2026-11-01T01:15:00" → the UTC instant with those fields). */
const wall = (text: string) => Date.parse(`${text}Z`);
const at = (iso: string) => new Date(iso);
const isoOf = (dates: Date[]) => dates.map((d) => d.toISOString());

describe('the instants of a local wall time', () => {
  it('when the time is an ordinary one, it names one instant', () => {
    expect(isoOf(instantsOfWallTime(wall('2026-07-01T12:00:00'), NY))).toEqual(['2026-07-01T16:00:00.000Z']);
    expect(isoOf(instantsOfWallTime(wall('2026-11-01T01:15:00'), 'UTC'))).toEqual(['2026-11-01T01:15:00.000Z']);
  });

  it('when the clock went back over it (New York, 1 November 2026), it names two instants an hour apart, EDT first', () => {
    expect(isoOf(instantsOfWallTime(wall('2026-11-01T01:15:00'), NY))).toEqual(['2026-11-01T05:15:00.000Z', '2026-11-01T06:15:00.000Z']);
    // the edges: 01:00 repeats, 00:59:59 and 02:00 do not
    expect(instantsOfWallTime(wall('2026-11-01T01:00:00'), NY)).toHaveLength(2);
    expect(instantsOfWallTime(wall('2026-11-01T00:59:59'), NY)).toHaveLength(1);
    expect(isoOf(instantsOfWallTime(wall('2026-11-01T02:00:00'), NY))).toEqual(['2026-11-01T07:00:00.000Z']);
  });

  it('when the clock went forward past it (New York, 14 March 2027), it names none', () => {
    expect(instantsOfWallTime(wall('2027-03-14T02:30:00'), NY)).toEqual([]);
    expect(isoOf(instantsOfWallTime(wall('2027-03-14T03:00:00'), NY))).toEqual(['2027-03-14T07:00:00.000Z']);
  });

  it('when a zone changes by half an hour (Lord Howe Island), the repeated half hour names two instants 30 minutes apart', () => {
    const both = instantsOfWallTime(wall('2026-04-05T01:45:00'), 'Australia/Lord_Howe');
    expect(both).toHaveLength(2);
    expect(both[1]!.getTime() - both[0]!.getTime()).toBe(30 * 60_000);
  });
});

describe('reading a run start the clock went back over', () => {
  const repeated = wall('2026-11-01T01:15:00');

  it('when the run before it started before both readings, the earlier is taken and the note says both were possible', () => {
    const r = readStartedAt(repeated, NY, { previousStart: at('2026-11-01T04:45:00Z') });
    expect(r.at.toISOString()).toBe('2026-11-01T05:15:00.000Z');
    expect(r.kind).toBe('ambiguous');
    expect(r.note).toBe(
      'started_at 2026-11-01T01:15:00 is ambiguous in America/New_York (the clock went back 1 h, so it happened twice); read as 01:15 EDT (-04:00), the earlier of the two (both are after the run before it, started 00:45 EDT (-04:00))',
    );
  });

  it('when the run before it started between the two readings, the later one is taken, after it', () => {
    const r = readStartedAt(repeated, NY, { previousStart: at('2026-11-01T05:45:00Z') });
    expect(r.at.toISOString()).toBe('2026-11-01T06:15:00.000Z');
    expect(r.note).toBe(
      'started_at 2026-11-01T01:15:00 is ambiguous in America/New_York (the clock went back 1 h, so it happened twice); read as 01:15 EST (-05:00), after the run before it (started 01:45 EDT (-04:00))',
    );
  });

  it('when the run before it started a moment after the earlier reading (its start taken a little later), the earlier is still taken', () => {
    expect(readStartedAt(repeated, NY, { previousStart: at('2026-11-01T05:15:00.400Z') }).at.toISOString()).toBe('2026-11-01T05:15:00.000Z');
  });

  it('when nothing comes before it, the earlier reading is taken, and the finish rules out a later one after it', () => {
    expect(readStartedAt(repeated, NY).note).toMatch(/read as 01:15 EDT \(-04:00\), the earlier of the two \(no run before it tells them apart\)$/);
    const r = readStartedAt(wall('2026-11-01T01:59:00'), NY, { latestFinish: at('2026-11-01T06:01:00Z') });
    expect(r.at.toISOString()).toBe('2026-11-01T05:59:00.000Z');
    expect(r.note).toMatch(/the one before its finish$/);
  });

  it('when the run before it is recorded after both readings, the later (nearer) one is taken and the note says so', () => {
    const r = readStartedAt(repeated, NY, { previousStart: at('2026-11-01T06:30:00Z') });
    expect(r.at.toISOString()).toBe('2026-11-01T06:15:00.000Z');
    expect(r.note).toMatch(/the later of the two, nearer the run before it/);
  });

  it('when the time is ordinary, it is read plainly with no note', () => {
    expect(readStartedAt(wall('2026-11-01T02:15:00'), NY, { previousStart: at('2026-11-01T06:45:00Z') })).toEqual({ at: at('2026-11-01T07:15:00Z'), kind: 'plain', note: null });
  });
});

describe('reading a run finish the clock went back over', () => {
  it('when the run started before both readings, the first not before the start is taken', () => {
    const r = readFinishedAt(wall('2026-11-01T01:20:00'), NY, at('2026-11-01T05:15:00Z'));
    expect(r.at.toISOString()).toBe('2026-11-01T05:20:00.000Z');
    expect(r.note).toMatch(/^finished_at 2026-11-01T01:20:00 is ambiguous .* read as 01:20 EDT \(-04:00\), the first reading not before its start \(01:15 EDT \(-04:00\)\)$/);
  });

  it('when the run started after the earlier reading, the later one is taken', () => {
    expect(readFinishedAt(wall('2026-11-01T01:10:00'), NY, at('2026-11-01T05:50:00Z')).at.toISOString()).toBe('2026-11-01T06:10:00.000Z');
  });
});

describe('a local time the clock skipped', () => {
  it('when ProcClaw wrote a time that does not exist (02:30 on 14 March 2027 in New York), it is read with the offset before the change and noted', () => {
    const r = readWallTime(wall('2027-03-14T02:30:00'), NY, 'started_at');
    expect(r.at.toISOString()).toBe('2027-03-14T07:30:00.000Z');
    expect(r.kind).toBe('skipped');
    expect(r.note).toBe(
      'started_at 2027-03-14T02:30:00 does not exist in America/New_York (the clock went forward 1 h past it); read with the offset before the change, as 03:30 EDT (-04:00)',
    );
  });
});

describe('describing an instant', () => {
  it('names the wall time, the zone abbreviation and the offset; seconds only when there are some', () => {
    expect(describeInstant(at('2026-11-01T06:15:00Z'), NY)).toBe('01:15 EST (-05:00)');
    expect(describeInstant(at('2026-11-01T06:15:07Z'), NY)).toBe('01:15:07 EST (-05:00)');
    expect(describeInstant(at('2026-11-01T06:15:00Z'), 'Asia/Kolkata')).toBe('11:45 (+05:30)');
  });
});

describe("a ProcClaw run's times", () => {
  const zone = { naiveZone: NY };

  it('when a run spans the fall-back, its negative wall-clock duration becomes the real one, and the note says both', () => {
    // started 01:50 EDT, finished 01:10 EST: 20 minutes; ProcClaw's naive difference is -40 minutes
    const times = procclawRunTimes(
      { started_at: '2026-11-01T01:50:00.000000', finished_at: '2026-11-01T01:10:00.000000', duration_seconds: -2400 },
      { ...zone, previousStart: at('2026-11-01T05:45:00Z') },
    );
    if ('error' in times) throw new Error(times.error);
    expect(times.started.toISOString()).toBe('2026-11-01T05:50:00.000Z');
    expect(times.finished?.toISOString()).toBe('2026-11-01T06:10:00.000Z');
    expect(times.duration_ms).toBe(20 * 60_000);
    expect(times.note).toContain('started_at 2026-11-01T01:50:00 is ambiguous');
    expect(times.note).toContain('finished_at 2026-11-01T01:10:00 is ambiguous');
    expect(times.note).toContain('duration_seconds -2400 is the difference of ProcClaw\'s wall clocks across the clock change; stored the real 1200 s (finished_at - started_at)');
  });

  it('when a run spans the change with plain start and finish, only its duration is corrected and noted', () => {
    // 00:50 EDT to 02:10 EST: 140 minutes; ProcClaw says 80
    const times = procclawRunTimes({ started_at: '2026-11-01T00:50:00', finished_at: '2026-11-01T02:10:00', duration_seconds: 4800 }, zone);
    if ('error' in times) throw new Error(times.error);
    expect(times.duration_ms).toBe(140 * 60_000);
    expect(times.note).toBe("duration_seconds 4800 is the difference of ProcClaw's wall clocks across the clock change; stored the real 8400 s (finished_at - started_at)");
  });

  it('when a run neither spans a change nor has an ambiguous time, ProcClaw\'s duration is kept and there is no note', () => {
    const times = procclawRunTimes({ started_at: '2026-11-01T02:10:00', finished_at: '2026-11-01T02:20:00.5', duration_seconds: 600.5 }, zone);
    expect(times).toEqual({ started: at('2026-11-01T07:10:00Z'), finished: at('2026-11-01T07:20:00.500Z'), duration_ms: 600_500, note: null });
  });

  it('when a time carries its offset, it is exact: no reading, no note, even inside the repeated hour', () => {
    const times = procclawRunTimes({ started_at: '2026-11-01T01:15:00-05:00', finished_at: '2026-11-01T01:20:00-05:00', duration_seconds: 300 }, zone);
    expect(times).toEqual({ started: at('2026-11-01T06:15:00Z'), finished: at('2026-11-01T06:20:00Z'), duration_ms: 300_000, note: null });
  });

  it('when started_at is not a time, the error names it', () => {
    expect(procclawRunTimes({ started_at: 'yesterday', finished_at: null, duration_seconds: null }, zone)).toEqual({ error: 'started_at "yesterday" is not a time' });
  });
});
