// helm itself: installed from the download site and checked against its published SHA-256 before it runs,
// then its version checked (Helm 4: see inputs.ts), dependency build, lint, package, push. The chart it
// packages is staged reproducibly (staging.ts).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { run } from '../../shared/src/exec.js';
import { installTool, sha256File } from '../../shared/src/tool.js';
import { subchartsInOrder } from './archive.js';

export function helmArchitecture(arch: string = process.arch): string {
  const names: Record<string, string> = {
    x64: 'amd64',
    arm64: 'arm64',
    arm: 'arm',
    ppc64: 'ppc64le',
    s390x: 's390x',
  };
  const name = names[arch];
  if (!name) throw new Error(`helm is not published for this runner's architecture (${arch})`);
  return name;
}

export async function installHelm(version: string, downloadUrl: string): Promise<string> {
  const file = `helm-v${version}-linux-${helmArchitecture()}.tar.gz`;
  return installTool({
    name: 'helm',
    version,
    url: `${downloadUrl}/${file}`,
    checksumUrl: `${downloadUrl}/${file}.sha256sum`,
    fileName: file,
    executable: `linux-${helmArchitecture()}/helm`,
  });
}

export class Helm {
  constructor(
    readonly binary: string,
    private readonly env: Record<string, string>,
  ) {}

  /** The binary's own version (v4.2.4); refuses one other than `expected` (a download site's mislabel). */
  async checkVersion(expected: string): Promise<void> {
    const version = (
      await run(this.binary, ['version', '--template', '{{.Version}}'], { env: this.env, silent: true })
    ).stdout.trim();
    if (version.replace(/^v/, '') !== expected) {
      throw new Error(
        `helm-version: the helm downloaded for ${expected} is helm ${version}, not ${expected}; check helm-download-url`,
      );
    }
  }

  async dependencyBuild(chartDir: string): Promise<void> {
    await run(this.binary, ['dependency', 'build', chartDir], { env: this.env });
  }

  async lint(chartDir: string): Promise<void> {
    await run(this.binary, ['lint', '--strict', chartDir], { env: this.env });
  }

  /**
   * Packages into `destination` and returns the .tgz path, its SHA-256 (hex) and, when `sign` is given
   * (`helm package --sign`), the .prov beside it; a chart with several subcharts is rewritten with them in
   * name order (archive.ts), as helm's own order is random.
   */
  async package(
    chartDir: string,
    destination: string,
    sign?: { args: string[] },
  ): Promise<{ path: string; digest: string; prov: string | undefined }> {
    mkdirSync(destination, { recursive: true });
    const args = ['package', chartDir, '--destination', destination, ...(sign?.args ?? [])];
    const result = await run(this.binary, args, { env: this.env, silent: true });
    const match = /saved it to: (.+\.tgz)\s*$/m.exec(result.stdout);
    if (!match) throw new Error(`helm package did not say where it saved the chart:\n${result.stdout}`);
    const path = match[1]!.trim();
    const ordered = subchartsInOrder(readFileSync(path));
    if (ordered && sign) {
      throw new Error(
        `gpg-private-key: ${path} has several subcharts, which helm packs in random order and this action ` +
          "rewrites in name order; helm's .prov is of the archive before that rewrite, so it cannot be signed",
      );
    }
    if (ordered) writeFileSync(path, ordered);
    return { path, digest: await sha256File(path), prov: sign ? `${path}.prov` : undefined };
  }

  async push(packagePath: string, registry: string, plainHttp: boolean): Promise<string> {
    const args = ['push', packagePath, registry];
    if (plainHttp) args.push('--plain-http');
    return (await run(this.binary, args, { env: this.env })).stdout + '';
  }

  /** `helm registry login` with the password on standard input (never on the command line). */
  async login(host: string, username: string, password: string, plainHttp: boolean): Promise<void> {
    const args = ['registry', 'login', host, '--username', username, '--password-stdin'];
    if (plainHttp) args.push('--plain-http');
    await run(this.binary, args, { env: this.env, input: password, silent: true });
  }
}
