// Offset pagination shared by every list: one count, one page, newest first.
import type { Knex } from 'knex';

export interface Page {
  limit: number;
  offset: number;
}

export interface Paged<T> {
  rows: T[];
  total: number;
}

export async function fetchPage<T>(query: Knex.QueryBuilder, page: Page, orderColumn = 'created_at'): Promise<Paged<T>> {
  const [countRow] = await query.clone().clearSelect().clearOrder().count<{ count: number }[]>({ count: '*' });
  const rows = await query.clone().orderBy([
    { column: orderColumn, order: 'desc' },
    { column: 'id', order: 'desc' },
  ]).limit(page.limit).offset(page.offset);
  return { rows: rows as T[], total: Number(countRow?.count ?? 0) };
}
