// Path checks for the apply step. Pure: the caller resolves real paths (fs.realpath, symlinks
// included) and passes them in, so a symlink cannot smuggle a write outside the job's own files.
import { posix } from 'node:path';

export type GuardResult = { ok: true } | { ok: false; reason: string };

/** System folders no job edit may ever touch, whatever the job's file list says. */
export const FORBIDDEN_PREFIXES: readonly string[] = [
  '/etc', '/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/boot', '/dev', '/proc', '/sys',
  '/var/lib', '/var/run', '/run', '/private/etc', '/private/var/db', '/System', '/Library',
];

/** Folders holding credentials, refused wherever they sit (home or elsewhere). */
const CREDENTIAL_DIRS = new Set(['.ssh', '.gnupg', '.aws', '.kube', '.docker', '.azure', '.password-store']);
const CREDENTIAL_PATHS = ['.config/gcloud', '.config/gh'];

/** Files whose name alone marks them as secrets or version-control internals. */
function forbiddenName(segment: string): string | null {
  if (segment === '.env' || segment.startsWith('.env.')) return 'an .env file holds secrets';
  if (segment === '.netrc' || segment === '.pgpass' || segment === '.npmrc' || segment === '.git-credentials') {
    return `${segment} holds credentials`;
  }
  return null;
}

/**
 * OpenClaw's state folder (`~/.openclaw`, `~/.openclaw-<profile>`, wherever OPENCLAW_STATE_DIR
 * puts one named so) holds its config with the model keys, and the agents' credentials. Its
 * `workspace` is the user's own and stays writable.
 */
function openclawStateReason(segments: string[]): string | null {
  for (const [i, segment] of segments.entries()) {
    if (segment !== '.openclaw' && !segment.startsWith('.openclaw-')) continue;
    const inside = segments.slice(i + 1);
    if (inside.length === 1 && inside[0] === 'openclaw.json') return "openclaw.json is OpenClaw's config and holds its model keys";
    if (inside[0] === 'credentials' && inside.length > 1) return "OpenClaw's credentials folder holds credentials";
    if (inside[0] === 'agents' && inside.at(-1) === 'auth-profiles.json') return "an OpenClaw agent's auth-profiles.json holds credentials";
  }
  return null;
}

function isUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
}

/** Why a path may never be written, or null. `home` (absolute) adds the user's credential folders. */
export function forbiddenReason(path: string, home?: string): string | null {
  if (path.includes('\0')) return 'the path contains a NUL byte';
  if (!posix.isAbsolute(path)) return 'the path is not absolute';
  const normal = posix.normalize(path);
  if (normal !== path) return 'the path is not normalised (it has "..", ".", "//" or a trailing "/")';
  for (const prefix of FORBIDDEN_PREFIXES) {
    if (isUnder(normal, prefix)) return `${prefix} is a system folder`;
  }
  const segments = normal.split('/').filter(Boolean);
  for (const [i, segment] of segments.entries()) {
    if (segment === '.git') return 'files inside .git are version-control internals';
    if (CREDENTIAL_DIRS.has(segment)) return `${segment} holds credentials`;
    const named = forbiddenName(segment);
    if (named && i === segments.length - 1) return named;
  }
  for (const rel of CREDENTIAL_PATHS) {
    if (normal.includes(`/${rel}/`)) return `${rel} holds credentials`;
  }
  const openclaw = openclawStateReason(segments);
  if (openclaw) return openclaw;
  if (home && posix.isAbsolute(home)) {
    const h = posix.normalize(home);
    if (normal === h) return 'the home folder itself is not a file';
    for (const rc of ['.bashrc', '.profile', '.bash_profile', '.zshrc']) {
      if (normal === posix.join(h, rc)) return `${rc} runs at every login`;
    }
  }
  return null;
}

/**
 * Why a path holds code shared beyond any one job, which a suggestion never rewrites, or null:
 * installed packages (OpenClaw's own code among them), ProcClaw's OpenClaw runner scripts and
 * ProcClaw's own source. Unlike forbiddenReason these stay readable, so a review can still look
 * at the runner a job runs; only a write is refused. With forbiddenReason this covers ProcClaw's
 * HEALING_FORBIDDEN_PATHS_ALWAYS (test/core/path-guard.test.ts checks each of its patterns).
 */
export function sharedCodeReason(path: string): string | null {
  const segments = posix.normalize(path).split('/').filter(Boolean);
  if (segments.includes('node_modules')) return 'node_modules holds installed packages (OpenClaw\'s own code among them), never a job\'s own file';
  // ProcClaw's `~/.procclaw/scripts/oc-runner*.py`, wherever ProcClaw's home is.
  if (segments.some((s) => s.startsWith('oc-runner'))) return "oc-runner scripts are ProcClaw's OpenClaw runner, shared by every OpenClaw job";
  for (let i = 0; i + 1 < segments.length; i++) {
    if (segments[i] === 'projects' && segments[i + 1] === 'procclaw' && i + 2 < segments.length) return "it is ProcClaw's own source (projects/procclaw)";
  }
  return null;
}

/**
 * Python's fnmatch as a regular expression, the way ProcClaw matches `forbidden_paths`: `*`
 * matches any run of characters, "/" included; `?` one character; `[seq]` and `[!seq]` a set.
 */
export function fnmatchRegExp(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '*') {
      out += '.*';
      while (pattern[i + 1] === '*') i++;
    } else if (ch === '?') {
      out += '.';
    } else if (ch === '[') {
      let j = i + 1;
      if (pattern[j] === '!') j++;
      if (pattern[j] === ']') j++;
      while (j < pattern.length && pattern[j] !== ']') j++;
      if (j >= pattern.length) {
        out += '\\[';
      } else {
        let set = pattern.slice(i + 1, j).replace(/[\\\]]/g, '\\$&');
        if (set.startsWith('!')) set = `^${set.slice(1)}`;
        else if (set.startsWith('^')) set = `\\${set}`;
        out += `[${set}]`;
        i = j;
      }
    } else {
      out += ch.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
    }
  }
  return new RegExp(`^(?:${out})$`, 's');
}

/**
 * Does `path` (absolute) match one of a job's `forbidden_paths` patterns? Patterns are fnmatch
 * globs; `~/` is `home`; one ending in "/" also covers everything under that folder; a relative
 * one (`secrets/*`, `*.pem`) matches the end of the path on a "/" boundary, so it holds wherever
 * the job's files are. Answers the pattern that matched, as the job wrote it, or null.
 */
export function matchForbiddenPattern(path: string, patterns: readonly string[], home: string): string | null {
  for (const written of patterns) {
    const trimmed = written.trim();
    if (!trimmed) continue;
    const expanded = trimmed === '~' ? home : trimmed.startsWith('~/') ? posix.join(home, trimmed.slice(2)) : trimmed;
    // "./a", "a//b" and "a/../a/b" name the same place as "a/b": compare the normal form.
    const normal = posix.normalize(expanded).replace(/^\.\//, '');
    if (normal === '.' || normal.startsWith('../')) continue; // names no file below anything
    const absolute = normal.startsWith('/');
    const folder = expanded.endsWith('/') || normal.endsWith('/') ? normal.replace(/\/+$/, '') : null;
    const candidates = absolute ? [path] : path.split('/').map((_, i, parts) => parts.slice(i).join('/')).filter(Boolean);
    const exact = fnmatchRegExp(folder ?? normal);
    const under = folder !== null ? fnmatchRegExp(`${folder}/*`) : null;
    if (candidates.some((c) => exact.test(c) || (under?.test(c) ?? false))) return written;
  }
  return null;
}

/**
 * May the apply step write `target`? It must be exactly one of the job's own files (both sides
 * realpath-resolved by the caller) and never a forbidden path, even if a job lists one.
 */
export function checkWriteTarget(input: { target: string; allowed: string[]; home?: string }): GuardResult {
  const { target, allowed, home } = input;
  const forbidden = forbiddenReason(target, home);
  // Reasons name no path: the caller says which file it refused.
  if (forbidden) return { ok: false, reason: forbidden };
  if (!allowed.includes(target)) {
    return {
      ok: false,
      reason: `it is not one of the job's own files (${allowed.length ? allowed.join(', ') : 'none known'})`,
    };
  }
  return { ok: true };
}

/** Small files may be rewritten freely; below this size halving is normal editing. */
export const SHRINK_MIN_ORIGINAL_BYTES = 200;

function byteLength(text: string): number {
  return new TextEncoder().encode(text).length;
}

/** Refuses a rewrite that drops more than half of a non-trivial file: a sign of a cut-off answer. */
export function checkShrink(original: string, proposed: string): GuardResult {
  const before = byteLength(original);
  const after = byteLength(proposed);
  if (before < SHRINK_MIN_ORIGINAL_BYTES) return { ok: true };
  if (after * 2 < before) {
    return {
      ok: false,
      reason: `the new content (${after} bytes) is less than half of the original (${before} bytes); a rewrite that large is refused, edit the file by hand if it is intended`,
    };
  }
  return { ok: true };
}

/**
 * Turns a target as an analyzer wrote it into an absolute path inside `jobDir`, or null when it
 * is empty, has a NUL or control character, starts from a home folder (`~`), or escapes the folder.
 */
export function normaliseTarget(raw: string, jobDir: string): string | null {
  const text = raw.trim();
   
  if (!text || /[\u0000-\u001f\u007f]/.test(text) || text.includes('~')) return null;
  if (!posix.isAbsolute(jobDir)) return null;
  // Backslashes are path separators to whoever wrote them; ".." written either way escapes.
  if (text.split(/[\\/]+/).includes('..')) return null;
  const dir = posix.normalize(jobDir).replace(/(.)\/+$/, '$1');
  const resolved = posix.isAbsolute(text) ? posix.normalize(text) : posix.join(dir, text);
  if (resolved === dir || !isUnder(resolved, dir)) return null;
  return resolved.replace(/\/+$/, '');
}
