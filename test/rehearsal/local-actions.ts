// Third-party actions the workflows use, replaced by small local equivalents: the one table the rehearsal
// consults for every `uses: owner/repo[/path]@ref` that is not one of this repository's own actions. Each
// entry does, on this machine, the part of the real action the rest of the pipeline depends on, and says so
// in the step's log. A workflow that starts using an action missing here fails its step naming it.
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { isPlainHttpRegistry, parseChallenge } from '../../actions/shared/src/registry.js';
import { validateSarifUpload } from '../support/code-scanning.js';

export interface LocalActionContext {
  /** The step's `with:`, evaluated, as text. */
  readonly inputs: Record<string, string>;
  readonly workspace: string;
  /** The working tree as checkout would fetch it (a clone of HEAD with the uncommitted changes on top). */
  readonly checkoutSource: string;
  /** The repository's remote as git on a runner reaches it, for checkouts of other branches (gh-pages). */
  readonly repositoryRemote?: string;
  /** Local repositories standing in for GitHub repositories: lower-case owner/name → git directory or URL. */
  readonly repositories?: Record<string, string>;
  /** github.repository and github.ref of the run. */
  readonly repository: string;
  readonly ref: string;
  /** The run's output directory: code-scanning uploads and artifacts land under it. */
  readonly outputDir: string;
  /** The step's environment (HOME, DOCKER_CONFIG, PATH ...). */
  readonly env: Record<string, string>;
  log(line: string): void;
}

export interface LocalAction {
  /** What the real action does and what stands in for it here (printed in the step's log). */
  readonly description: string;
  /** Returns the step's outputs. Throws (or rejects) to fail the step. */
  run(context: LocalActionContext): Record<string, string> | void | Promise<Record<string, string> | void>;
}

const inWorkspace = (context: LocalActionContext, path: string) =>
  isAbsolute(path) ? path : resolve(context.workspace, path);

function copyTree(source: string, target: string): void {
  mkdirSync(target, { recursive: true });
  execFileSync('cp', ['-a', `${source}/.`, target]);
}

/**
 * actions/checkout: a fetch of one commit (fetch-depth 1, the default: a shallow clone, as on GitHub; 0: all
 * history and tags) from the local repository standing in for `repository` (default: the run's own), at
 * `ref` (default: the commit the run is for), into `path`. The run's own commit comes from the working-tree
 * snapshot, with its uncommitted changes on top, so a rehearsal runs what is being changed.
 */
function checkout(context: LocalActionContext): Record<string, string> {
  const target = inWorkspace(context, context.inputs.path || '.');
  const repository = context.inputs.repository || context.repository;
  const own = repository.toLowerCase() === context.repository.toLowerCase();
  const ref = context.inputs.ref ?? '';
  const depth = Number(context.inputs['fetch-depth'] || '1');
  if (!Number.isInteger(depth) || depth < 0) {
    throw new Error(`checkout: fetch-depth must be a whole number, got ${context.inputs['fetch-depth']}`);
  }
  const sameCommit =
    own && (!ref || ref === context.ref || ref === context.ref.replace(/^refs\/heads\//, ''));
  const remote = sameCommit
    ? context.checkoutSource
    : (context.repositories?.[repository.toLowerCase()] ?? (own ? context.repositoryRemote : undefined));
  if (!remote) {
    throw new Error(
      `checkout of ${repository}${ref ? ` at ${ref}` : ''}: no local repository stands in for it in the rehearsal`,
    );
  }
  const commit = fetchInto(context, remote, sameCommit ? 'HEAD' : ref || 'HEAD', depth, target);
  if (sameCommit) overlayWorkingTree(context.checkoutSource, target);
  const shallow = depth === 0 ? 'all history' : `depth ${depth}`;
  context.log(
    `checked out ${repository}${ref ? ` ${ref}` : ''} (${commit.slice(0, 12)}, ${shallow}) from ${remote} into ${target}` +
      (sameCommit ? ", with the working tree's uncommitted changes" : ''),
  );
  return { ref: ref || context.ref, commit };
}

const gitEnv = (context: LocalActionContext) => ({
  ...context.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
});

/** git init + fetch of `ref` (a branch, tag or commit) to `depth` (0: everything) + detached checkout. */
function fetchInto(
  context: LocalActionContext,
  remote: string,
  ref: string,
  depth: number,
  target: string,
): string {
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: target, env: gitEnv(context), encoding: 'utf8', stdio: 'pipe' });
  mkdirSync(target, { recursive: true });
  const url = remote.includes('://') ? remote : `file://${resolve(remote)}`;
  try {
    git('init', '--quiet');
    git('remote', 'add', 'origin', url);
    if (depth === 0) {
      git('fetch', '--quiet', '--tags', 'origin', '+refs/heads/*:refs/remotes/origin/*');
      git('fetch', '--quiet', 'origin', ref);
    } else {
      git('fetch', '--quiet', '--no-tags', `--depth=${depth}`, 'origin', ref);
    }
    git('checkout', '--quiet', '--detach', 'FETCH_HEAD');
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer | string }).stderr ?? '').trim();
    throw new Error(`checkout of ref ${ref} from ${remote} failed: ${stderr}`, { cause: error });
  }
  return git('rev-parse', 'HEAD').trim();
}

/** The snapshot's files exactly (uncommitted changes and deletions), over a checkout of its HEAD. */
function overlayWorkingTree(source: string, target: string): void {
  for (const entry of readdirSync(target)) {
    if (entry !== '.git') rmSync(join(target, entry), { recursive: true, force: true });
  }
  execFileSync('sh', [
    '-c',
    'tar -C "$1" --exclude=./.git -cf - . | tar -C "$2" -xf -',
    'sh',
    source,
    target,
  ]);
}

function toolPresent(context: LocalActionContext, tool: string, what: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { env: context.env, stdio: 'ignore' });
  } catch {
    throw new Error(`${what}: ${tool} is not on PATH (the rehearsal uses the installed ${tool} instead)`);
  }
  context.log(`using the installed ${tool}`);
}

/**
 * github/codeql-action/upload-sarif: the files (one, or every .sarif of a directory, combined into one upload
 * as the action does) checked by the code-scanning stand-in of test/support/code-scanning.ts — schema, one
 * run per category, one upload per tool and category per job, size limits — and refused as upload-sarif
 * refuses them; what passes is kept under <run>/code-scanning/<category>/. The per-job sentinels travel in
 * the job's environment (GITHUB_ENV), as the action exports them.
 */
function uploadSarif(context: LocalActionContext): Record<string, string> {
  const file = inWorkspace(context, context.inputs.sarif_file || '../results');
  if (!existsSync(file))
    throw new Error(`upload-sarif: sarif_file ${context.inputs.sarif_file} does not exist`);
  const files = statSync(file).isDirectory()
    ? readdirSync(file)
        .filter((name) => name.endsWith('.sarif'))
        .map((name) => join(file, name))
    : [file];
  if (files.length === 0) throw new Error(`upload-sarif: no SARIF files found to upload in ${file}`);
  const logs = files.map((path) => JSON.parse(readFileSync(path, 'utf8')) as { runs?: unknown[] });
  const combined =
    logs.length === 1
      ? readFileSync(files[0]!, 'utf8')
      : JSON.stringify({ ...logs[0], runs: logs.flatMap((log) => log.runs ?? []) });
  const job = new Set(Object.keys(context.env).filter((name) => name.startsWith('CODEQL_UPLOAD_SARIF_')));
  const before = new Set(job);
  const upload = validateSarifUpload(combined, {
    ...(context.inputs.category ? { category: context.inputs.category } : {}),
    file: relative(context.workspace, file) || basename(file),
    job,
  });
  const exported = [...job].filter((name) => !before.has(name));
  if (context.env.GITHUB_ENV && exported.length) {
    appendFileSync(context.env.GITHUB_ENV, exported.map((name) => `${name}=true\n`).join(''));
  }
  const category = (context.inputs.category || 'default').replace(/[^\w.-]+/g, '_');
  const target = join(context.outputDir, 'code-scanning', category);
  mkdirSync(target, { recursive: true });
  for (const path of files) copyFileSync(path, join(target, basename(path)));
  context.log(
    `code scanning accepted ${upload.results} result(s) in ${upload.categories.length} run(s) ` +
      `(categories ${upload.categories.join(', ') || '(none)'}, ${upload.gzipBytes} bytes gzipped) → ${target}`,
  );
  return { 'sarif-id': `local-${category}` };
}

/** The directory upload-artifact stores paths relative to: the deepest one holding every path given. */
export function artifactRoot(paths: Array<{ path: string; directory: boolean }>): string {
  const dirs = paths.map(({ path, directory }) => (directory ? path : dirname(path)).split('/'));
  const common: string[] = [];
  for (let i = 0; dirs.every((parts) => i < parts.length && parts[i] === dirs[0]![i]); i += 1) {
    common.push(dirs[0]![i]!);
  }
  return common.join('/') || '/';
}

function uploadArtifact(context: LocalActionContext): Record<string, string> {
  const name = context.inputs.name || 'artifact';
  const target = join(context.outputDir, 'artifacts', name);
  const found = (context.inputs.path ?? '')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((path) => inWorkspace(context, path))
    .filter((path) => existsSync(path))
    .map((path) => ({ path, directory: statSync(path).isDirectory() }));
  const missing = context.inputs['if-no-files-found'] || 'warn';
  if (found.length === 0) {
    if (missing === 'error') throw new Error(`upload-artifact: no files found for ${name}`);
    context.log(`upload-artifact: no files found for ${name}`);
    return {};
  }
  if (existsSync(target) && context.inputs.overwrite !== 'true') {
    throw new Error(`upload-artifact: an artifact named ${name} already exists (set overwrite: true)`);
  }
  rmSync(target, { recursive: true, force: true });
  const root = artifactRoot(found);
  for (const { path, directory } of found) {
    const destination = join(target, relative(root, path));
    mkdirSync(dirname(destination), { recursive: true });
    if (directory) copyTree(path, destination);
    else copyFileSync(path, destination);
  }
  context.log(`artifact ${name} → ${target} (${found.length} path(s))`);
  return { 'artifact-id': name };
}

/** actions/download-artifact: artifacts of this run (by name, or by pattern) copied into path. */
function downloadArtifact(context: LocalActionContext): Record<string, string> {
  const store = join(context.outputDir, 'artifacts');
  const all = existsSync(store) ? readdirSync(store) : [];
  const { name = '', pattern = '' } = context.inputs;
  const glob = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  const chosen = name
    ? all.filter((artifact) => artifact === name)
    : all.filter((artifact) => !pattern || glob.test(artifact));
  if (name && chosen.length === 0)
    throw new Error(`download-artifact: no artifact named ${name} in this run`);
  const path = inWorkspace(context, context.inputs.path || '.');
  const merge = context.inputs['merge-multiple'] === 'true' || !!name;
  for (const artifact of chosen) copyTree(join(store, artifact), merge ? path : join(path, artifact));
  context.log(`downloaded ${chosen.length} artifact(s) into ${path}: ${chosen.join(', ') || '(none)'}`);
  return { 'download-path': path };
}

/**
 * docker/login-action: the credentials checked against the registry as `docker login` checks them (a
 * token-service registry: a token request without scope; a Basic one: GET /v2/ with them), then written to
 * the Docker config file ($DOCKER_CONFIG, else ~/.docker) the builders and actions read. Refused credentials
 * fail the step, as the action fails.
 */
async function login(context: LocalActionContext): Promise<void> {
  const registry = context.inputs.registry || 'docker.io';
  const { username = '', password = '' } = context.inputs;
  if (!username || !password) throw new Error('login-action: Username and password required');
  await checkLogin(registry, username, password);
  const dir = context.env.DOCKER_CONFIG || join(context.env.HOME ?? context.workspace, '.docker');
  const file = join(dir, 'config.json');
  const config = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as { auths?: Record<string, { auth: string }> })
    : {};
  config.auths = {
    ...config.auths,
    [registry]: { auth: Buffer.from(`${username}:${password}`).toString('base64') },
  };
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  context.log(`logged in to ${registry} (credentials in ${file})`);
}

async function checkLogin(registry: string, username: string, password: string): Promise<void> {
  const base = `${isPlainHttpRegistry(registry) ? 'http' : 'https'}://${registry}`;
  const basic = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  const refused = (status: number, body: string) =>
    new Error(
      `login-action: Error response from registry ${registry}: login refused (HTTP ${status}) ${body.trim()}`,
    );
  const probe = await fetch(`${base}/v2/`);
  await probe.body?.cancel();
  if (probe.status !== 401) return;
  const challenge = parseChallenge(probe.headers.get('www-authenticate') ?? '');
  if (challenge?.scheme.toLowerCase() === 'bearer' && challenge.params.realm) {
    const realm = new URL(challenge.params.realm);
    if (challenge.params.service) realm.searchParams.set('service', challenge.params.service);
    const answer = await fetch(realm, { headers: { authorization: basic } });
    if (!answer.ok) throw refused(answer.status, await answer.text());
    await answer.body?.cancel();
    return;
  }
  const answer = await fetch(`${base}/v2/`, { headers: { authorization: basic } });
  if (!answer.ok) throw refused(answer.status, await answer.text());
  await answer.body?.cancel();
}

export const LOCAL_ACTIONS: Record<string, LocalAction> = {
  'actions/checkout': {
    description: 'a fetch from the local repository standing in for the repository (fetch-depth honoured)',
    run: checkout,
  },
  'actions/setup-node': {
    description: 'the installed node',
    run: (context) => toolPresent(context, 'node', 'setup-node'),
  },
  'actions/setup-go': {
    description: 'the installed go',
    run: (context) => toolPresent(context, 'go', 'setup-go'),
  },
  'actions/setup-python': {
    description: 'the installed python3',
    run: (context) => toolPresent(context, 'python3', 'setup-python'),
  },
  'azure/setup-helm': {
    description: 'the pinned helm from test/tools',
    run: (context) => toolPresent(context, 'helm', 'setup-helm'),
  },
  'docker/setup-qemu-action': {
    description: 'nothing: the rehearsal builds for the host platform',
    run: (context) => context.log('QEMU not set up: the rehearsal builds for the host platform only'),
  },
  'docker/setup-buildx-action': {
    description: 'the builder the rehearsal found (docker, podman or buildah)',
    run: (context) => context.log('no buildx builder created: the rehearsal passes the builder it found'),
  },
  'docker/login-action': { description: 'a Docker config file with the credentials', run: login },
  'github/codeql-action/upload-sarif': {
    description: 'a copy under <run>/code-scanning/<category>/',
    run: uploadSarif,
  },
  'actions/upload-artifact': { description: 'a copy under <run>/artifacts/<name>/', run: uploadArtifact },
  'actions/download-artifact': {
    description: "a copy from this run's <run>/artifacts/",
    run: downloadArtifact,
  },
};

/** `owner/repo[/path]@ref` → the table key `owner/repo[/path]`. */
export function localActionKey(uses: string): string {
  return uses.split('@')[0]!.replace(/\/+$/, '');
}
