// Registers the custom search attributes once per namespace; safe to run from every worker.
import { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';

const { temporal } = proto; // a CommonJS module: named imports do not resolve under Node's ESM loader
import { SEARCH_ATTRIBUTES } from '../core/temporal.js';

const KEYWORD = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;

export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = Object.values(SEARCH_ATTRIBUTES).filter((name) => !(name in (existing.customAttributes ?? {})));
  if (missing.length === 0) return;
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((name) => [name, KEYWORD])),
    });
  } catch (error) {
    // Another worker registered them first.
    if (!/already exists/i.test((error as Error).message)) throw error;
  }
}
