// Pagination shared by every list: one count, one page, in the list's order (newest first unless
// it says otherwise). A page is found by `offset`, or, for deep pages, by a `cursor` (the key of
// the last row of the previous page), which reads only the rows it returns however deep it is.
// Lists are single-table queries keyed (order keys..., id), all in one direction, so "after the
// cursor" is one row comparison an index on the same keys answers.
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

export interface OrderKey {
  /** a column, or an SQL expression written in code (never anything from a request) */
  sql: string;
  type: 'timestamptz' | 'integer' | 'boolean';
}

/** A list's order: its keys then the row id, all ascending or all descending. */
export interface Order {
  /** in every cursor of this order, so a cursor of another order is refused; '' for the plain ones */
  name: string;
  keys: OrderKey[];
  direction: 'asc' | 'desc';
  /** the id column (default `id`) */
  id?: string;
}

/** Newest first by one timestamp column: the order of every list but the suggestions. */
export const newestFirst = (column = 'created_at'): Order => ({ name: '', keys: [{ sql: column, type: 'timestamptz' }], direction: 'desc' });

/** Beyond this offset the page is found through the index alone, then its rows are read. */
const DEFERRED_JOIN_OFFSET = 1_000;
const KEY = '__page_key_';

export class CursorError extends Error {
  override name = 'CursorError';
}

export async function fetchPage<T>(
  query: Knex.QueryBuilder,
  page: Page,
  orderBy: string | Order = 'created_at',
  opts: { total?: () => Promise<number> } = {},
): Promise<Paged<T>> {
  const order = typeof orderBy === 'string' ? newestFirst(orderBy) : orderBy;
  const id = order.id ?? 'id';
  const raw = (sql: string, bindings: readonly Knex.RawBinding[] = []) => query.client.raw(sql, bindings) as Knex.Raw;
  const orderSql = [...order.keys.map((k) => k.sql), id].map((sql) => `${sql} ${order.direction}`).join(', ');
  const total = opts.total
    ? opts.total()
    : query.clone().clearSelect().clearOrder().count<{ count: number }[]>({ count: '*' }).then(([row]) => Number(row?.count ?? 0));
  // The keys as Postgres prints them: a timestamp exact to the microsecond, which a JS Date is not.
  const rowsQuery = query.clone();
  if (!hasColumns(rowsQuery)) rowsQuery.select('*'); // adding the keys must not narrow `select *`
  order.keys.forEach((k, i) => rowsQuery.select(raw(`(${k.sql})::text as ??`, [`${KEY}${i}`])));
  rowsQuery.orderByRaw(orderSql).limit(page.limit);
  if (page.cursor) {
    const after = decodeCursor(page.cursor, order);
    if (!after) throw new CursorError('cursor is not one this API gave out for this order: pass next_cursor from the previous page as it is');
    const row = [...order.keys.map((k) => k.sql), id].join(', ');
    const values = [...order.keys.map((k) => `?::${k.type}`), '?'].join(', ');
    rowsQuery.whereRaw(`(${row}) ${order.direction === 'desc' ? '<' : '>'} (${values})`, [...after.keys, after.id]);
  } else if (page.offset >= DEFERRED_JOIN_OFFSET) {
    // Skipping many rows through the (order, id) index only, not the rows themselves.
    const ids = query.clone().clearSelect().clearOrder().select(id).orderByRaw(orderSql).limit(page.limit).offset(page.offset);
    rowsQuery.whereIn(id, ids);
  } else if (page.offset > 0) {
    rowsQuery.offset(page.offset);
  }
  const [rows, count] = await Promise.all([rowsQuery as Promise<Record<string, unknown>[]>, total]);
  const last = rows.at(-1);
  const next =
    rows.length === page.limit && last
      ? encodeCursor(order, order.keys.map((_, i) => String(last[`${KEY}${i}`])), Number(last.id))
      : null;
  for (const row of rows) order.keys.forEach((_, i) => delete row[`${KEY}${i}`]);
  return { rows: rows as T[], total: count, next_cursor: next };
}

/** Whether the query names its columns (knex keeps them as statements of grouping "columns"). */
function hasColumns(query: Knex.QueryBuilder): boolean {
  const statements = (query as unknown as { _statements?: { grouping?: string }[] })._statements ?? [];
  return statements.some((s) => s.grouping === 'columns');
}

/** `[key, id]` for a plain order (the format cursors always had), `[name, keys..., id]` for a named one. */
function encodeCursor(order: Order, keys: string[], id: number): string {
  const parts = order.name ? [order.name, ...keys, id] : [...keys, id];
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

/** The cursor's keys and id for this order (newest first by default), or null when it is not one this API gave out for it. */
export function decodeCursor(cursor: string, order: Order = newestFirst()): { keys: string[]; id: number } | null {
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(parts)) return null;
  if (order.name) {
    if (parts[0] !== order.name) return null;
    parts = parts.slice(1);
  }
  const values = parts as unknown[];
  if (values.length !== order.keys.length + 1) return null;
  const id = values.at(-1);
  const keys = values.slice(0, -1);
  if (!Number.isSafeInteger(id)) return null;
  if (!keys.every((k, i) => typeof k === 'string' && validKey(k, order.keys[i]!.type))) return null;
  return { keys: keys as string[], id: id as number };
}

function validKey(value: string, type: OrderKey['type']): boolean {
  if (type === 'boolean') return value === 'true' || value === 'false';
  if (type === 'integer') return /^-?\d{1,9}$/.test(value);
  return validTimestamp(value);
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
