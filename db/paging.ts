// Pagination shared by every list: one count, one page, newest first. A page is found by `offset`,
// or, for deep pages, by a `cursor` (the key of the last row of the previous page), which reads
// only the rows it returns however deep it is. Lists are single-table queries keyed (order
// column, id).
import type { Knex } from 'knex';

export interface Page {
  limit: number;
  offset: number;
  /** next_cursor of the previous page: the page after it, without OFFSET (offset is then ignored) */
  cursor?: string;
}

export interface Paged<T> {
  rows: T[];
  total: number;
  /** where the next page starts, when this page is full */
  next_cursor: string | null;
}

/** Beyond this offset the page is found through the index alone, then its rows are read. */
const DEFERRED_JOIN_OFFSET = 1_000;
const KEY = '__page_key';

export class CursorError extends Error {
  override name = 'CursorError';
}

export async function fetchPage<T>(
  query: Knex.QueryBuilder,
  page: Page,
  orderColumn = 'created_at',
  opts: { total?: () => Promise<number> } = {},
): Promise<Paged<T>> {
  const order = [
    { column: orderColumn, order: 'desc' as const },
    { column: 'id', order: 'desc' as const },
  ];
  const total = opts.total
    ? opts.total()
    : query.clone().clearSelect().clearOrder().count<{ count: number }[]>({ count: '*' }).then(([row]) => Number(row?.count ?? 0));
  // The order key as Postgres prints it: exact to the microsecond, which a JS Date is not.
  const rowsQuery = query.clone();
  if (!hasColumns(rowsQuery)) rowsQuery.select('*'); // adding the key must not narrow `select *`
  rowsQuery.select(query.client.raw('??::text as ??', [orderColumn, KEY])).orderBy(order).limit(page.limit);
  if (page.cursor) {
    const after = decodeCursor(page.cursor);
    if (!after) throw new CursorError('cursor is not one this API gave out: pass next_cursor from the previous page as it is');
    rowsQuery.whereRaw('(??, ??) < (?::timestamptz, ?)', [orderColumn, 'id', after.key, after.id]);
  } else if (page.offset >= DEFERRED_JOIN_OFFSET) {
    // Skipping many rows through the (order, id) index only, not the rows themselves.
    const ids = query.clone().clearSelect().clearOrder().select('id').orderBy(order).limit(page.limit).offset(page.offset);
    rowsQuery.whereIn('id', ids);
  } else if (page.offset > 0) {
    rowsQuery.offset(page.offset);
  }
  const [rows, count] = await Promise.all([rowsQuery as Promise<Record<string, unknown>[]>, total]);
  const last = rows.at(-1);
  const next = rows.length === page.limit && last ? encodeCursor(String(last[KEY]), Number(last.id)) : null;
  for (const row of rows) delete row[KEY];
  return { rows: rows as T[], total: count, next_cursor: next };
}

/** Whether the query names its columns (knex keeps them as statements of grouping "columns"). */
function hasColumns(query: Knex.QueryBuilder): boolean {
  const statements = (query as unknown as { _statements?: { grouping?: string }[] })._statements ?? [];
  return statements.some((s) => s.grouping === 'columns');
}

function encodeCursor(key: string, id: number): string {
  return Buffer.from(JSON.stringify([key, id])).toString('base64url');
}

/** The cursor's key and id, or null when it is not one this API gave out. */
export function decodeCursor(cursor: string): { key: string; id: number } | null {
  try {
    const [key, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof key !== 'string' || !Number.isSafeInteger(id)) return null;
    return validTimestamp(key) ? { key, id: id as number } : null;
  } catch {
    return null;
  }
}

/** A timestamptz as Postgres prints it (DateStyle ISO). */
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?[+-](\d{2})(?::(\d{2})){0,2}$/;

/** Every field in range, as Postgres will insist (JS Date.parse takes Feb 30 and a +20 offset). */
function validTimestamp(key: string): boolean {
  const m = TIMESTAMP.exec(key);
  if (!m) return false;
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes] = m.slice(1).map((v) => Number(v ?? 0)) as number[];
  const daysInMonth = new Date(Date.UTC(year!, month!, 0)).getUTCDate();
  return year! >= 1 && month! >= 1 && month! <= 12 && day! >= 1 && day! <= daysInMonth && hour! <= 23 && minute! <= 59 && second! <= 59 && offsetHours! <= 15 && offsetMinutes! <= 59;
}
