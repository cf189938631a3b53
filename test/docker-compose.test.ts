// docker-compose.yml's Temporal, checked where Docker does not run: the schema job, the server, the
// namespace job and the order the worker and API start in. (scripts/check-compose.mjs, run by
// test/deploy.test.ts, checks the rest: volumes, the healing database, DESIGN's variables.)
import { execFile } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const run = promisify(execFile);

interface Service {
  image?: string;
  build?: unknown;
  restart?: string;
  depends_on?: Record<string, { condition: string }>;
  environment?: Record<string, string | number>;
  healthcheck?: { test: string[] };
  volumes?: string[];
  entrypoint?: string[];
  ports?: string[];
}
let services: Record<string, Service>;

beforeAll(async () => {
  services = (parse(await readFile(path.join(ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, Service> }).services;
});

const env = (name: string) => services[name]?.environment ?? {};
/** The tag an image gets when its variable is unset: `temporalio/server:${TEMPORAL_VERSION:-1.29.7}` → 1.29.7. */
const defaultTag = (name: string) => /:-([^}]+)\}$/.exec(String(services[name]?.image))?.[1] ?? '';
/** The host file a service runs as its entrypoint script, mounted read-only. */
function mountedScript(name: string): string {
  const script = services[name]?.entrypoint?.at(-1) as string;
  const mount = (services[name]?.volumes ?? []).find((v) => v.split(':')[1] === script);
  expect(mount, `${name} mounts ${script}`).toBeDefined();
  expect(mount?.endsWith(':ro')).toBe(true);
  return path.join(ROOT, (mount as string).split(':')[0] as string);
}

describe('docker-compose.yml', () => {
  it('when a service waits for another, the other can give what it waits for: a healthcheck, or a one-shot job that exits', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        const other = services[dependency];
        expect(other, `${name} depends on ${dependency}`).toBeDefined();
        if (condition === 'service_healthy') expect(other?.healthcheck?.test, `${dependency} has a healthcheck for ${name}`).toBeDefined();
        else if (condition === 'service_completed_successfully') expect(other?.restart, `${dependency} runs once for ${name}`).toBe('no');
        else throw new Error(`${name} waits for ${dependency} with condition ${condition}: only healthy and completed are meant`);
      }
    }
  });

  it('runs Temporal as temporalio/server after a temporalio/admin-tools schema job, not the deprecated auto-setup', () => {
    expect(services.temporal?.image).toMatch(/^temporalio\/server:/);
    expect(Object.values(services).map((s) => s.image)).not.toContainEqual(expect.stringContaining('auto-setup'));
    expect(services['temporal-schema']?.image).toMatch(/^temporalio\/admin-tools:/);
    expect(services['temporal-namespace']?.image).toBe(services['temporal-schema']?.image);
    // the schema job's tools and the server are the same release (defaults: 1.29.7 and 1.29.7-tctl-…)
    expect(defaultTag('temporal')).toMatch(/^1\.\d+\.\d+$/);
    expect(defaultTag('temporal-schema').startsWith(`${defaultTag('temporal')}-`)).toBe(true);
    expect(services.temporal?.depends_on?.['temporal-schema']?.condition).toBe('service_completed_successfully');
    expect(services['temporal-schema']?.depends_on?.postgres?.condition).toBe('service_healthy');
  });

  it('the schema job and the server reach the same Postgres with its superuser and password, with the postgres12 plugin', () => {
    const postgres = env('postgres');
    expect(env('temporal-schema')).toMatchObject({ SQL_PLUGIN: 'postgres12', SQL_HOST: 'postgres', SQL_PORT: 5432, SQL_USER: postgres.POSTGRES_USER, SQL_PASSWORD: postgres.POSTGRES_PASSWORD });
    expect(env('temporal')).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgres', DB_PORT: 5432, POSTGRES_USER: postgres.POSTGRES_USER, POSTGRES_PWD: postgres.POSTGRES_PASSWORD, BIND_ON_IP: '0.0.0.0' });
  });

  it('the schema script creates and migrates both temporal and temporal_visibility, and the scripts parse as sh', async () => {
    const schemaScript = mountedScript('temporal-schema');
    const text = await readFile(schemaScript, 'utf8');
    expect(text).toContain('for pair in temporal:temporal visibility:temporal_visibility');
    for (const step of ['create-database', 'setup-schema -v 0.0', 'update-schema -d "$SCHEMA_ROOT/$schema/versioned"']) expect(text).toContain(step);
    expect(text).toContain('SCHEMA_ROOT=/etc/temporal/schema/postgresql/v12');
    expect(text).toMatch(/^set -eu$/m);
    const namespaceScript = mountedScript('temporal-namespace');
    for (const script of [schemaScript, namespaceScript]) {
      await access(script);
      await expect(run('sh', ['-n', script])).resolves.toBeDefined();
    }
  });

  it('the worker and the API start only once the namespace they use exists and the healing database is migrated', () => {
    expect(env('temporal-namespace')).toMatchObject({ TEMPORAL_ADDRESS: 'temporal:7233' });
    for (const name of ['worker', 'api']) {
      expect(services[name]?.depends_on).toMatchObject({
        'temporal-namespace': { condition: 'service_completed_successfully' },
        migrate: { condition: 'service_completed_successfully' },
        temporal: { condition: 'service_healthy' },
      });
      expect(env('temporal-namespace').NAMESPACE).toBe(env(name).TEMPORAL_NAMESPACE);
      expect(env(name).TEMPORAL_ADDRESS).toBe('temporal:7233');
    }
    expect(services['temporal-ui']?.depends_on?.temporal?.condition).toBe('service_healthy');
  });

  it('start-up order has no cycle: postgres, schema, server, namespace, then worker and API', () => {
    const order: string[] = [];
    const visiting = new Set<string>();
    const visit = (name: string) => {
      if (order.includes(name)) return;
      if (visiting.has(name)) throw new Error(`depends_on cycle through ${name}`);
      visiting.add(name);
      for (const dependency of Object.keys(services[name]?.depends_on ?? {})) visit(dependency);
      visiting.delete(name);
      order.push(name);
    };
    for (const name of Object.keys(services)) visit(name);
    const at = (name: string) => order.indexOf(name);
    expect(at('postgres')).toBeLessThan(at('temporal-schema'));
    expect(at('temporal-schema')).toBeLessThan(at('temporal'));
    expect(at('temporal')).toBeLessThan(at('temporal-namespace'));
    for (const name of ['worker', 'api']) expect(at('temporal-namespace')).toBeLessThan(at(name));
  });
});
