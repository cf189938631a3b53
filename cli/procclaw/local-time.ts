// Naive wall-clock times (no offset) read in a time zone. ProcClaw writes `datetime.now()` in
// the machine's zone, so around a clock change one wall time can name two instants (the clock
// went back: that hour happened twice) or none (the clock went forward past it). This picks one
// and says how, for the run's record. Pure: only Intl.
//
// A wall time is carried as the number of ms of the UTC instant with the same fields
// ("2026-11-01T01:15:00" is Date.UTC(2026, 10, 1, 1, 15)).

const DAY_MS = 86_400_000;
/**
 * How far a run may be recorded as starting before the run ProcClaw recorded before it: its run
 * ids grow in start order (`add_run` at the start), give or take the moment its start was taken.
 * Far below the half hour the smallest clock change moves, so it never hides the other reading.
 */
const NEIGHBOUR_SLACK_MS = 1_000;

export interface WallReading {
  at: Date;
  /** `plain`: one instant; `ambiguous`: the clock went back and this time happened twice; `skipped`: the clock went forward past it */
  kind: 'plain' | 'ambiguous' | 'skipped';
  /** which reading was taken and why, for a person; null when plain */
  note: string | null;
}

const offsetFormats = new Map<string, Intl.DateTimeFormat>();

/** The zone's offset from UTC at the instant `at`, in ms (east positive). Throws RangeError for an unknown zone. */
export function zoneOffsetMs(zone: string, at: number): number {
  let format = offsetFormats.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    offsetFormats.set(zone, format);
  }
  const parts = format.formatToParts(new Date(at));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - Math.floor(at / 1000) * 1000;
}

/**
 * The instants at which the wall clock of `zone` shows `wall`, earliest first: one; two where the
 * clock went back over it; none where it went forward past it.
 */
export function instantsOfWallTime(wall: number, zone: string): Date[] {
  // The offsets in force a day either side (and at the wall time itself) cover any one clock change.
  const offsets = new Set([zoneOffsetMs(zone, wall - DAY_MS), zoneOffsetMs(zone, wall), zoneOffsetMs(zone, wall + DAY_MS)]);
  const instants = new Set<number>();
  for (const offset of offsets) {
    const at = wall - offset;
    if (zoneOffsetMs(zone, at) === offset) instants.add(at);
  }
  return [...instants].sort((a, b) => a - b).map((at) => new Date(at));
}

/**
 * The instant of a wall time, without context: the single one, the earlier of two (as Python's
 * `fold=0`), or, for a time the clock skipped, the one read with the offset before the change.
 */
export function readWallTime(wall: number, zone: string, label = 'time'): WallReading {
  return readStartedAt(wall, zone, { label });
}

/**
 * The start of a run at wall time `wall`. Of two readings: the earliest not before the start of
 * the run ProcClaw recorded before it (`previousStart`); if both are, the earliest not after the
 * run's finish (`latestFinish`, its latest possible reading); if neither tells, the earlier one.
 */
export function readStartedAt(
  wall: number,
  zone: string,
  context: { previousStart?: Date | null; latestFinish?: Date | null; label?: string } = {},
): WallReading {
  const label = context.label ?? 'started_at';
  const instants = instantsOfWallTime(wall, zone);
  if (instants.length === 0) return skipped(wall, zone, label);
  if (instants.length === 1) return { at: instants[0]!, kind: 'plain', note: null };
  const previous = context.previousStart ?? null;
  const finish = context.latestFinish ?? null;
  const notBeforeFinish = (list: Date[]) => (finish ? list.filter((at) => at.getTime() <= finish.getTime()) : list);
  let at: Date;
  let why: string;
  const afterPrevious = previous ? instants.filter((at) => at.getTime() >= previous.getTime() - NEIGHBOUR_SLACK_MS) : instants;
  if (previous && afterPrevious.length === 1) {
    at = afterPrevious[0]!;
    why = `after the run before it (started ${describeInstant(previous, zone)})`;
  } else if (previous && afterPrevious.length === 0) {
    // ProcClaw recorded the run before it as starting later than either reading: take the nearer,
    // unless it is after the run's finish. The note says which of the two it is.
    const possible = notBeforeFinish(instants);
    at = (possible.length > 0 ? possible : instants).at(-1)!;
    const later = at.getTime() === instants.at(-1)!.getTime();
    const recorded = `the run before it is recorded as started ${describeInstant(previous, zone)}, after both`;
    why = later ? `the later of the two, nearer the run before it (${recorded})` : `the earlier of the two, as the later is after its finish (${recorded})`;
  } else {
    const possible = notBeforeFinish(instants);
    if (possible.length === 1) {
      at = possible[0]!;
      why = 'the one before its finish';
    } else {
      at = instants[0]!;
      why = previous
        ? `the earlier of the two (both are after the run before it, started ${describeInstant(previous, zone)})`
        : 'the earlier of the two (no run before it tells them apart)';
    }
  }
  return { at, kind: 'ambiguous', note: `${ambiguousLead(wall, zone, label, instants)}; read as ${describeInstant(at, zone)}, ${why}` };
}

/** The finish of a run at wall time `wall` that started at `start`: the earliest reading not before the start. */
export function readFinishedAt(wall: number, zone: string, start: Date, label = 'finished_at'): WallReading {
  const instants = instantsOfWallTime(wall, zone);
  if (instants.length === 0) return skipped(wall, zone, label);
  if (instants.length === 1) return { at: instants[0]!, kind: 'plain', note: null };
  const after = instants.filter((at) => at.getTime() >= start.getTime());
  // Both before the start: the data contradicts itself; the later is the nearer.
  const at = after.length > 0 ? after[0]! : instants.at(-1)!;
  const why = after.length > 0 ? `the first reading not before its start (${describeInstant(start, zone)})` : `the later of the two, both being before its start (${describeInstant(start, zone)})`;
  return { at, kind: 'ambiguous', note: `${ambiguousLead(wall, zone, label, instants)}; read as ${describeInstant(at, zone)}, ${why}` };
}

/** The latest instant a wall time may name (the later of two; a skipped time's reading). */
export function latestInstantOf(wall: number, zone: string): Date {
  return instantsOfWallTime(wall, zone).at(-1) ?? skipped(wall, zone, 'time').at;
}

/** True when the zone's offset differs between the two instants: a clock change lies between them. */
export function clockChangedBetween(zone: string, from: Date, to: Date): boolean {
  return zoneOffsetMs(zone, from.getTime()) !== zoneOffsetMs(zone, to.getTime());
}

/** "01:15 EST (-05:00)": the wall time at `at` in `zone`, its abbreviation and offset. */
export function describeInstant(at: Date, zone: string): string {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short' }).formatToParts(at);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const seconds = get('second') === '00' ? '' : `:${get('second')}`;
  const name = get('timeZoneName');
  const offset = offsetText(zoneOffsetMs(zone, at.getTime()));
  return `${get('hour')}:${get('minute')}${seconds}${name && !/^(GMT|UTC)[+-]/.test(name) ? ` ${name}` : ''} (${offset})`;
}

/** "2026-11-01T01:15:00": a wall time as ProcClaw wrote it, to the second. */
export function wallText(wall: number): string {
  return new Date(wall).toISOString().slice(0, 19);
}

/** A time the clock skipped: read with the offset in force before the change, as a clock not yet put forward shows it. */
function skipped(wall: number, zone: string, label: string): WallReading {
  const before = zoneOffsetMs(zone, wall - DAY_MS);
  const after = zoneOffsetMs(zone, wall + DAY_MS);
  const at = new Date(wall - before);
  const jump = after > before ? ` forward ${durationText(after - before)}` : '';
  return {
    at,
    kind: 'skipped',
    note: `${label} ${wallText(wall)} does not exist in ${zone} (the clock went${jump} past it); read with the offset before the change, as ${describeInstant(at, zone)}`,
  };
}

function ambiguousLead(wall: number, zone: string, label: string, instants: Date[]): string {
  const back = instants.at(-1)!.getTime() - instants[0]!.getTime();
  return `${label} ${wallText(wall)} is ambiguous in ${zone} (the clock went back ${durationText(back)}, so it happened twice)`;
}

function offsetText(ms: number): string {
  const sign = ms < 0 ? '-' : '+';
  const total = Math.round(Math.abs(ms) / 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  const seconds = total % 60;
  return `${sign}${pad(Math.floor(total / 3600))}:${pad(Math.floor(total / 60) % 60)}${seconds ? `:${pad(seconds)}` : ''}`;
}

function durationText(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes % 60 === 0) return `${minutes / 60} h`;
  return minutes > 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${minutes} min`;
}
