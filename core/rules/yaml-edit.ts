// Edits of a job's YAML that keep its comments, the fields this service does not model, and the
// file's own indentation.
import { isMap, parseDocument, type Document } from 'yaml';
import { yamlStyle } from '../yaml-style.js';
import type { JobFile } from '../review.js';

/** The path of the job's own mapping: top level of a per-job file, or jobs.<id> in a catalog. */
function jobPath(doc: Document, jobId: string): string[] | null {
  if (!isMap(doc.contents)) return null;
  if (isMap(doc.getIn(['jobs', jobId]))) return ['jobs', jobId];
  if (doc.contents.has('cmd') || doc.contents.has('name')) return [];
  if (isMap(doc.getIn([jobId]))) return [jobId];
  return null;
}

/** Applies `edit` to the job's mapping inside its YAML file; null when the file cannot be edited safely. */
export function editJobYaml(file: JobFile | undefined, jobId: string, edit: (doc: Document, base: string[]) => void): string | null {
  if (!file || file.truncated) return null;
  const doc = parseDocument(file.content);
  if (doc.errors.length > 0) return null;
  const base = jobPath(doc, jobId);
  if (!base) return null;
  edit(doc, base);
  const style = yamlStyle(file.content);
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false, indent: style.indent, indentSeq: style.indentSeq });
}
