// Static checks of docker-compose.yml, the Dockerfile and their files, for machines without Docker.
//
//   node scripts/check-compose.mjs [--design path/to/DESIGN.md] [--docker]
//
// Exits 1 when a check fails. `--docker` also runs `docker compose config` when the compose plugin
// is available. Tests can import { checkCompose } and assert that `errors` is empty.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The Environment table of DESIGN.md, used when no DESIGN.md is found to read it from. */
export const DESIGN_ENV_NAMES = [
  'PORT',
  'DATABASE_URL',
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_CLI_PATH',
  'HEALING_JOBS_DIR',
  'HEALING_DATA_DIR',
  'HEALING_API_TOKEN',
  'OPENCLAW_BIN',
  'HEALING_ANALYZER',
];

const REQUIRED_SERVICES = ['postgres', 'temporal', 'temporal-ui', 'worker', 'api'];
const APP_SERVICES = ['worker', 'api', 'migrate'];

/** Reads the variable names of the `## Environment` table of a DESIGN.md (or another `## <heading>` table). */
export function envNamesFromDesign(text, heading = 'Environment') {
  const section = text.split(/^## /m).find((s) => s.startsWith(heading));
  if (!section) return null;
  const names = new Set();
  for (const line of section.split('\n')) {
    if (!line.startsWith('|')) continue;
    const first = line.split('|')[1] ?? '';
    for (const m of first.matchAll(/`([A-Z][A-Z0-9_]*)`/g)) names.add(m[1]);
  }
  return names.size ? [...names] : null;
}

/**
 * Compose-style interpolation of ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR?err}, $$.
 * Unset required variables become `required` entries and the placeholder "<VAR>".
 */
export function interpolate(value, env, found = { required: new Set(), bad: [] }) {
  if (typeof value !== 'string') return value;
  return value.replace(/\$(\$|\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g, (all, _x, braced, bare) => {
    if (all === '$$') return '$';
    if (bare) return env[bare] ?? '';
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?$/s.exec(braced);
    if (!m) {
      found.bad.push(all);
      return all;
    }
    const [, name, op, arg] = m;
    const v = env[name];
    const unsetOrEmpty = v === undefined || (op?.startsWith(':') && v === '');
    if (!op) return v ?? '';
    if (op.endsWith('-')) return unsetOrEmpty ? arg : v;
    if (op.endsWith('+')) return unsetOrEmpty ? '' : arg;
    if (unsetOrEmpty) {
      found.required.add(name);
      return `<${name}>`;
    }
    return v;
  });
}

function walk(value, fn) {
  if (Array.isArray(value)) return value.map((v) => walk(v, fn));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, fn)]));
  }
  return fn(value);
}

function envOf(service) {
  const env = service?.environment;
  if (!env) return {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((e) => {
      const i = String(e).indexOf('=');
      return i < 0 ? [String(e), undefined] : [String(e).slice(0, i), String(e).slice(i + 1)];
    }));
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v == null ? undefined : String(v)]));
}

function portsOf(service) {
  return (service?.ports ?? []).map((p) => {
    if (typeof p === 'object') return { host: String(p.published ?? ''), container: String(p.target ?? '') };
    const parts = String(p).split('/')[0].split(':');
    return { host: parts.length > 1 ? parts[parts.length - 2] : '', container: parts[parts.length - 1] };
  });
}

function dependsOf(service) {
  const d = service?.depends_on;
  if (!d) return {};
  if (Array.isArray(d)) return Object.fromEntries(d.map((n) => [n, { condition: 'service_started' }]));
  return d;
}

function commandOf(service) {
  const c = service?.command;
  if (c == null) return [];
  return Array.isArray(c) ? c.map(String) : String(c).split(/\s+/).filter(Boolean);
}

/**
 * @param {object} [opts]
 * @param {string} [opts.root]        repository root
 * @param {string} [opts.file]        compose file, relative to root
 * @param {string} [opts.designPath]  a DESIGN.md whose Environment table names the allowed variables
 * @param {boolean} [opts.docker]     also run `docker compose config` when available
 * @returns {{ errors: string[], warnings: string[], info: string[] }}
 */
export function checkCompose({ root = ROOT, file = 'docker-compose.yml', designPath, docker = false } = {}) {
  const errors = [];
  const warnings = [];
  const info = [];
  const rel = (p) => path.relative(root, p) || '.';

  // The allowed environment names.
  let allowed = DESIGN_ENV_NAMES;
  const designCandidates = designPath ? [designPath] : ['docs/DESIGN.md', 'DESIGN.md'].map((p) => path.join(root, p));
  const design = designCandidates.find((p) => fs.existsSync(p));
  if (design) {
    const names = envNamesFromDesign(fs.readFileSync(design, 'utf8'));
    if (names) {
      allowed = names;
      info.push(`environment names from ${design}: ${names.join(', ')}`);
      const missing = DESIGN_ENV_NAMES.filter((n) => !names.includes(n));
      const extra = names.filter((n) => !DESIGN_ENV_NAMES.includes(n));
      if (missing.length || extra.length) {
        warnings.push(`DESIGN_ENV_NAMES in scripts/check-compose.mjs is out of date with ${design}` +
          `${missing.length ? `; not in DESIGN: ${missing.join(', ')}` : ''}${extra.length ? `; new in DESIGN: ${extra.join(', ')}` : ''}`);
      }
    } else {
      errors.push(`${design} has no "## Environment" table to read variable names from`);
    }
  } else if (designPath) {
    errors.push(`${designPath} does not exist`);
  }
  // Beyond DESIGN's core set, a variable the README's Configuration table documents may be passed too.
  const readme = path.join(root, 'README.md');
  const documented = fs.existsSync(readme) ? envNamesFromDesign(fs.readFileSync(readme, 'utf8'), 'Configuration') : null;
  if (documented) allowed = [...new Set([...allowed, ...documented])];

  // Parse.
  const composePath = path.join(root, file);
  if (!fs.existsSync(composePath)) {
    errors.push(`${file} does not exist`);
    return { errors, warnings, info };
  }
  let raw;
  try {
    raw = parse(fs.readFileSync(composePath, 'utf8'), { merge: true, prettyErrors: true });
  } catch (err) {
    errors.push(`${file} is not valid YAML: ${err.message}`);
    return { errors, warnings, info };
  }
  if (!raw || typeof raw !== 'object' || !raw.services || typeof raw.services !== 'object') {
    errors.push(`${file} has no services`);
    return { errors, warnings, info };
  }
  if ('version' in raw) warnings.push(`${file}: the top-level "version" key is obsolete in Compose v2`);

  const found = { required: new Set(), bad: [] };
  const doc = walk(raw, (v) => interpolate(v, {}, found));
  for (const b of found.bad) errors.push(`${file}: malformed interpolation ${b}`);
  if (found.required.size) info.push(`variables the user must set: ${[...found.required].join(', ')}`);
  const services = doc.services;

  // Services present, and what they reference exists.
  for (const name of REQUIRED_SERVICES) {
    if (!services[name]) errors.push(`service "${name}" is missing`);
  }
  const declaredVolumes = new Set(Object.keys(doc.volumes ?? {}));
  for (const [name, svc] of Object.entries(services)) {
    if (!svc.image && !svc.build) errors.push(`service "${name}" has neither image nor build`);
    for (const [dep, spec] of Object.entries(dependsOf(svc))) {
      if (!services[dep]) errors.push(`service "${name}" depends on unknown service "${dep}"`);
      const cond = spec?.condition ?? 'service_started';
      if (cond === 'service_healthy' && services[dep] && !services[dep].healthcheck) {
        errors.push(`service "${name}" waits for "${dep}" to be healthy, but "${dep}" has no healthcheck`);
      }
    }
    for (const v of svc.volumes ?? []) {
      const spec = typeof v === 'object' ? { source: v.source, type: v.type } : { source: String(v).split(':')[0] };
      if (!spec.source) continue;
      const isPath = spec.type === 'bind' || /^[./~]/.test(spec.source);
      if (isPath) {
        const abs = path.resolve(root, spec.source);
        if (!fs.existsSync(abs)) {
          // A missing directory is created by Docker (owned by root); a missing file becomes a directory: an error.
          if (path.extname(abs)) errors.push(`service "${name}" mounts ${spec.source}, which does not exist`);
          else warnings.push(`service "${name}" mounts ${spec.source}, which does not exist yet (Docker would create it, owned by root)`);
        }
      } else if (!declaredVolumes.has(spec.source)) {
        errors.push(`service "${name}" uses volume "${spec.source}", which is not declared under volumes:`);
      }
    }
    if (svc.build) {
      const ctx = path.resolve(root, typeof svc.build === 'string' ? svc.build : (svc.build.context ?? '.'));
      const dockerfile = path.resolve(ctx, typeof svc.build === 'object' && svc.build.dockerfile ? svc.build.dockerfile : 'Dockerfile');
      if (!fs.existsSync(ctx)) errors.push(`service "${name}" builds from ${rel(ctx)}, which does not exist`);
      if (!fs.existsSync(dockerfile)) errors.push(`service "${name}" builds with ${rel(dockerfile)}, which does not exist`);
    }
  }

  // postgres
  const pg = services.postgres;
  if (pg) {
    if (!/^postgres:16(\b|[.-])/.test(String(pg.image))) errors.push(`postgres: image should be postgres:16, is ${pg.image}`);
    const hc = JSON.stringify(pg.healthcheck?.test ?? '');
    if (!hc.includes('pg_isready')) errors.push('postgres: healthcheck must use pg_isready');
    const vols = (pg.volumes ?? []).map(String);
    if (!vols.some((v) => v.split(':')[1] === '/var/lib/postgresql/data')) errors.push('postgres: no volume for /var/lib/postgresql/data');
    const init = vols.find((v) => v.includes('/docker-entrypoint-initdb.d/'));
    if (!init) errors.push('postgres: docker/postgres-init.sql is not mounted into /docker-entrypoint-initdb.d/');
  }

  // The healing database: created by the init script with the credentials DATABASE_URL uses.
  const initSql = path.join(root, 'docker', 'postgres-init.sql');
  const urls = APP_SERVICES.filter((s) => services[s]).map((s) => [s, envOf(services[s]).DATABASE_URL]);
  if (fs.existsSync(initSql)) {
    const sql = fs.readFileSync(initSql, 'utf8');
    for (const [s, url] of urls) {
      if (!url) { errors.push(`${s}: DATABASE_URL is not set`); continue; }
      let u;
      try { u = new URL(url); } catch { errors.push(`${s}: DATABASE_URL is not a URL: ${url}`); continue; }
      const db = u.pathname.replace(/^\//, '');
      if (u.hostname !== 'postgres') errors.push(`${s}: DATABASE_URL should point at the postgres service, points at ${u.hostname}`);
      if (!new RegExp(`CREATE\\s+DATABASE\\s+"?${db}"?\\b`, 'i').test(sql)) errors.push(`${s}: database "${db}" is not created by docker/postgres-init.sql`);
      if (!new RegExp(`CREATE\\s+(ROLE|USER)\\s+"?${u.username}"?\\b[^;]*PASSWORD\\s+'${decodeURIComponent(u.password)}'`, 'i').test(sql)) {
        errors.push(`${s}: user "${u.username}" with DATABASE_URL's password is not created by docker/postgres-init.sql`);
      }
    }
  } else {
    errors.push('docker/postgres-init.sql does not exist');
  }

  // temporal
  const t = services.temporal;
  if (t) {
    if (!/^temporalio\/(auto-setup|server):1\.29(\b|[.-])/.test(String(t.image))) errors.push(`temporal: image should be temporalio/server:1.29.x, is ${t.image}`);
    const e = envOf(t);
    const want = { DB: 'postgres12', POSTGRES_SEEDS: 'postgres' };
    for (const [k, v] of Object.entries(want)) if (e[k] !== v) errors.push(`temporal: ${k} should be ${v}, is ${e[k]}`);
    for (const k of ['DB_PORT', 'POSTGRES_USER', 'POSTGRES_PWD']) if (!e[k]) errors.push(`temporal: ${k} is not set`);
    if (pg) {
      const pge = envOf(pg);
      if (e.POSTGRES_USER !== pge.POSTGRES_USER) errors.push('temporal: POSTGRES_USER differs from the postgres service\'s');
      if (e.POSTGRES_PWD !== pge.POSTGRES_PASSWORD) errors.push('temporal: POSTGRES_PWD differs from the postgres service\'s POSTGRES_PASSWORD');
    }
    if (dependsOf(t).postgres?.condition !== 'service_healthy') errors.push('temporal: must depend on postgres with condition service_healthy');
  }

  // temporal-ui
  const ui = services['temporal-ui'];
  if (ui) {
    if (!String(ui.image).startsWith('temporalio/ui')) errors.push(`temporal-ui: image should be temporalio/ui, is ${ui.image}`);
    if (envOf(ui).TEMPORAL_ADDRESS !== 'temporal:7233') errors.push('temporal-ui: TEMPORAL_ADDRESS should be temporal:7233');
    if (!portsOf(ui).some((p) => p.host === '8233' && p.container === '8080')) errors.push('temporal-ui: port 8233 should map to 8080');
  }

  // worker, api (and migrate): environment as DESIGN names it.
  for (const s of APP_SERVICES) {
    const svc = services[s];
    if (!svc) continue;
    const e = envOf(svc);
    for (const k of Object.keys(e)) {
      if (!allowed.includes(k)) errors.push(`${s}: environment variable ${k} is neither in DESIGN's Environment table nor in the README's Configuration table`);
    }
    const cmd = commandOf(svc);
    const sub = s === 'migrate' ? 'migrate' : s;
    if (!(cmd.includes('cli/healing.ts') && cmd.includes(sub))) errors.push(`${s}: command should run cli/healing.ts ${sub}, is ${JSON.stringify(cmd)}`);
    if (s === 'migrate') continue;
    const want = { TEMPORAL_ADDRESS: 'temporal:7233', HEALING_JOBS_DIR: '/jobs', HEALING_DATA_DIR: '/data' };
    for (const [k, v] of Object.entries(want)) if (e[k] !== v) errors.push(`${s}: ${k} should be ${v}, is ${e[k]}`);
    const vols = (svc.volumes ?? []).map(String);
    if (!vols.some((v) => v.split(':')[1] === '/jobs')) errors.push(`${s}: nothing is mounted at /jobs`);
    if (!vols.some((v) => v.split(':')[1] === '/data')) errors.push(`${s}: nothing is mounted at /data`);
  }
  const api = services.api;
  if (api) {
    if (!('HEALING_API_TOKEN' in envOf(api))) errors.push('api: HEALING_API_TOKEN is not passed through');
    if (!portsOf(api).some((p) => p.host === '3000' && p.container === '3000')) errors.push('api: port 3000 should map to 3000');
  }

  // Dockerfile and build context.
  const dockerfile = path.join(root, 'Dockerfile');
  if (fs.existsSync(dockerfile)) {
    const text = fs.readFileSync(dockerfile, 'utf8');
    if (!/node:20-bookworm-slim/.test(text)) errors.push('Dockerfile: base image should be node:20-bookworm-slim');
    if (!/\bnpm ci\b/.test(text)) errors.push('Dockerfile: dependencies should be installed with npm ci');
    if (/\bnpm (install|i)\b/.test(text)) errors.push('Dockerfile: npm install would hide a lock out of sync with package.json; use npm ci only');
    if (!/\bnpm run build:web\b/.test(text)) errors.push('Dockerfile: the dashboard should be built (npm run build:web)');
    for (const m of text.matchAll(/^COPY\s+(?!--from)(.+)$/gm)) {
      const parts = m[1].trim().split(/\s+/).filter((p) => !p.startsWith('--'));
      for (const src of parts.slice(0, -1)) {
        if (src !== '.' && !fs.existsSync(path.join(root, src))) errors.push(`Dockerfile copies ${src}, which does not exist`);
      }
    }
  }
  if (!fs.existsSync(path.join(root, 'cli', 'healing.ts'))) warnings.push('cli/healing.ts does not exist yet: the images would not start');

  const ignore = path.join(root, '.dockerignore');
  if (fs.existsSync(ignore)) {
    const lines = fs.readFileSync(ignore, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    for (const keep of ['package.json', 'package-lock.json', 'cli', 'core', 'db', 'activities', 'workflows', 'worker', 'api', 'migrations', 'web']) {
      if (lines.includes(keep) || lines.includes(`${keep}/`) || lines.includes(`/${keep}`)) errors.push(`.dockerignore excludes ${keep}, which the image needs`);
    }
    if (!lines.some((l) => /^(\*\*\/)?node_modules\/?$/.test(l))) errors.push('.dockerignore should exclude node_modules');
  } else {
    errors.push('.dockerignore does not exist');
  }

  // The real thing, when it is installed.
  if (docker) {
    const version = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
    if (version.status === 0) {
      const env = { ...process.env };
      for (const name of found.required) env[name] ??= 'check-compose-placeholder';
      const r = spawnSync('docker', ['compose', '-f', composePath, 'config', '--quiet'], { cwd: root, env, encoding: 'utf8' });
      if (r.status === 0) info.push('docker compose config: ok');
      else errors.push(`docker compose config failed:\n${(r.stderr || r.stdout).trim()}`);
    } else {
      info.push('docker compose is not available here: only the static checks ran');
    }
  }

  return { errors, warnings, info };
}

const isMain = (() => {
  try {
    return !!process.argv[1] && fs.realpathSync(process.argv[1]) === fs.realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
})();
if (isMain) {
  const args = process.argv.slice(2);
  const di = args.indexOf('--design');
  const designPath = di >= 0 ? path.resolve(args[di + 1] ?? '') : undefined;
  const { errors, warnings, info } = checkCompose({ designPath, docker: args.includes('--docker') });
  for (const i of info) console.log(`[check-compose] ${i}`);
  for (const w of warnings) console.log(`[check-compose] warning: ${w}`);
  for (const e of errors) console.log(`[check-compose] error: ${e}`);
  console.log(`[check-compose] ${errors.length ? `${errors.length} error(s)` : 'ok'}`);
  process.exitCode = errors.length ? 1 : 0;
}
