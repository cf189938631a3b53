// The interval between runs a cron expression asks for, for the common regular shapes only.
// Irregular expressions answer null: no rule then claims a run is "longer than its interval".
export function cronIntervalSeconds(expr: string | undefined): number | null {
  if (!expr) return null;
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5) return null;
  const [minute, hour, dom, month, dow] = fields as [string, string, string, string, string];
  const every = (field: string): number | null => {
    if (field === '*') return 1;
    const step = /^\*\/(\d+)$/.exec(field);
    return step ? Number(step[1]) : null;
  };
  const fixed = (field: string) => /^\d+$/.test(field);
  const restAny = dom === '*' && month === '*' && dow === '*';
  if (restAny && hour === '*' && every(minute)) return every(minute)! * 60;
  if (restAny && fixed(minute) && every(hour)) return every(hour)! * 3600;
  if (restAny && fixed(minute) && fixed(hour)) return 86_400;
  if (dom === '*' && month === '*' && fixed(dow) && fixed(minute) && fixed(hour)) return 7 * 86_400;
  return null;
}
