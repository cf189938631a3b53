// The indentation a YAML file already uses, so an edit writes new blocks like the rest of the file
// instead of re-indenting every line.

export function yamlStyle(src: string): { indent: number; indentSeq: boolean } {
  const lines = src.split('\n');
  let indent = 0;
  let indentSeq: boolean | undefined;
  for (let i = 1; i < lines.length && (!indent || indentSeq === undefined); i++) {
    const prev = lines[i - 1]!;
    // Only a key that opens a block ("key:" and nothing after it) tells how children are indented.
    if (!/^\s*[^\s#-][^#]*:\s*(#.*)?$/.test(prev)) continue;
    const line = lines[i]!;
    const lead = line.search(/\S/);
    const prevLead = prev.search(/\S/);
    if (lead < 0) continue;
    if (/^\s*- /.test(line)) indentSeq ??= lead > prevLead;
    else if (!indent && lead > prevLead) indent = lead - prevLead;
  }
  return { indent: indent >= 2 && indent <= 8 ? indent : 2, indentSeq: indentSeq ?? true };
}
