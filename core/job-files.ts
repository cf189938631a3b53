// Which files belong to a job: its YAML, the script its `cmd` runs, and an openclaw job's prompt.
// Pure path arithmetic; the caller resolves symlinks and checks existence.
import path from 'node:path';
import type { JobConfig } from './job.js';

const SCRIPT_EXTENSIONS = new Set(['.sh', '.bash', '.zsh', '.py', '.js', '.mjs', '.cjs', '.ts', '.rb', '.pl', '.php']);
/** Programs that run the script named after them: `python3.11 x.py` runs x.py as `python3 x.py` does. */
const INTERPRETER = /^(?:bash|sh|dash|zsh|ksh|python[\d.]*|pypy[\d.]*|node|nodejs|ruby|perl|php[\d.]*|uv|tsx|ts-node|deno|bun)$/;
const SHELLS = /^(?:bash|sh|dash|zsh|ksh)$/;
/** Programs that run the command after them: `env A=1 timeout 60 nice -n 5 python3 x.py` runs x.py. */
const WRAPPERS = new Set(['env', 'timeout', 'nice', 'nohup', 'exec', 'time', 'stdbuf', 'ionice', 'flock', 'chronic', 'caffeinate']);
/** The wrappers' options that take a value, and the wrappers whose first plain word is not the command. */
const WRAPPER_OPTION_VALUES = new Set(['-n', '-u', '-s', '-k', '-c', '--signal', '--kill-after', '-o', '-e', '-i', '-w']);
const WRAPPER_LEADING_ARGS: Record<string, number> = { timeout: 1, flock: 1 };

/** Splits a command line the way a POSIX shell would for plain words and quotes; `whole` reads past `;`, `|` and `&`. */
export function splitCommand(cmd: string, { whole = false } = {}): string[] {
  const words: string[] = [];
  let current = '';
  let quote: '"' | "'" | null = null;
  let started = false;
  for (let i = 0; i < cmd.length; i++) {
    const ch = cmd[i]!;
    if (ch === '\\' && cmd[i + 1] === '\n' && quote !== "'") {
      i++; // a line continuation, as in ProcClaw's multi-line `cmd: |` blocks
      continue;
    }
    if (quote) {
      if (ch === quote) quote = null;
      else if (ch === '\\' && quote === '"' && i + 1 < cmd.length) current += cmd[++i];
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      started = true;
    } else if (ch === '\\' && i + 1 < cmd.length) {
      current += cmd[++i];
      started = true;
    } else if (/\s/.test(ch)) {
      if (started) words.push(current);
      current = '';
      started = false;
    } else if (ch === ';' || ch === '|' || ch === '&') {
      if (!whole) break; // only the first command of a pipeline or list is the job's own script
      if (started) words.push(current);
      current = '';
      started = false;
    } else {
      current += ch;
      started = true;
    }
  }
  if (started) words.push(current);
  return words;
}

/** The script file a command runs, as an absolute path, or null when it runs none we can edit. */
export function scriptPathFromCmd(cmd: string, baseDir: string, home: string, depth = 0): string | null {
  const words = splitCommand(cmd);
  let i = 0;
  // Wrappers and VAR=value prefixes run the command after them.
  for (;;) {
    while (i < words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i]!)) i++;
    const base = path.posix.basename(words[i] ?? '');
    if (!WRAPPERS.has(base)) break;
    i++;
    while (i < words.length && words[i]!.startsWith('-')) i += WRAPPER_OPTION_VALUES.has(words[i]!) ? 2 : 1;
    i += WRAPPER_LEADING_ARGS[base] ?? 0;
  }
  for (const [k, word] of words.slice(i, i + 6).entries()) {
    if (word.startsWith('-')) {
      // `bash -c "python3 run.py"` runs the command in its argument.
      const shell = words[i + k - 1];
      if (word === '-c' && shell && SHELLS.test(path.posix.basename(shell)) && depth < 3) {
        const inner = words[i + k + 1];
        return inner ? scriptPathFromCmd(inner, baseDir, home, depth + 1) : null;
      }
      continue;
    }
    const base = path.posix.basename(word);
    if (INTERPRETER.test(base) || base === 'run') continue;
    if (SCRIPT_EXTENSIONS.has(path.posix.extname(word)) || word.startsWith('./') || word.startsWith('/') || word.startsWith('~/')) {
      return absolute(word, baseDir, home);
    }
    return null;
  }
  return null;
}

/**
 * Every file a command line names, wherever it stands (past pipes and lists, inside `bash -c`,
 * after `--opt=`): what else a job uses besides the script it runs, so a file another job's
 * command names is known to be shared, however that command spells it.
 */
export function pathsInCmd(cmd: string, baseDir: string, home: string, depth = 0): string[] {
  const found = new Set<string>();
  for (const word of splitCommand(cmd, { whole: true })) {
    if (/\s/.test(word) && depth < 3) {
      for (const inner of pathsInCmd(word, baseDir, home, depth + 1)) found.add(inner);
      continue;
    }
    const value = word.startsWith('-') && word.includes('=') ? word.slice(word.indexOf('=') + 1) : word;
    if (!value || value.startsWith('-') || /[\0\n$`*?]/.test(value)) continue;
    if (value.includes('/') || value.startsWith('~') || SCRIPT_EXTENSIONS.has(path.posix.extname(value)) || PROMPT_EXTENSION.test(value)) {
      found.add(absolute(value, baseDir, home));
    }
  }
  return [...found];
}

export function absolute(p: string, baseDir: string, home: string): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return path.resolve(home, p.slice(2));
  return path.resolve(baseDir, p);
}

export interface JobFilePaths {
  config: string;
  script: string | null;
  /** the prompt an `openclaw` job names, else its default: the first of promptCandidates */
  prompt: string | null;
  /** where the prompt may be, in order: the caller takes the first that exists (empty for other job types) */
  promptCandidates: string[];
}

const PROMPT_EXTENSION = /\.(md|txt)$/i;

/** A value that names a prompt file: one line, ending in .md or .txt. */
function promptPath(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const v = value.trim();
  return v && !/[\r\n\0]/.test(v) && PROMPT_EXTENSION.test(v) ? v : null;
}

/** The prompt file an `openclaw` command names, the way ProcClaw finds it: the first .md or .txt path in it. */
export function promptPathFromCmd(cmd: string): string | null {
  for (const word of splitCommand(cmd)) {
    // `--prompt=~/.procclaw/prompts/x.md` names it after the "="
    const value = word.startsWith('-') ? word.slice(word.indexOf('=') + 1) : word;
    if (word.startsWith('-') && !word.includes('=')) continue;
    const found = promptPath(value);
    if (found) return found;
  }
  return null;
}

/**
 * The prompt an `openclaw` job runs, as written in its config (not yet resolved): `prompt_file`,
 * else `prompt` or `openclaw.prompt_file` when they name a .md/.txt file, else a .md/.txt path in
 * its `cmd`; null when none is named (ProcClaw then uses `prompts/<id>.md`).
 */
export function namedPromptFile(config: JobConfig): string | null {
  const explicit = typeof config.prompt_file === 'string' && config.prompt_file.trim() && !/[\r\n\0]/.test(config.prompt_file) ? config.prompt_file.trim() : null;
  const openclaw = config.openclaw as unknown;
  const nested = typeof openclaw === 'object' && openclaw !== null ? promptPath((openclaw as Record<string, unknown>).prompt_file) : null;
  return explicit ?? promptPath(config.prompt) ?? nested ?? promptPathFromCmd(config.cmd);
}

/**
 * The job's own file set. `jobFile` is its YAML; the command runs in `cwd` (else the YAML's
 * folder). Only an `openclaw` job has a prompt: the one it names (see namedPromptFile), else
 * ProcClaw's `<procclawHome>/prompts/<id>.md`, else for a job `oc-<stem>` the
 * `prompts/<stem>.md` ProcClaw also gives it. A .md/.txt file is never a job's script, so a job
 * of another type cannot get a prompt edited through its `cmd`.
 */
/** Where a job's command runs: its `cwd` (relative to its YAML's folder), else that folder. */
export function jobBaseDir(job: { file: string; config: JobConfig }, home: string): string {
  return job.config.cwd ? absolute(job.config.cwd, path.dirname(job.file), home) : path.dirname(job.file);
}

export function jobFilePaths(
  job: { id: string; file: string; config: JobConfig },
  env: { home: string; procclawHome: string },
): JobFilePaths {
  const baseDir = jobBaseDir(job, env.home);
  let script = scriptPathFromCmd(job.config.cmd, baseDir, env.home);
  if (script && PROMPT_EXTENSION.test(script)) script = null;
  const promptCandidates: string[] = [];
  if (job.config.type === 'openclaw') {
    const named = namedPromptFile(job.config);
    if (named) promptCandidates.push(absolute(named, baseDir, env.home));
    else {
      promptCandidates.push(path.join(env.procclawHome, 'prompts', `${job.id}.md`));
      const stem = job.id.startsWith('oc-') ? job.id.slice(3) : '';
      if (stem) promptCandidates.push(path.join(env.procclawHome, 'prompts', `${stem}.md`));
    }
  }
  return { config: job.file, script, prompt: promptCandidates[0] ?? null, promptCandidates };
}
