// The upstreams of the release pipeline, started on 127.0.0.1 from the project's shared stand-ins in
// test/support (never copies): the OpenNebula download site, a real OCI registry (Debian docker-registry)
// that receives the images and serves the Trivy database the way the real mirrors do, Trivy's download
// site, and — as their stand-ins land in test/support — the GitHub releases API, Helm's download site and
// the Pages remote served over HTTP. Also the table of action inputs the rehearsal points at them.
import { CURRENT_SITE, siteRoutesFor, type SiteSpec } from '../support/opennebula-repo.js';
import { startStandIn, type StandIn } from '../support/http-stand-in.js';
import { startRegistry, type LocalRegistry } from '../support/oci-registry.js';
import { publishTrivyDb, serveTrivyDownloads } from '../support/trivy.js';

/** The image repository the rehearsal publishes to, inside its registry. */
export const IMAGE_PATH = 'rehearsal/opennebula';

export interface StandIns {
  readonly site: StandIn;
  /** The OpenNebula repository URL (detect's repository-url). */
  readonly repositoryUrl: string;
  readonly registry: LocalRegistry;
  /** host:port/rehearsal/opennebula: the IMAGES variable. */
  readonly image: string;
  /** The vulnerability database reference (build-scan-push's trivy-db-repositories). */
  readonly trivyDb: string;
  readonly trivyDownloadUrl: string;
  /** Replaces what the OpenNebula site carries (a new upstream release appearing). */
  setSite(spec: SiteSpec): void;
  close(): Promise<void>;
}

export async function startStandIns(spec: SiteSpec = CURRENT_SITE): Promise<StandIns> {
  const closers: Array<() => Promise<void> | void> = [];
  try {
    let siteRoutes = siteRoutesFor(spec);
    const site = await startStandIn({ routes: siteRoutes });
    closers.push(() => site.close());
    const registry = await startRegistry();
    closers.push(() => registry.close());
    const trivySite = await startStandIn();
    closers.push(() => trivySite.close());
    const trivyDownloadUrl = serveTrivyDownloads(trivySite);
    const trivyDb = await publishTrivyDb(registry);
    return {
      site,
      repositoryUrl: `${site.url}/repo`,
      registry,
      image: `${registry.host}/${IMAGE_PATH}`,
      trivyDb,
      trivyDownloadUrl,
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
