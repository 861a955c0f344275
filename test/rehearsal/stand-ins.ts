// The upstreams of the release pipeline, started on 127.0.0.1 from the project's shared stand-ins in
// test/support (never copies): the OpenNebula download site; the two registries the images go to, each a
// real Debian docker-registry behind its own token service — "Docker Hub" (private: push and pull need its
// account, vars.REGISTRY_USERNAME and secrets.REGISTRY_PASSWORD) and "GHCR" (push with the job's token,
// pull anonymous), each refusing the other's credentials; an open registry serving the Trivy database the
// way the real mirrors do; Trivy's download
// site, the GitHub releases API (which also serves release downloads), Helm's download site, and the Pages
// remote (a bare git repository) served over HTTP as GitHub Pages serves its branch.
import { startGitHubApi, type GitHubStandIn } from '../support/github-api.js';
import { startHelmDownloadSite, type HelmDownloadSite } from '../support/helm-download.js';
import { CURRENT_SITE, siteRoutesFor, type SiteSpec } from '../support/opennebula-repo.js';
import { startStandIn, type StandIn } from '../support/http-stand-in.js';
import { randomBytes } from 'node:crypto';
import { startRegistry, type LocalRegistry } from '../support/oci-registry.js';
import { startTokenRegistry, type TokenRegistry } from '../support/token-registry.js';
import { createPagesRemote, type PagesRemote, type PagesServer } from '../support/pages-remote.js';
import { publishTrivyDb, serveTrivyDownloads } from '../support/trivy.js';
import { generateKeyPair, removeKeyPair, serveCosignDownloads, type KeyPair } from '../support/cosign.js';
import { generateGpgKey, type GpgKey } from '../support/gpg.js';

/** The image repository the rehearsal publishes to, inside its registry. */
export const IMAGE_PATH = 'rehearsal/opennebula';

export interface StandIns {
  readonly site: StandIn;
  /** The OpenNebula repository URL (detect's repository-url). */
  readonly repositoryUrl: string;
  /** The open registry serving the Trivy database. */
  readonly registry: LocalRegistry;
  /** "Docker Hub": private, its own account. */
  readonly hub: TokenRegistry;
  /** "GHCR": the job's token pushes, anyone pulls. */
  readonly ghcr: TokenRegistry;
  /** The Docker Hub stand-in's account (vars.REGISTRY_USERNAME, secrets.REGISTRY_PASSWORD). */
  readonly hubAccount: { username: string; password: string };
  /** host:port/rehearsal/opennebula on the GHCR stand-in (anyone may read it). */
  readonly image: string;
  /** Every image the run publishes to (the IMAGES variable): Docker Hub's first, then GHCR's. */
  readonly images: string[];
  /** The vulnerability database reference (build-scan-push's trivy-db-repositories). */
  readonly trivyDb: string;
  readonly trivyDownloadUrl: string;
  /** cosign's download site (cosign-download-url). */
  readonly cosignDownloadUrl: string;
  /** The keys made for the run: cosign's (secrets.COSIGN_PRIVATE_KEY) and the chart's GPG key. */
  readonly signing: { cosign: KeyPair; gpg: GpgKey };
  readonly github: GitHubStandIn;
  /** GITHUB_SERVER_URL: release downloads (the chart archives the index points at) come from here. */
  readonly serverUrl: string;
  readonly helmSite: HelmDownloadSite;
  /** The Pages branch's remote (git-remote) and its HTTP site (pages-url). */
  readonly pages: PagesRemote;
  readonly pagesSite: PagesServer;
  /** Replaces what the OpenNebula site carries (a new upstream release appearing). */
  setSite(spec: SiteSpec): void;
  close(): Promise<void>;
}

export interface StandInOptions {
  site?: SiteSpec;
  /** owner/name the releases are created in (the github.repository of the run). */
  repository: string;
  /** The job token the GitHub stand-in accepts. */
  token: string;
}

export async function startStandIns(options: StandInOptions): Promise<StandIns> {
  const spec = options.site ?? CURRENT_SITE;
  const closers: Array<() => Promise<void> | void> = [];
  try {
    let siteRoutes = siteRoutesFor(spec);
    const site = await startStandIn({ routes: siteRoutes });
    closers.push(() => site.close());
    const registry = await startRegistry();
    closers.push(() => registry.close());
    const hubAccount = { username: 'rehearsal', password: randomBytes(12).toString('hex') };
    const hub = await startTokenRegistry({
      style: 'docker-hub',
      users: { [hubAccount.username]: hubAccount.password },
      private: { [IMAGE_PATH]: [hubAccount.username] },
    });
    closers.push(() => hub.close());
    // GHCR's account is the workflow's actor with the job token (github.actor is the repository's owner).
    const ghcr = await startTokenRegistry({
      style: 'ghcr',
      users: { [options.repository.split('/')[0]!]: options.token },
    });
    closers.push(() => ghcr.close());
    const trivySite = await startStandIn();
    closers.push(() => trivySite.close());
    const trivyDownloadUrl = serveTrivyDownloads(trivySite);
    const trivyDb = await publishTrivyDb(registry);
    const cosignDownloadUrl = serveCosignDownloads(trivySite);
    const signing = { cosign: await generateKeyPair(), gpg: generateGpgKey() };
    closers.push(() => {
      removeKeyPair(signing.cosign);
      signing.gpg.remove();
    });
    const github = await startGitHubApi({ repository: options.repository, token: options.token });
    closers.push(() => github.close());
    const helmSite = await startHelmDownloadSite();
    closers.push(() => helmSite.close());
    const pages = createPagesRemote();
    closers.push(() => pages.close());
    const pagesSite = await pages.serve();
    closers.push(() => pagesSite.close());
    return {
      site,
      repositoryUrl: `${site.url}/repo`,
      registry,
      hub,
      ghcr,
      hubAccount,
      image: `${ghcr.host}/${IMAGE_PATH}`,
      images: [`${hub.host}/${IMAGE_PATH}`, `${ghcr.host}/${IMAGE_PATH}`],
      trivyDb,
      trivyDownloadUrl,
      cosignDownloadUrl,
      signing,
      github,
      serverUrl: `${github.url}/download`,
      helmSite,
      pages,
      pagesSite,
      setSite(next) {
        const routes = siteRoutesFor(next);
        for (const path of Object.keys(siteRoutes)) if (!(path in routes)) site.unroute(path);
        for (const [path, route] of Object.entries(routes)) site.route(path, route);
        siteRoutes = routes;
      },
      close: () => closeAll(closers),
    };
  } catch (error) {
    await closeAll(closers);
    throw error;
  }
}

async function closeAll(closers: Array<() => Promise<void> | void>): Promise<void> {
  for (const close of closers.reverse()) {
    try {
      await close();
    } catch {
      // stopping one stand-in must not keep the others running
    }
  }
}
