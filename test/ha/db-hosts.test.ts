// HA_DB_HOSTS (each member's own database host, by member name): the config step points oned at this
// member's entry, and refuses a DB_HOST that says otherwise, or a list that does not match HA_PEERS. The
// Raft rig (raft.test.ts) runs members whose databases answer only at their HA_DB_HOSTS address.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configTrees, makeRoot, removeRoot, runEntrypoint } from '../support/entrypoint.js';
import { templateValue } from '../support/one-template.js';

const tree = configTrees().find((t) => t.version === '7.4.0')!;
const roots: string[] = [];
afterEach(() => roots.splice(0).forEach(removeRoot));

const PEERS = 'one-0=one-0.one-hl one-1=one-1.one-hl one-2=one-2.one-hl';
const DB_HOSTS = 'one-0=db-0.db-hl one-1=db-1.db-hl one-2=db-2.db-hl';
const BASE = {
  DB_BACKEND: 'mysql',
  DB_PASSWORD: 'ha-db-Pass',
  ONE_VERSION: tree.version,
  HA_PEERS: PEERS,
  HA_SERVER_NAME: 'one-1',
};

async function configure(env: Record<string, string>) {
  const root = makeRoot(tree);
  roots.push(root);
  const run = await runEntrypoint(['configure', '--root', root], { ...BASE, ...env });
  const oned = run.code === 0 ? readFileSync(join(root, 'etc/one/oned.conf'), 'utf8') : '';
  return { run, oned };
}

describe('HA_DB_HOSTS', () => {
  it("points the member's oned at its own entry when DB_HOST is unset", async () => {
    const { run, oned } = await configure({ HA_DB_HOSTS: DB_HOSTS });
    expect(run.code, run.stderr).toBe(0);
    expect((templateValue(oned, 'DB') as Record<string, string>).SERVER).toBe('db-1.db-hl');
  });

  it('accepts a DB_HOST equal to the entry', async () => {
    const { run, oned } = await configure({ HA_DB_HOSTS: DB_HOSTS, DB_HOST: 'db-1.db-hl' });
    expect(run.code, run.stderr).toBe(0);
    expect((templateValue(oned, 'DB') as Record<string, string>).SERVER).toBe('db-1.db-hl');
  });

  it('refuses a DB_HOST that differs from the entry, naming both', async () => {
    const { run } = await configure({ HA_DB_HOSTS: DB_HOSTS, DB_HOST: 'db-0.db-hl' });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/DB_HOST "db-0\.db-hl".*HA_DB_HOSTS.*one-1=db-1\.db-hl/);
  });

  it.each([
    ['a member HA_PEERS lacks', `${DB_HOSTS} one-3=db-3`, /HA_DB_HOSTS: one-3 is not in HA_PEERS/],
    ['no entry for a member', 'one-0=db-0 one-2=db-2', /HA_DB_HOSTS: no entry for one-1/],
    [
      'an entry that is not NAME=HOST',
      'one-0=db-0 one-1 one-2=db-2',
      /HA_DB_HOSTS: "one-1" is not NAME=HOST/,
    ],
    ['a member twice', `${DB_HOSTS} one-1=db-9`, /HA_DB_HOSTS: one-1 is listed twice/],
  ])('refuses %s', async (_, hosts, message) => {
    const { run } = await configure({ HA_DB_HOSTS: hosts });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(message);
  });

  it('without HA_PEERS is an error (it names members of a cluster)', async () => {
    const { run } = await configure({ HA_DB_HOSTS: DB_HOSTS, HA_PEERS: '', DB_HOST: 'db' });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/HA_DB_HOSTS is set but HA_PEERS is not/);
  });

  it('unset: DB_HOST as given (each member its own DB_HOST, as before)', async () => {
    const { run, oned } = await configure({ DB_HOST: 'mariadb.local' });
    expect(run.code, run.stderr).toBe(0);
    expect((templateValue(oned, 'DB') as Record<string, string>).SERVER).toBe('mariadb.local');
  });
});
