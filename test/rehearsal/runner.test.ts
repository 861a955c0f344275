// The rehearsal's workflow runner on small workflows of its own (test/fixtures/rehearsal/repo): job order,
// reusable workflows with typed inputs and secrets, step files, status functions, matrices, local
// equivalents of third-party actions, redirected inputs, masking and re-runs of failed jobs.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTokenRegistry } from '../support/token-registry.js';
import { REPO_ROOT } from '../support/tools.js';
import { WorkflowRunner, type RunOptions, type RunRecord } from './runner.js';
import { artifactRoot } from './local-actions.js';
import { expandMatrix, jobOrder, typedInputs } from './workflow.js';

let repo: string;
let scratch: string;
let runs = 0;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'rehearsal-runner-'));
  repo = join(scratch, 'repo');
  cpSync(join(REPO_ROOT, 'test/fixtures/rehearsal/repo'), repo, { recursive: true });
  const git = (...args: string[]) =>
    execFileSync('git', args, {
      cwd: repo,
      env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' },
    });
  git('init', '--quiet', '--initial-branch', 'main');
  git('add', '--all');
  git('-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '--quiet', '-m', 'fixture');
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function run(workflow: string, options: Partial<RunOptions> = {}): Promise<RunRecord> {
  runs += 1;
  return new WorkflowRunner({
    checkoutSource: repo,
    workflow: `.github/workflows/${workflow}`,
    runDir: join(scratch, `run-${runs}`),
    event: { name: 'workflow_dispatch' },
    github: { repository: 'example/fixture', token: 'ghs_faketoken1234' },
    baseEnv: { PATH: process.env.PATH ?? '', HOME: scratch },
    ...options,
  }).run();
}

const job = (record: RunRecord, id: string) => {
  const found = record.jobs.find((candidate) => candidate.id === id);
  if (!found) throw new Error(`no job ${id} in ${record.jobs.map((j) => j.id).join(', ')}`);
  return found;
};
const step = (record: RunRecord, jobId: string, stepId: string) => {
  const found = job(record, jobId).steps.find((candidate) => candidate.id === stepId);
  if (!found) throw new Error(`no step ${stepId} in ${jobId}`);
  return found;
};

describe('workflow rules', () => {
  it('orders jobs after the jobs they need and names a missing one or a cycle', () => {
    expect(jobOrder({ c: { needs: ['a', 'b'] }, b: { needs: 'a' }, a: {} })).toEqual(['a', 'b', 'c']);
    expect(() => jobOrder({ a: { needs: 'ghost' } })).toThrow(/job a needs ghost/);
    expect(() => jobOrder({ a: { needs: 'b' }, b: { needs: 'a' } })).toThrow(/cycle: a → b → a/);
  });

  it('types inputs by their declaration and refuses undeclared or missing ones', () => {
    const specs = {
      force: { type: 'boolean' as const, default: false },
      version: { type: 'string' as const, required: true },
    };
    expect(typedInputs(specs, { force: 'true', version: '7.4.0' }, 'w')).toEqual({
      force: true,
      version: '7.4.0',
    });
    expect(() => typedInputs(specs, { version: '1', colour: 'red' }, 'w')).toThrow(
      /input "colour" is not declared/,
    );
    expect(() => typedInputs(specs, {}, 'w')).toThrow(/required input "version"/);
    expect(() => typedInputs(specs, { force: 'maybe', version: '1' }, 'w')).toThrow(/must be a boolean/);
  });

  it('expands a matrix: cross product, exclude, include (added where it changes no original value)', () => {
    expect(
      expandMatrix({
        a: [1, 2],
        b: ['x'],
        exclude: [{ a: 2 }],
        include: [{ a: 1, c: true }, { d: 4 }, { a: 3 }],
      }),
    ).toEqual([{ a: 1, b: 'x', c: true, d: 4 }, { a: 3 }]);
    expect(expandMatrix({ include: [{ version: '7.4.0' }] })).toEqual([{ version: '7.4.0' }]);
  });
});

describe('running a workflow', () => {
  it('runs jobs and a reusable workflow in needs order, passing outputs, env files and typed inputs', async () => {
    const record = await run('pipeline.yml', {
      vars: { IS_NEW: 'true', DEFAULT_VERSION: '7.4.0' },
      secrets: { PASSWORD: 'hunter2-secret' },
      inputOverrides: { echo: { endpoint: 'http://127.0.0.1:9/stand-in' } },
    });
    expect(record.result).toBe('success');
    expect(record.jobs.map((j) => j.id)).toEqual([
      'detect',
      'publish/image',
      'publish/chart',
      'publish',
      'report',
    ]);
    const detect = job(record, 'detect');
    expect(detect.outputs).toEqual({
      'is-new': 'true',
      version: '7.4.0',
      echoed: 'hello from example/fixture / set by decide / 7.4.0',
      hyphen: 'hyphen kept',
      endpoint: 'http://127.0.0.1:9/stand-in',
    });
    // The job token is a secret: the runner drops an output that holds it.
    expect(detect.warnings).toEqual(["Skip output 'token-default' since it may contain secret."]);
    expect(step(record, 'detect', 'echo').outputs.token).toBe('ghs_faketoken1234');
    expect(step(record, 'detect', 'echo').redirected).toEqual({ endpoint: 'http://127.0.0.1:9/stand-in' });
    expect(readFileSync(step(record, 'detect', 'echo').log, 'utf8')).toMatch(
      /^rehearsal: input endpoint redirected to http:\/\/127\.0\.0\.1:9\/stand-in\n/,
    );
    expect(step(record, 'detect', 'decide').summary).toBe('### decided 7.4.0\n');
    expect(step(record, 'publish/image', 'push').outputs).toEqual({
      token: 'set',
      pushed: 'true',
      typed: 'true',
    });
    expect(job(record, 'publish').outputs).toEqual({ pushed: 'true', chart: 'success' });
    expect(step(record, 'publish/chart', '__step1').summary).toBe('chart for 7.4.0\n');
    expect(step(record, 'report', '__step1').summary).toBe('publish success, pushed true\n');
    const log = readFileSync(step(record, 'publish/image', 'push').log, 'utf8');
    expect(log).toContain('the password is ***');
    expect(log).not.toContain('hunter2-secret');
  });

  it("skips a job whose if: is false, and its dependants' success() with it", async () => {
    const record = await run('pipeline.yml', { vars: { IS_NEW: 'false', DEFAULT_VERSION: '7.4.0' } });
    expect(record.result).toBe('success');
    expect(job(record, 'publish').result).toBe('skipped');
    expect(record.jobs.some((j) => j.id.startsWith('publish/'))).toBe(false);
    expect(step(record, 'report', '__step1').summary).toBe('publish skipped, pushed \n');
  });

  it('runs the schedule event with an empty inputs context, and workflow_dispatch inputs typed', async () => {
    const scheduled = await run('pipeline.yml', { event: { name: 'schedule' }, vars: { IS_NEW: 'false' } });
    expect(job(scheduled, 'publish').result).toBe('skipped');
    const forced = await run('pipeline.yml', {
      event: { name: 'workflow_dispatch', inputs: { force: 'true', version: '7.2.1' } },
      vars: { IS_NEW: 'false' },
    });
    expect(job(forced, 'publish').result).toBe('success');
    expect(job(forced, 'detect').outputs.version).toBe('7.2.1');
  });

  it('fails a step, skips the rest but always() and failure() steps, honours continue-on-error and defaults.run', async () => {
    const record = await run('statuses.yml');
    expect(record.result).toBe('failure');
    const build = job(record, 'build');
    expect(build.result).toBe('failure');
    expect(build.steps.map((s) => [s.id, s.outcome, s.conclusion])).toEqual([
      ['shell', 'success', 'success'],
      ['tolerated', 'failure', 'success'],
      ['scan', 'failure', 'failure'],
      ['after-failure', 'skipped', 'skipped'],
      ['on-failure', 'success', 'success'],
      ['upload', 'success', 'success'],
      ['artifact', 'skipped', 'skipped'],
    ]);
    expect(step(record, 'build', 'scan').errors).toEqual(['exited with code 1']);
    expect(build.outputs.gate).toBe('failed');
    const runDir = join(scratch, `run-${runs}`);
    expect(existsSync(join(runDir, 'code-scanning/trivy-7.4/results.sarif'))).toBe(true);
    expect(job(record, 'after').result).toBe('skipped');
    expect(job(record, 'cleanup').result).toBe('success');
    expect(step(record, 'cleanup', '__step3').summary).toBe('gate failed\n');
    // defaults.run: the workflow's shell (sh) for build, the job's shell and directory for cleanup.
    expect(step(record, 'build', 'shell').outputs).toEqual({ bash: 'none' });
    expect(step(record, 'cleanup', 'where').outputs).toEqual({ dir: 'sub shell=bash' });
  });

  it('expands a matrix from an output (jobs and reusable calls) and fails a step whose action has no local equivalent, naming it', async () => {
    const record = await run('matrix.yml');
    expect(job(record, 'build (7.2.0)').result).toBe('success');
    expect(step(record, 'build (7.4.0)', '__step1').summary).toBe('built 7.4.0\n');
    // A reusable-workflow call with a matrix: one call per combination.
    for (const version of ['7.2.0', '7.4.0']) {
      expect(job(record, `call (${version})`).result).toBe('success');
      expect(step(record, `call (${version})/chart`, '__step1').summary).toBe(`chart for ${version}\n`);
    }
    const unknown = step(record, 'unknown', '__step1');
    expect(unknown.outcome).toBe('failure');
    expect(unknown.errors[0]).toMatch(/no local equivalent of example\/not-rehearsed .*local-actions\.ts/);
  });

  it("checks out another branch from the repository's remote, and fails that step when it does not exist", async () => {
    const remote = join(scratch, 'pages.git');
    const git = (cwd: string, ...args: string[]) =>
      execFileSync('git', args, { cwd, env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null' } });
    execFileSync('git', ['init', '--quiet', '--bare', remote]);
    const missing = await run('pages.yml', { repositoryRemote: remote });
    expect(step(missing, 'read', 'pages').outcome).toBe('failure');
    expect(step(missing, 'read', 'pages').errors[0]).toMatch(
      /checkout of ref gh-pages from .*pages\.git failed/,
    );
    expect(step(missing, 'read', 'index').outcome).toBe('skipped');
    expect(missing.result).toBe('success');

    const seed = join(scratch, 'seed');
    execFileSync('git', ['init', '--quiet', '--initial-branch', 'gh-pages', seed]);
    execFileSync('sh', ['-c', 'echo "entries: {}" > index.yaml'], { cwd: seed });
    git(seed, 'add', 'index.yaml');
    git(seed, '-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '--quiet', '-m', 'pages');
    git(seed, 'push', '--quiet', remote, 'gh-pages');
    const found = await run('pages.yml', { repositoryRemote: remote });
    expect(step(found, 'read', 'index').outputs).toEqual({ index: 'entries: {}' });
  });

  it('passes artifacts between jobs: directories stored from their own root, downloaded by pattern and merged', async () => {
    const record = await run('artifacts.yml');
    expect(record.result).toBe('success');
    expect(record.jobs.map((j) => j.id)).toEqual(['leg (7.2)', 'leg (7.4)', 'report']);
    expect(step(record, 'report', '__step2').summary).toBe('row 7.2\nrow 7.4\n');
    expect(artifactRoot([{ path: '/w/rows', directory: true }])).toBe('/w/rows');
    expect(
      artifactRoot([
        { path: '/w/sbom.json', directory: false },
        { path: '/w/out/x.sarif', directory: false },
      ]),
    ).toBe('/w');
  });

  it('fails a reusable-workflow call with an undeclared input, naming it, as GitHub refuses it', async () => {
    const record = await run('bad-call.yml');
    expect(record.result).toBe('failure');
    expect(job(record, 'call').note).toBe(
      'call (./.github/workflows/called.yml): input "colour" is not declared by the workflow',
    );
    expect(step(record, 'after', '__step1').summary).toBe('call failure\n');
  });

  it('refuses to redirect an input the action does not declare', async () => {
    const record = await run('pipeline.yml', {
      vars: { IS_NEW: 'false' },
      inputOverrides: { echo: { 'repository-url': 'http://127.0.0.1:9' } },
    });
    expect(step(record, 'detect', 'echo').errors[0]).toMatch(
      /redirects input "repository-url" of \.\/actions\/echo, which its action\.yml does not declare/,
    );
  });

  it('re-runs only failed jobs, keeping what succeeded and its outputs', async () => {
    const first = await run('statuses.yml');
    const again = await run('statuses.yml', { previous: first });
    expect(again.attempt).toBe(2);
    expect(job(again, 'build').result).toBe('failure');
    const rerun = await run('pipeline.yml', {
      vars: { IS_NEW: 'true', DEFAULT_VERSION: '7.4.0' },
      previous: {
        ...first,
        jobs: [{ ...job(first, 'build'), id: 'detect', result: 'success', outputs: { 'is-new': 'false' } }],
      },
    });
    expect(job(rerun, 'detect').note).toBe('kept from attempt 1');
    expect(job(rerun, 'publish').result).toBe('skipped');
  });
});

describe('as strict as GitHub', () => {
  it('types reusable-workflow inputs as GitHub does: a boolean given text, empty or null fails the call', async () => {
    const record = await run('typed-call.yml', {
      event: { name: 'workflow_dispatch', inputs: { flag: 'true' } },
    });
    const where = (id: string) => `${id} (./.github/workflows/called.yml): input "push"`;
    expect(job(record, 'text').note).toBe(`${where('text')}: Unexpected value 'false'`);
    expect(job(record, 'empty').note).toBe(`${where('empty')}: Unexpected value ''`);
    expect(job(record, 'missing').note).toBe(
      `${where('missing')}: Unexpected type of value '', expected type: Boolean.`,
    );
    // github.event.inputs holds text even for a boolean input; the inputs context is typed.
    expect(job(record, 'from-event').note).toBe(`${where('from-event')}: Unexpected value 'true'`);
    expect(job(record, 'typed').result).toBe('success');
    expect(step(record, 'typed/image', 'push').outputs.typed).toBe('true');
    expect(step(record, 'contexts', 'read').outputs).toEqual({
      text: 'true boolean=false typed=true',
    });
    expect(() => typedInputs({ n: { type: 'number' } }, { n: '3' }, 'w', 'workflow_call')).toThrow(
      'w: input "n": Unexpected value \'3\'',
    );
  });

  it('runs steps without shell: as bash -e {0} (no pipefail) and shell: bash with pipefail', async () => {
    const record = await run('strict.yml', { secrets: { REGISTRY_USERNAME: 'rehearsal-user' } });
    expect(step(record, 'shells', 'default').outputs).toEqual({ survived: 'yes' });
    expect(step(record, 'shells', 'explicit').outcome).toBe('failure');
    expect(step(record, 'shells', 'explicit').errors).toEqual(['exited with code 1']);
  });

  it('fails a job whose matrix is empty, with the error GitHub gives', async () => {
    const record = await run('strict.yml', { secrets: { REGISTRY_USERNAME: 'rehearsal-user' } });
    expect(job(record, 'empty-include')).toMatchObject({
      result: 'failure',
      note: "Error when evaluating 'strategy' for job 'empty-include'. Matrix must define at least one vector",
      steps: [],
    });
    expect(job(record, 'empty-vector')).toMatchObject({
      result: 'failure',
      note: "Error when evaluating 'strategy' for job 'empty-vector'. Matrix vector 'version' does not contain any values",
    });
    expect(record.result).toBe('failure');
  });

  it('fails a job whose concurrency group cannot be evaluated, and a call without a required secret', async () => {
    const record = await run('strict.yml');
    expect(job(record, 'bad-concurrency').result).toBe('failure');
    expect(job(record, 'bad-concurrency').note).toMatch(/^concurrency: /);
    expect(job(record, 'missing-secret').note).toBe(
      'missing-secret (./.github/workflows/needs-secret.yml): Secret token is required, but not provided while calling.',
    );
  });

  it('drops a job output that contains a secret, with the runner warning', async () => {
    const record = await run('strict.yml', { secrets: { REGISTRY_USERNAME: 'rehearsal-user' } });
    const named = job(record, 'secret-output');
    expect(named.result).toBe('success');
    expect(named.outputs).toEqual({ tag: '7.4.0' });
    expect(named.warnings).toEqual(["Skip output 'image' since it may contain secret."]);
    // A variable is no secret: the same output passes.
    const plain = await run('strict.yml', { secrets: {} });
    expect(job(plain, 'secret-output').outputs.image).toBe('docker.io//opennebula');
  });

  it('starts every job on a fresh machine: HOME, Docker config, tool cache and builder storage', async () => {
    const record = await run('strict.yml');
    expect(step(record, 'second-machine', 'look').outputs.found).toBe('nothing');
    const storage = step(record, 'second-machine', 'look').outputs.storage;
    expect(storage).toMatch(/machine-second-machine-/);
  });

  it('checks out one commit by default (shallow), all history with fetch-depth 0, another repository at a ref', async () => {
    const git = (cwd: string, ...args: string[]) =>
      execFileSync('git', args, {
        cwd,
        env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' },
      });
    const id = ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid'];
    git(repo, ...id, 'commit', '--quiet', '--allow-empty', '-m', 'second');
    const other = join(scratch, 'other');
    execFileSync('git', ['init', '--quiet', '--initial-branch', 'main', other]);
    execFileSync('sh', ['-c', 'echo tagged > file.txt'], { cwd: other });
    git(other, 'add', 'file.txt');
    git(other, ...id, 'commit', '--quiet', '-m', 'one');
    git(other, 'tag', 'v1');
    execFileSync('sh', ['-c', 'echo later > file.txt'], { cwd: other });
    git(other, ...id, 'commit', '--quiet', '-am', 'two');
    const record = await run('checkout.yml', { repositories: { 'Example/Other': other } });
    expect(step(record, 'read', 'shallow').outputs).toEqual({ shallow: 'true', commits: '1' });
    expect(step(record, 'read', 'full').outputs).toEqual({ shallow: 'false', commits: '2' });
    expect(step(record, 'read', 'other-files').outputs).toEqual({ files: 'tagged' });
    expect(step(record, 'read', 'unknown').errors[0]).toBe(
      'checkout of example/nowhere: no local repository stands in for it in the rehearsal',
    );
  });

  it('refuses SARIF as upload-sarif does: schema, several runs in one category, a second upload per job', async () => {
    const record = await run('sarif.yml');
    expect(step(record, 'upload', 'valid').outcome).toBe('success');
    expect(step(record, 'upload', 'again').errors[0]).toMatch(
      /^Aborting upload: only one run of the codeql\/analyze or codeql\/upload-sarif actions is allowed per job per tool\/category\..*Category: \(trivy-7\.4\/\) Tool: \(Trivy\)$/,
    );
    expect(step(record, 'upload', 'two-runs').errors[0]).toMatch(
      /^The CodeQL Action does not support uploading multiple SARIF runs with the same category/,
    );
    expect(step(record, 'upload', 'invalid').errors[0]).toBe(
      'Unable to upload "sarif/no-tool.sarif" as it is not valid SARIF:\n- instance.runs[0] requires property "tool"',
    );
    // Another job is another machine: the same category uploads again there.
    expect(step(record, 'other-job', 'valid').outcome).toBe('success');
  });

  it('runs reusable workflows and actions of another repository at a ref, from a caller without actions/', async () => {
    const git = (cwd: string, ...args: string[]) =>
      execFileSync('git', args, {
        cwd,
        env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' },
      });
    const id = ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid'];
    git(repo, 'tag', 'v1');
    const caller = join(scratch, 'caller');
    cpSync(join(REPO_ROOT, 'test/fixtures/rehearsal/caller'), caller, { recursive: true });
    git(caller, 'init', '--quiet', '--initial-branch', 'main');
    git(caller, 'add', '--all');
    git(caller, ...id, 'commit', '--quiet', '-m', 'caller');
    const record = await run('reuse.yml', {
      checkoutSource: caller,
      github: { repository: 'example/caller', token: 'ghs_faketoken1234' },
      repositories: { 'example/library': repo },
    });
    // ./actions/echo is the caller's workspace, which has no actions/.
    expect(step(record, 'library/relative', '__step2').errors[0]).toMatch(
      /^\.\/actions\/echo: no action\.yml in the workspace/,
    );
    expect(job(record, 'library/qualified').outputs).toEqual({ echoed: 'hello from example/caller' });
    expect(job(record, 'library').outputs).toEqual({ echoed: 'hello from example/caller' });
    expect(step(record, 'direct', 'echo').outputs.message).toBe('direct');
    expect(step(record, 'direct', 'missing-ref').errors[0]).toBe(
      'Unable to resolve example/library/actions/echo@v9: example/library has no branch, tag or commit v9',
    );
    expect(job(record, 'unknown').note).toBe(
      'example/elsewhere/.github/workflows/library.yml@v1: the rehearsal has no repository standing in for example/elsewhere',
    );
  });

  it('logs in as docker/login-action does: each registry checks its own credentials, secrets reach called workflows', async () => {
    const token = 'ghs_faketoken1234';
    const hub = await startTokenRegistry({
      style: 'docker-hub',
      users: { 'hub-user': 'hub-password-1234' },
      private: { 'example/opennebula': ['hub-user'] },
    });
    const ghcr = await startTokenRegistry({ style: 'ghcr', users: { example: token } });
    try {
      const record = await run('login.yml', {
        vars: { HUB: hub.host, GHCR: ghcr.host, REGISTRY_USERNAME: 'hub-user' },
        secrets: { REGISTRY_PASSWORD: 'hub-password-1234' },
      });
      expect(step(record, 'push', 'crossed').outcome).toBe('failure');
      expect(step(record, 'push', 'crossed').errors[0]).toBe(
        `login-action: Error response from registry ${hub.host}: login refused (HTTP 401) {"details":"incorrect username or password"}`,
      );
      expect(step(record, 'push', 'config').outputs).toEqual({ 'logged-in': 'both' });
      expect(step(record, 'next', 'config').outputs).toEqual({ config: 'absent' });
      expect(step(record, 'called/login', 'hub').outcome).toBe('success');
      expect(readFileSync(step(record, 'push', 'hub').log, 'utf8')).not.toContain('hub-password-1234');
      expect(hub.tokenRequests.map((request) => request.username)).toContain('hub-user');
      expect(ghcr.tokenRequests.map((request) => request.username)).toEqual(['example']);
    } finally {
      await hub.close();
      await ghcr.close();
    }
  });
});
