// Edits of a job's YAML that keep its comments, the fields this service does not model, and the
// file's own indentation.
import { isMap, parseDocument, type Document } from 'yaml';
import type { JobFile } from '../review.js';

/** The path of the job's own mapping: top level of a per-job file, or jobs.<id> in a catalog. */
function jobPath(doc: Document, jobId: string): string[] | null {
  if (!isMap(doc.contents)) return null;
  if (isMap(doc.getIn(['jobs', jobId]))) return ['jobs', jobId];
  if (doc.contents.has('cmd') || doc.contents.has('name')) return [];
  if (isMap(doc.getIn([jobId]))) return [jobId];
  return null;
}

/** The indentation the file already uses, so an edit does not re-indent every line. */
function yamlStyle(src: string): { indent: number; indentSeq: boolean } {
  const lines = src.split('\n');
  let indent = 0;
  let indentSeq: boolean | null = null;
  for (let i = 1; i < lines.length; i++) {
    const prev = lines[i - 1] as string;
    // Only a key that opens a block ("key:" and nothing after it) tells how children are indented.
    if (!/^\s*[^\s#-][^#]*:\s*(#.*)?$/.test(prev)) continue;
    const line = lines[i] as string;
    const lead = line.search(/\S/);
    const prevLead = prev.search(/\S/);
    if (lead < 0) continue;
    if (/^\s*- /.test(line)) indentSeq ??= lead > prevLead;
    else if (!indent && lead > prevLead) indent = lead - prevLead;
  }
  return { indent: indent >= 2 && indent <= 8 ? indent : 2, indentSeq: indentSeq ?? true };
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
