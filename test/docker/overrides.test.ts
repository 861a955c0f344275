// The operator's configuration (docker/README.md, "Your own configuration"): the overrides directory applied
// on top of OpenNebula's pristine files (files/ then edits/ then the environment), on the 7.0, 7.2 and 7.4
// trees (OpenNebula's real files when ../shared/upstream is present); every override that cannot apply is
// refused naming its file and key, with /etc/one left as it was; and an upgrade carries it forward.
import { lstatSync, mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { configTrees, removeRoot, runEntrypoint, type ConfigTree } from '../support/entrypoint.js';
import {
  etcSnapshot,
  installPristine,
  seededRoot,
  writeOverrides,
  type Overrides,
} from '../support/etc-one.js';
import { parseTemplate, templateValue } from '../support/one-template.js';

const roots: string[] = [];
afterEach(() => roots.splice(0).forEach(removeRoot));

function rootFor(tree: ConfigTree): string {
  const root = seededRoot(tree);
  roots.push(root);
  return root;
}

const read = (root: string, file: string) => readFileSync(join(root, 'etc/one', file), 'utf8');
const pristine = (tree: ConfigTree, file: string) => readFileSync(join(tree.etc, file), 'utf8');
const treeOf = (label: string) => configTrees().find((t) => t.label === label)!;

const ENV = { MONITOR_ADDRESS: '192.0.2.10', HOSTNAME: 'one.example.com', ONEGATE_BIND: '0.0.0.0' };

function configure(root: string, tree: ConfigTree, overrides?: Overrides, env: Record<string, string> = {}) {
  const dir = join(root, 'overrides');
  if (overrides) writeOverrides(dir, overrides);
  return runEntrypoint(['configure', '--root', root], {
    ONE_VERSION: tree.version,
    ...ENV,
    ...(overrides ? { ONE_OVERRIDES_DIR: dir } : {}),
    ...env,
  });
}

const LDAP_CONF = `server 1:\n    :auth_method: :simple\n    :host: ldap.example.com\n    :port: 636\n    :base: 'dc=example,dc=com'\n:order:\n    - server 1\n`;
const LDAP: Overrides = {
  files: { 'auth/ldap_auth.conf': LDAP_CONF },
  edits: {
    'oned.conf':
      '# LDAP first, then the core drivers\nDEFAULT_AUTH = "ldap"\n\nAUTH_MAD/AUTHN = "ldap,server_cipher,server_x509"\n',
  },
};

describe.each(configTrees())('overrides on $label', (tree) => {
  it('LDAP: replaces auth/ldap_auth.conf whole and sets DEFAULT_AUTH and AUTH_MAD/AUTHN in oned.conf', async () => {
    const root = rootFor(tree);
    const run = await configure(root, tree, LDAP);
    expect(run.code, run.stderr).toBe(0);
    expect(read(root, 'auth/ldap_auth.conf')).toBe(LDAP_CONF);
    // Copied, never linked: the mount may go away, and root must not follow a link.
    expect(lstatSync(join(root, 'etc/one/auth/ldap_auth.conf')).isSymbolicLink()).toBe(false);
    const oned = read(root, 'oned.conf');
    expect(templateValue(oned, 'DEFAULT_AUTH')).toBe('ldap');
    expect(templateValue(oned, 'AUTH_MAD')).toEqual({
      EXECUTABLE: 'one_auth_mad',
      AUTHN: 'ldap,server_cipher,server_x509',
    });
    // The packaged example line became the setting, next to its documentation.
    expect(oned).not.toMatch(/^#\s*DEFAULT_AUTH\s*=/m);
    expect(run.stderr).toMatch(/files\/auth\/ldap_auth\.conf replaces/);
  });

  it("sets monitord's NETWORK/PUBKEY and PRIKEY, keeping MONITOR_ADDRESS from the environment", async () => {
    const root = rootFor(tree);
    const run = await configure(root, tree, {
      edits: {
        'monitord.conf':
          'NETWORK/PUBKEY = "/run/secrets/monitord/pubkey.pem"\nNETWORK/PRIKEY = "/run/secrets/monitord/prikey.pem"\n',
      },
    });
    expect(run.code, run.stderr).toBe(0);
    expect(templateValue(read(root, 'monitord.conf'), 'NETWORK')).toMatchObject({
      MONITOR_ADDRESS: '192.0.2.10',
      PUBKEY: '/run/secrets/monitord/pubkey.pem',
      PRIKEY: '/run/secrets/monitord/prikey.pem',
      PORT: '4124',
    });
  });

  it('sets YAML keys at any depth, as the file writes them', async () => {
    const root = rootFor(tree);
    const port = tree.version >= '7.3' ? ':server/:port' : ':port';
    const run = await configure(root, tree, {
      edits: {
        'onegate-server.conf': `${port} = 5031\n:log/:level = 3\n`,
        'fireedge-server.conf': 'session_expiration = 60\n',
      },
    });
    expect(run.code, run.stderr).toBe(0);
    const onegate = parse(read(root, 'onegate-server.conf'));
    expect(onegate[':log'][':level']).toBe(3);
    expect(tree.version >= '7.3' ? onegate[':server'][':port'] : onegate[':port']).toBe(5031);
    expect(parse(read(root, 'fireedge-server.conf')).session_expiration).toBe(60);
  });

  it('applies files/ before edits/ and the environment after both', async () => {
    const root = rootFor(tree);
    const replaced = `${pristine(tree, 'oned.conf')}\n# the operator's own oned.conf\n`;
    const run = await configure(
      root,
      tree,
      { files: { 'oned.conf': replaced }, edits: { 'oned.conf': 'DEFAULT_UMASK = 117\n' } },
      { DB_BACKEND: 'mysql', DB_HOST: 'db', DB_PASSWORD: 'pw' },
    );
    expect(run.code, run.stderr).toBe(0);
    const oned = read(root, 'oned.conf');
    expect(oned).toContain("# the operator's own oned.conf");
    expect(templateValue(oned, 'DEFAULT_UMASK')).toBe('117');
    expect(templateValue(oned, 'DB')).toMatchObject({ BACKEND: 'mysql', PASSWD: 'pw' });
  });

  it('an override removed is gone at the next run, and a run that changes nothing writes nothing', async () => {
    const root = rootFor(tree);
    expect((await configure(root, tree, LDAP)).code).toBe(0);
    const configured = etcSnapshot(root);
    const inode = lstatSync(join(root, 'etc/one/oned.conf')).ino;
    expect((await configure(root, tree, LDAP)).code).toBe(0);
    expect(etcSnapshot(root)).toEqual(configured);
    expect(lstatSync(join(root, 'etc/one/oned.conf')).ino).toBe(inode);
    const run = await configure(root, tree, {});
    expect(run.code, run.stderr).toBe(0);
    expect(parseTemplate(read(root, 'oned.conf')).get('DEFAULT_AUTH')).toBeUndefined();
    expect(read(root, 'auth/ldap_auth.conf')).toBe(
      readFileSync(join(root, 'usr/share/opennebula-container/etc-one/auth/ldap_auth.conf'), 'utf8'),
    );
  });

  it("reads a ConfigMap's projection (..data links)", async () => {
    const root = rootFor(tree);
    const dir = join(root, 'overrides');
    writeOverrides(join(dir, '..2026_12_03_16_00_00.000000001'), LDAP);
    symlinkSync('..2026_12_03_16_00_00.000000001', join(dir, '..data'));
    symlinkSync('..data/files', join(dir, 'files'));
    symlinkSync('..data/edits', join(dir, 'edits'));
    const run = await runEntrypoint(['configure', '--root', root], {
      ONE_VERSION: tree.version,
      ONE_OVERRIDES_DIR: dir,
    });
    expect(run.code, run.stderr).toBe(0);
    expect(templateValue(read(root, 'oned.conf'), 'DEFAULT_AUTH')).toBe('ldap');
    expect(read(root, 'auth/ldap_auth.conf')).toBe(LDAP_CONF);
  });
});

describe('overrides that cannot apply are refused, naming file and key, and change nothing', () => {
  const tree = treeOf('fixture 7.4');
  it.each([
    [
      { 'oned.conf': 'NO_SUCH_KEY = 1\n' },
      /edits\/oned\.conf line 1: NO_SUCH_KEY: .*has no single NO_SUCH_KEY key/,
    ],
    [
      { 'monitord.conf': 'NETWORK/NO_SUCH = 1\n' },
      /edits\/monitord\.conf line 1: NETWORK\/NO_SUCH: .*no single NETWORK vector with a NO_SUCH attribute/,
    ],
    [
      { 'oned.conf': 'VM_MAD/ARGUMENTS = "-t 15"\n' },
      /edits\/oned\.conf line 1: VM_MAD\/ARGUMENTS: .*no single VM_MAD vector/,
    ],
    [{ 'nosuch.conf': 'A = 1\n' }, /edits\/nosuch\.conf line 1: A: \/etc\/one\/nosuch\.conf does not exist/],
    [
      { 'onegate-server.conf': ':nosuch/:bind = x\n' },
      /edits\/onegate-server\.conf line 1: :nosuch\/:bind: .*has no :nosuch\/:bind key/,
    ],
    [
      { 'onegate-server.conf': ':log = x\n' },
      /edits\/onegate-server\.conf line 1: :log: .*holding a single value/,
    ],
    [
      { 'oned.conf': '\n\nthis is not an edit\n' },
      /edits\/oned\.conf line 3: "this is not an edit" is not KEY = VALUE/,
    ],
    [
      { 'oned.conf': 'DEFAULT_UMASK = 1\ndefault_umask = 2\n' },
      /edits\/oned\.conf: default_umask is set twice \(lines 1 and 2\)/,
    ],
    [
      { 'oned.conf': 'DEFAULT_UMASK = "unterminated\n' },
      /edits\/oned\.conf line 1: DEFAULT_UMASK: .*is not one template value/,
    ],
    [
      { 'monitord.conf': 'NETWORK/MONITOR_ADDRESS = "10.0.0.1"\n' },
      /edits\/monitord\.conf line 1: NETWORK\/MONITOR_ADDRESS is also set by the environment \(.*MONITOR_ADDRESS\)/,
    ],
    [
      { 'oned.conf': 'DB/PASSWD = "x"\n' },
      /edits\/oned\.conf line 1: DB\/PASSWD is also set by the environment \(DB from .*DB_PASSWORD/,
    ],
    [
      { 'onegate-server.conf': ':server/:bind = 127.0.0.1\n' },
      /edits\/onegate-server\.conf line 1: :server\/:bind is also set by the environment \(.*ONEGATE_BIND\)/,
    ],
  ])('%j', async (edits, message) => {
    const root = rootFor(tree);
    expect((await configure(root, tree, LDAP)).code).toBe(0);
    const before = etcSnapshot(root);
    const run = await configure(root, tree, { edits });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(message);
    expect(etcSnapshot(root)).toEqual(before);
  });

  it('refuses an unknown entry of the directory, and a missing ONE_OVERRIDES_DIR', async () => {
    const root = rootFor(tree);
    const dir = writeOverrides(join(root, 'overrides'), LDAP);
    mkdirSync(join(dir, 'edit'));
    let run = await configure(root, tree, undefined, { ONE_OVERRIDES_DIR: dir });
    expect(run.stderr).toMatch(
      /ONE_OVERRIDES_DIR: unexpected .*\/edit \(only files\/ and edits\/ are read\)/,
    );
    run = await configure(root, tree, undefined, { ONE_OVERRIDES_DIR: join(root, 'nowhere') });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/ONE_OVERRIDES_DIR: ".*nowhere" is not a directory/);
  });
});

describe('upgrades carry the configuration forward', () => {
  const from = treeOf(
    configTrees().some((t) => t.label === 'upstream 7.2.0') ? 'upstream 7.2.0' : 'fixture 7.2',
  );
  const to = treeOf(
    configTrees().some((t) => t.label === 'upstream 7.4.0') ? 'upstream 7.4.0' : 'fixture 7.4',
  );

  /** A persisted /etc/one configured by the 7.2 image, then the 7.4 image's pristine copy in its place. */
  async function upgraded(overrides: Overrides, forget = false) {
    const root = rootFor(from);
    const first = await configure(root, from, overrides);
    expect(first.code, first.stderr).toBe(0);
    // An /etc/one written before the step kept its record (an older image) is upgraded the same way.
    if (forget) renameSync(join(root, 'etc/one/.opennebula-container.sha256'), join(root, 'manifest.old'));
    installPristine(root, to);
    return root;
  }

  it.each([false, true])(
    '7.2 → 7.4 (record of the last run removed: %s): the new files, the same overrides',
    async (forget) => {
      const root = await upgraded(LDAP, forget);
      const run = await configure(root, to, LDAP);
      expect(run.code, run.stderr).toBe(0);
      const onegate = parse(read(root, 'onegate-server.conf'));
      expect(onegate[':server'][':bind']).toBe('0.0.0.0');
      expect(onegate[':host']).toBeUndefined();
      expect(templateValue(read(root, 'oned.conf'), 'DEFAULT_AUTH')).toBe('ldap');
      expect(templateValue(read(root, 'monitord.conf'), 'NETWORK')).toMatchObject({
        MONITOR_ADDRESS: '192.0.2.10',
      });
    },
  );

  it('refuses, naming the key, an override of a key 7.4 no longer has', async () => {
    const overrides = { edits: { 'onegate-server.conf': ':port = 5031\n' } };
    const root = await upgraded(overrides);
    const before = etcSnapshot(root);
    const run = await configure(root, to, overrides);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(
      /edits\/onegate-server\.conf line 1: :port: \/etc\/one\/onegate-server\.conf of OpenNebula 7\.4\.0 has no :port key/,
    );
    expect(etcSnapshot(root)).toEqual(before);
  });

  it('keeps a copy of files changed by hand, and says which', async () => {
    const root = rootFor(to);
    expect((await configure(root, to)).code).toBe(0);
    const edited = `${read(root, 'guacd')}# by hand\n`;
    writeFileSync(join(root, 'etc/one/guacd'), edited);
    const run = await configure(root, to);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/warning: changed in \/etc\/one outside ONE_OVERRIDES_DIR: guacd;/);
    expect(read(root, '.previous/guacd')).toBe(edited);
    expect(read(root, 'guacd')).toBe(pristine(to, 'guacd'));
  });
});
