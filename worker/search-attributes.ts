// Registers the custom search attributes once per namespace; safe to run from every worker.
import { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';

const { temporal } = proto; // a CommonJS module: named imports do not resolve under Node's ESM loader
import { SEARCH_ATTRIBUTE_TYPES, SEARCH_ATTRIBUTES } from '../core/temporal.js';

const INDEXED_TYPES = {
  Keyword: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  KeywordList: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
  Datetime: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  Text: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
} as const;

export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = Object.values(SEARCH_ATTRIBUTES).filter((name) => !(name in (existing.customAttributes ?? {})));
  if (missing.length === 0) return;
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((name) => [name, INDEXED_TYPES[SEARCH_ATTRIBUTE_TYPES[name]]])),
    });
  } catch (error) {
    // Another worker registered them first.
    if (/already exists/i.test((error as Error).message)) return;
    // Workflows would fail their tasks on an unknown attribute: the worker does not start without them.
    const wanted = missing.map((name) => `${name} (${SEARCH_ATTRIBUTE_TYPES[name]})`).join(', ');
    throw new Error(
      `cannot register the search attributes ${wanted} in namespace ${namespace}: ${(error as Error).message}. ` +
        'Add them to the namespace (on Temporal Cloud: `tcld namespace search-attributes add`, or the Cloud UI) and start again',
      { cause: error },
    );
  }
}
