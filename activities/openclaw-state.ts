// Each OpenClaw turn (an analysis or an AI rewrite) runs in a state folder of its own, which the
// service creates under its data folder and deletes when the turn ends. Its config is layered on
// the user's: their model setup (providers, keys, default model) is copied in, read-only, and
// `tools: { deny: ["*"] }` is forced whatever their config says, so the model is offered no tool
// that reads, writes or runs anything on this machine. A folder per turn also means the user's
// running Gateway (which holds their own state folder) and concurrent turns never collide, and a
// turn's session is deleted with its folder instead of piling up in the user's state.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import JSON5 from 'json5';
import type { AnalyzerSettings } from './deps.js';

type Obj = Record<string, unknown>;

/** What every turn's config says about tools: deny wins over any allow, and `*` is every tool. */
export const DENY_ALL_TOOLS = { deny: ['*'] } as const;

/** A turn's setup could not be made safe or could not read the user's OpenClaw setup. */
export class OpenClawSetupError extends Error {
  override name = 'OpenClawSetupError';
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

// ---------------------------------------------------------------------------------------------
// The user's OpenClaw setup, found the way the CLI finds it

export interface UserOpenClaw {
  stateDir: string;
  configPath: string;
}

/** OPENCLAW_CONFIG_PATH, else openclaw.json in OPENCLAW_STATE_DIR, else in ~/.openclaw (or ~/.openclaw-<OPENCLAW_PROFILE>). */
export function userOpenClaw(env: NodeJS.ProcessEnv, home: string): UserOpenClaw {
  const set = (name: string) => (env[name]?.trim() ? env[name]!.trim() : null);
  const tilde = (p: string, base: string) => (p === '~' || p.startsWith('~/') ? path.join(base, p.slice(1)) : p);
  const userHome = tilde(set('OPENCLAW_HOME') ?? home, home);
  const profile = set('OPENCLAW_PROFILE');
  const stateDir = path.resolve(tilde(set('OPENCLAW_STATE_DIR') ?? path.join(userHome, profile && profile !== 'default' ? `.openclaw-${profile}` : '.openclaw'), userHome));
  const configPath = path.resolve(tilde(set('OPENCLAW_CONFIG_PATH') ?? path.join(stateDir, 'openclaw.json'), userHome));
  return { stateDir, configPath };
}

/** The user's config ({} when there is none), with the `$include`s of the sections a turn takes resolved. */
export async function readUserConfig(user: UserOpenClaw): Promise<Obj> {
  const config = await readConfigFile(user.configPath, false);
  const taken: Obj = {};
  for (const key of TAKEN_SECTIONS) {
    if (config[key] !== undefined) taken[key] = await resolveIncludes(config[key], path.dirname(user.configPath), 0);
  }
  return taken;
}

async function readConfigFile(file: string, required: boolean): Promise<Obj> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !required) return {};
    throw new OpenClawSetupError(`cannot read the OpenClaw config ${file}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON5.parse(text);
  } catch (error) {
    throw new OpenClawSetupError(`cannot read the OpenClaw config ${file}: ${(error as Error).message}`);
  }
  if (!isObj(value)) throw new OpenClawSetupError(`the OpenClaw config ${file} is not an object`);
  return value;
}

const MAX_INCLUDE_DEPTH = 10;

/** `{ $include: file | files, ...siblings }`: the files deep-merged in order, then the siblings over them (OpenClaw's rule). */
async function resolveIncludes(value: unknown, dir: string, depth: number): Promise<unknown> {
  if (Array.isArray(value)) return Promise.all(value.map((v) => resolveIncludes(v, dir, depth)));
  if (!isObj(value)) return value;
  const { $include: include, ...siblings } = value;
  let merged: Obj = {};
  if (include !== undefined) {
    if (depth >= MAX_INCLUDE_DEPTH) throw new OpenClawSetupError(`the OpenClaw config nests $include more than ${MAX_INCLUDE_DEPTH} levels deep`);
    const files = Array.isArray(include) ? include : [include];
    for (const name of files) {
      if (typeof name !== 'string') throw new OpenClawSetupError('an $include of the OpenClaw config is not a file name');
      const file = path.resolve(dir, name);
      merged = deepMerge(merged, await resolveIncludes(await readConfigFile(file, true), path.dirname(file), depth + 1));
    }
  }
  const resolved: Obj = {};
  for (const [k, v] of Object.entries(siblings)) resolved[k] = await resolveIncludes(v, dir, depth);
  return deepMerge(merged, resolved);
}

function deepMerge(base: unknown, over: unknown): Obj {
  const out: Obj = isObj(base) ? { ...base } : {};
  if (!isObj(over)) return out;
  for (const [k, v] of Object.entries(over)) out[k] = isObj(v) && isObj(out[k]) ? deepMerge(out[k], v) : v;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Keys saved as auth profiles (`openclaw onboard`, `openclaw models auth paste-api-key`)

export interface ApiKeyProfile {
  provider: string;
  /** the key, or a SecretRef the config's `secrets` providers resolve */
  key: unknown;
}

/**
 * OpenClaw keeps saved keys in SQLite: the shared store in `<state>/state/openclaw.sqlite`, and
 * per agent in `<agentDir>/openclaw-agent.sqlite`, which overrides it. Read-only, with the CLI's
 * own Node (this service's Node 20 has no node:sqlite). Only API keys are taken: an OAuth or token
 * sign-in refreshed by a turn would rotate out from under the user's own OpenClaw.
 */
const READ_PROFILE_STORES = `
const { DatabaseSync } = require('node:sqlite');
const out = [];
for (const [file, query] of JSON.parse(process.argv[1])) {
  const db = new DatabaseSync(file, { readOnly: true });
  try { for (const row of db.prepare(query).all()) out.push(row.json); }
  catch (error) { if (!/no such table/.test(String(error && error.message))) throw error; }
  finally { db.close(); }
}
process.stdout.write(JSON.stringify(out));
`;
const SHARED_STORE_QUERY = "select value_json as json from config_machine_state where state_key = 'authProfiles.store'";
const AGENT_STORE_QUERY = 'select store_json as json from auth_profile_store';

export async function readApiKeyProfiles(user: UserOpenClaw, config: Obj, agent: string, node: string | null): Promise<Record<string, ApiKeyProfile>> {
  const entry = at(config, 'agents', 'entries', agent);
  const agentDir = typeof at(entry, 'agentDir') === 'string' ? path.resolve(user.stateDir, String(at(entry, 'agentDir'))) : path.join(user.stateDir, 'agents', agent, 'agent');
  const stores: [string, string][] = [
    [path.join(user.stateDir, 'state', 'openclaw.sqlite'), SHARED_STORE_QUERY],
    // Before `openclaw doctor --fix` moves it, the shared store lives in the main agent's database.
    [path.join(user.stateDir, 'agents', 'main', 'agent', 'openclaw-agent.sqlite'), AGENT_STORE_QUERY],
    [path.join(agentDir, 'openclaw-agent.sqlite'), AGENT_STORE_QUERY],
  ];
  const present = stores.filter(([file], i) => existsSync(file) && stores.findIndex(([f]) => f === file) === i);
  if (present.length === 0) return {};
  let stdout: string;
  try {
    ({ stdout } = await promisify(execFile)(node ?? 'node', ['--no-warnings', '-e', READ_PROFILE_STORES, JSON.stringify(present)], { timeout: 15_000, maxBuffer: 4 * 1024 * 1024 }));
  } catch (error) {
    const stderr = ((error as { stderr?: string }).stderr ?? '').split('\n');
    const why = stderr.find((l) => /^\w*Error\b/.test(l))?.trim() ?? (error as Error).message.split('\n')[0];
    throw new OpenClawSetupError(
      `cannot read the keys OpenClaw saved in ${user.stateDir} (${why}); set OPENCLAW_NODE to the Node >= 24.16 that runs openclaw`,
    );
  }
  const profiles: Record<string, ApiKeyProfile> = {};
  for (const json of JSON.parse(stdout) as unknown[]) {
    const store = typeof json === 'string' ? (JSON.parse(json) as unknown) : null;
    for (const [id, p] of Object.entries(isObj(at(store, 'profiles')) ? (at(store, 'profiles') as Obj) : {})) {
      if (!isObj(p) || p.type !== 'api_key' || typeof p.provider !== 'string') continue;
      const key = p.key ?? p.keyRef;
      if (key !== undefined) profiles[id] = { provider: p.provider, key };
    }
  }
  return profiles;
}

// ---------------------------------------------------------------------------------------------
// The turn's config

/** The sections of the user's config a turn takes; channels, gateway, plugins, tools and the rest stay behind. */
const TAKEN_SECTIONS = ['models', 'agents', 'auth', 'secrets', 'env'] as const;
/** What a turn takes of `agents.defaults` and of the agent it runs as: the model choice, nothing that runs things. */
const TAKEN_AGENT_FIELDS = ['model', 'models', 'params'];

function at(value: unknown, ...keys: string[]): unknown {
  let v = value;
  for (const k of keys) v = isObj(v) ? v[k] : undefined;
  return v;
}

function pick(value: unknown, keys: string[]): Obj | null {
  if (!isObj(value)) return null;
  const out = Object.fromEntries(keys.filter((k) => value[k] !== undefined).map((k) => [k, value[k]]));
  return Object.keys(out).length > 0 ? out : null;
}

/** Providers of the model refs (`provider/model`) a model setting names: a string or `{ primary, fallbacks }`. */
function refProviders(model: unknown): string[] {
  const refs = typeof model === 'string' ? [model] : isObj(model) ? [model.primary, ...(Array.isArray(model.fallbacks) ? model.fallbacks : [])] : [];
  return refs.flatMap((r) => (typeof r === 'string' && r.includes('/') ? [r.slice(0, r.indexOf('/'))] : []));
}

/**
 * The config a turn runs with: the user's models, auth, secrets and env sections, their default
 * model (and the `agent`'s, when one is named), each provider in use given its saved API key, and
 * every tool denied. `user` is what readUserConfig answered.
 */
export function layerTurnConfig(user: Obj, opts: { agent: string | null; apiKeys: Record<string, ApiKeyProfile> }): Obj {
  const models: Obj = isObj(user.models) ? structuredClone(user.models) : {};
  const providers: Obj = isObj(models.providers) ? models.providers : {};
  const defaults = pick(at(user, 'agents', 'defaults'), TAKEN_AGENT_FIELDS);
  const entry = opts.agent ? pick(at(user, 'agents', 'entries', opts.agent), TAKEN_AGENT_FIELDS) : null;
  const inUse = new Set([...Object.keys(providers), ...refProviders(defaults?.model), ...refProviders(entry?.model)]);
  const order = at(user, 'auth', 'order');
  for (const provider of inUse) {
    const configured = at(providers, provider, 'apiKey');
    // A configured key that names a saved profile is replaced by that profile's key; a literal,
    // `${VAR}` or SecretRef key stays as the user wrote it.
    const named = typeof configured === 'string' ? opts.apiKeys[configured] : undefined;
    if (configured !== undefined && !named) continue;
    const ordered = isObj(order) && Array.isArray(order[provider]) ? (order[provider] as unknown[]) : [];
    const chosen =
      named ??
      ordered.map((id) => (typeof id === 'string' ? opts.apiKeys[id] : undefined)).find((p) => p?.provider === provider) ??
      Object.values(opts.apiKeys).find((p) => p.provider === provider);
    if (chosen) providers[provider] = { ...(isObj(providers[provider]) ? providers[provider] : {}), apiKey: chosen.key };
  }
  if (Object.keys(providers).length > 0) models.providers = providers;
  const agents: Obj = {};
  if (defaults) agents.defaults = defaults;
  if (entry && opts.agent) agents.entries = { [opts.agent]: entry };
  return {
    ...(Object.keys(models).length > 0 ? { models } : {}),
    ...(Object.keys(agents).length > 0 ? { agents } : {}),
    ...(user.auth !== undefined ? { auth: user.auth } : {}),
    ...(user.secrets !== undefined ? { secrets: user.secrets } : {}),
    ...(user.env !== undefined ? { env: user.env } : {}),
    tools: { ...DENY_ALL_TOOLS },
  };
}

/** Why `text` (a written turn config) does not deny every tool to every agent, or null when it does. */
export function toolsGuaranteeProblem(text: string): string | null {
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (error) {
    return `the turn's config does not parse: ${(error as Error).message}`;
  }
  const tools = at(config, 'tools');
  if (!isObj(tools) || !Array.isArray(tools.deny) || !tools.deny.includes('*')) return 'the turn\'s config does not carry tools: { deny: ["*"] }';
  const entries = at(config, 'agents', 'entries');
  const withTools = isObj(entries) ? Object.keys(entries).filter((id) => at(entries, id, 'tools') !== undefined) : [];
  return withTools.length > 0 ? `the turn's config gives agent(s) ${withTools.join(', ')} tools of their own` : null;
}

// ---------------------------------------------------------------------------------------------
// A turn's folder

export interface TurnFolder {
  dir: string;
  /** the prompt, passed by --message-file (never in argv, where every user of the machine can read it) */
  messageFile: string;
  /** the environment the CLI runs with */
  env: NodeJS.ProcessEnv;
  /** the model the config asks for (`provider/model`, or an alias), for the record when the CLI does not say */
  model: string | null;
  /** deletes the folder, with the session the turn wrote and its lock files */
  remove(): Promise<void>;
}

/** Where turn folders go: under the service's data folder, else (activities called directly, in tests) the system temp folder. */
function turnsRoot(settings: AnalyzerSettings): string {
  return settings.stateRoot ? path.join(settings.stateRoot, 'turns') : os.tmpdir();
}

/** OpenClaw variables of the worker's environment a turn keeps: the rest would point it at the user's state, Gateway or profile. */
const KEPT_OPENCLAW_VARS = new Set(['OPENCLAW_LOAD_SHELL_ENV', 'OPENCLAW_SHELL_ENV_TIMEOUT_MS']);

/** Whether a variable of the worker's environment reaches the CLI. VITEST*: under vitest the CLI runs the turn but prints nothing. */
function keptVariable(name: string): boolean {
  if (name.startsWith('OPENCLAW_')) return KEPT_OPENCLAW_VARS.has(name);
  return !name.startsWith('VITEST');
}

/** The primary model a turn's config asks for: the agent's, else the default. */
function primaryModel(config: Obj, agent: string | null): string | null {
  const model = (agent ? at(config, 'agents', 'entries', agent, 'model') : undefined) ?? at(config, 'agents', 'defaults', 'model');
  const primary = isObj(model) ? model.primary : model;
  return typeof primary === 'string' && primary.trim() ? primary : null;
}

/** Builds the turn's config from the user's and writes it; answers the config. */
async function writeTurnConfig(settings: AnalyzerSettings, dir: string, env: NodeJS.ProcessEnv, home: string): Promise<Obj> {
  const user = userOpenClaw(env, home);
  const config = await readUserConfig(user);
  const apiKeys = await readApiKeyProfiles(user, config, settings.agent ?? 'main', settings.openclawNode ?? null);
  const layered = layerTurnConfig(config, { agent: settings.agent, apiKeys });
  const text = `${JSON.stringify(layered, null, 2)}\n`;
  const problem = toolsGuaranteeProblem(text);
  if (problem) throw new OpenClawSetupError(`refusing to run openclaw: ${problem}`);
  await writeFile(path.join(dir, 'openclaw.json'), text, { mode: 0o600, flag: 'wx' });
  // Keys may live in the state folder's .env, which the CLI reads from its own state folder.
  const dotEnv = path.join(user.stateDir, '.env');
  if (existsSync(dotEnv)) {
    await copyFile(dotEnv, path.join(dir, '.env'));
    await chmod(path.join(dir, '.env'), 0o600);
  }
  return layered;
}

/** The folder OpenClaw keeps an agent's files in: its id made filesystem-safe the CLI's way (`main` when none is left). */
function agentFolderName(agent: string | null): string {
  const id = (agent ?? '').trim().toLowerCase();
  return id.replace(/[^a-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 64) || 'main';
}

/**
 * The embedded agent's own settings (`agents/<id>/agent/settings.json`, not openclaw.json): no
 * provider retries. OpenClaw's default retries a 429, a 500 or a broken stream for 90-160 s
 * whatever --timeout says, so the review would time out instead of failing at once with the
 * provider's own reason (a review can be triggered again; another turn costs as many tokens).
 */
async function writeAgentSettings(dir: string, agent: string | null): Promise<void> {
  const agentDir = path.join(dir, 'agents', agentFolderName(agent), 'agent');
  await mkdir(agentDir, { recursive: true, mode: 0o700 });
  await writeFile(path.join(agentDir, 'settings.json'), `${JSON.stringify({ retry: { provider: { maxRetries: 0 } } })}\n`, { mode: 0o600, flag: 'wx' });
}

/**
 * Creates a turn's folder (0700) with its config and the prompt (0600 files), and the CLI's
 * environment: state and config in the folder, the config read-only to the CLI, no update or
 * Bonjour, the CLI's Node first on PATH.
 */
export async function openTurn(settings: AnalyzerSettings, sessionId: string, message: string, env: NodeJS.ProcessEnv = process.env, home = os.homedir()): Promise<TurnFolder> {
  const root = turnsRoot(settings);
  await mkdir(root, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(path.join(root, `${sessionId}-`));
  const remove = () => removeTurnFolder(dir);
  try {
    const config = await writeTurnConfig(settings, dir, env, home);
    await writeAgentSettings(dir, settings.agent);
    const messageFile = path.join(dir, 'prompt.txt');
    await writeFile(messageFile, message, { mode: 0o600, flag: 'wx' });
    const kept = Object.fromEntries(Object.entries(env).filter(([k]) => keptVariable(k)));
    return {
      dir,
      messageFile,
      remove,
      model: primaryModel(config, settings.agent),
      env: withNodeOnPath(
        {
          ...kept,
          OPENCLAW_STATE_DIR: dir,
          OPENCLAW_CONFIG_PATH: path.join(dir, 'openclaw.json'),
          OPENCLAW_CONFIG_READONLY: '1',
          OPENCLAW_NO_AUTO_UPDATE: '1',
          OPENCLAW_DISABLE_BONJOUR: '1',
          OPENCLAW_LOG_LEVEL: 'warn',
          NO_COLOR: '1',
        },
        settings.openclawNode ?? null,
      ),
    };
  } catch (error) {
    await remove();
    throw error;
  }
}

/** `env`'s PATH with the CLI's Node first, so its `#!/usr/bin/env node` finds that one. */
export function withNodeOnPath(env: NodeJS.ProcessEnv, node: string | null): NodeJS.ProcessEnv {
  return node ? { ...env, PATH: [path.dirname(node), env.PATH].filter(Boolean).join(path.delimiter) } : env;
}

/**
 * Deletes a turn's folder and the lock files the CLI keeps for it in /tmp/openclaw-state-locks-<uid>/,
 * named after a hash of the folder's state database (one set per state folder, so per turn).
 */
async function removeTurnFolder(dir: string): Promise<void> {
  const database = path.join(await realpath(dir).catch(() => dir), 'state', 'openclaw.sqlite');
  await rm(dir, { recursive: true, force: true });
  const locks = path.join('/tmp', `openclaw-state-locks${typeof process.getuid === 'function' ? `-${process.getuid()}` : ''}`);
  const suffix = `.${createHash('sha256').update(database).digest('hex').slice(0, 8)}.lock.sqlite`;
  const names = await readdir(locks).catch(() => [] as string[]);
  await Promise.all(names.filter((n) => n.endsWith(suffix)).map((n) => rm(path.join(locks, n), { force: true })));
}

/**
 * The start-up check, repeated before `auto` picks openclaw: the user's OpenClaw config can be
 * layered and the result denies every tool. Answers why the openclaw analyzer cannot be used
 * safely, or null when it can.
 */
export async function checkTurnSetup(settings: AnalyzerSettings, env: NodeJS.ProcessEnv = process.env, home = os.homedir()): Promise<string | null> {
  const probe = await mkdtemp(path.join(os.tmpdir(), 'healing-openclaw-check-'));
  try {
    await writeTurnConfig(settings, probe, env, home);
    return toolsGuaranteeProblem(await readFile(path.join(probe, 'openclaw.json'), 'utf8'));
  } catch (error) {
    return (error as Error).message;
  } finally {
    await rm(probe, { recursive: true, force: true });
  }
}

/** Deletes the turn folders a crashed worker left: older than `maxTurnMs`, which no turn outlives. */
export async function removeStaleTurns(settings: AnalyzerSettings, maxTurnMs: number): Promise<number> {
  if (!settings.stateRoot) return 0;
  const root = path.join(settings.stateRoot, 'turns');
  let removed = 0;
  for (const name of await readdir(root).catch(() => [] as string[])) {
    const dir = path.join(root, name);
    const info = await stat(dir).catch(() => null);
    if (info && Date.now() - info.mtimeMs > maxTurnMs) {
      await removeTurnFolder(dir);
      removed++;
    }
  }
  return removed;
}
