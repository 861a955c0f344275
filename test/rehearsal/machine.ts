// Each job of a run on GitHub gets a fresh virtual machine: nothing a job leaves in HOME (its Docker config
// ~/.docker/config.json included: like GitHub, DOCKER_CONFIG is not set), in the tool cache or in the
// builder's image storage is there for the next job. The rehearsal gives
// each job its own directories for them, so a job that relies on an earlier job's login, downloaded tool or
// built image fails here as it fails on GitHub.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The environment of a fresh machine for one job, under `dir`, over the run's base environment. */
export function freshMachine(dir: string, baseEnv: Record<string, string>): Record<string, string> {
  const home = join(dir, 'home');
  const machine: Record<string, string> = {
    HOME: home,
    RUNNER_TOOL_CACHE: join(dir, 'tool-cache'),
    XDG_CACHE_HOME: join(home, '.cache'),
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local/share'),
  };
  for (const path of [home, machine.RUNNER_TOOL_CACHE!]) mkdirSync(path, { recursive: true });
  // buildah and podman: their image storage (graph root) and run root, whoever runs them. (docker's storage
  // is its daemon's, which a rehearsal cannot give each job.)
  const storage = join(dir, 'containers');
  const conf = join(dir, 'storage.conf');
  writeFileSync(
    conf,
    [
      '[storage]',
      `driver = "${baseEnv.STORAGE_DRIVER || 'vfs'}"`,
      `graphroot = "${join(storage, 'storage')}"`,
      `runroot = "${join(storage, 'run')}"`,
      '',
    ].join('\n'),
  );
  machine.CONTAINERS_STORAGE_CONF = conf;
  return machine;
}
