// The reports as code scanning and their readers need them. Pure.
// - Trivy names what it scanned after the path it was given, a temporary directory: in every OS-package
//   finding's location and in the SBOM. That path is replaced by the image's name, so an alert keeps its
//   location from one run to the next (a new path each run closes and reopens every alert,
//   aquasecurity/trivy#2357).
// - One SARIF log holds one run per platform, each with its own code scanning category
//   (automationDetails.id): upload-sarif refuses several runs of one category in an upload.

export interface SarifLog {
  version: string;
  $schema?: string;
  runs: SarifRun[];
}

export interface SarifRun {
  tool: { driver: Record<string, unknown> };
  automationDetails?: { id: string };
  results?: Array<{ locations?: Array<{ physicalLocation?: { artifactLocation?: { uri?: string } } }> }>;
  [key: string]: unknown;
}

export const platformSlug = (platform: string) => platform.replace(/\//g, '-');

/** `report` (Trivy's JSON) with every mention of `scanned` (the temporary path) replaced by `name`. */
export function stableReport(report: string, scanned: string, name: string): string {
  const inJson = (text: string) => JSON.stringify(text).slice(1, -1);
  return report.split(inJson(scanned.replace(/\/+$/, ''))).join(inJson(name));
}

/**
 * A location URI that is a relative reference whatever the name: a registry with a port
 * (localhost:5000/x) would otherwise read as a URI with the scheme "localhost".
 */
export function locationUri(uri: string): string {
  const [first, ...rest] = uri.split('/');
  return [first!.replace(/:/g, '%3A'), ...rest].join('/');
}

/**
 * One log from each platform's SARIF: every run keeps its results, with relative location URIs, and gets
 * the category <category>/<os>-<arch>/. With one platform and no category, runs are left without one (the
 * upload's own category applies).
 */
export function combineSarif(
  logs: Array<{ platform: string; log: SarifLog }>,
  category: string | undefined,
): SarifLog {
  const prefix = category ?? (logs.length > 1 ? 'trivy' : undefined);
  const runs = logs.flatMap(({ platform, log }) =>
    log.runs.map((run): SarifRun => {
      for (const result of run.results ?? []) {
        for (const location of result.locations ?? []) {
          const artifact = location.physicalLocation?.artifactLocation;
          if (artifact?.uri !== undefined) artifact.uri = locationUri(artifact.uri);
        }
      }
      if (prefix === undefined) return run;
      const id = `${prefix.replace(/\/+$/, '')}/${platformSlug(platform)}/`;
      return { ...run, automationDetails: { ...run.automationDetails, id } };
    }),
  );
  const head = logs[0]?.log ?? { version: '2.1.0', runs: [] };
  return { ...head, runs };
}

/** Where each platform's SBOM goes: the first at `sbomFile`, the others beside it, named by platform. */
export function sbomPaths(sbomFile: string, platforms: string[]): Record<string, string> {
  const base = sbomFile.replace(/(\.cdx)?\.json$/, '');
  return Object.fromEntries(
    platforms.map((platform, i) => [
      platform,
      i === 0 ? sbomFile : `${base}-${platformSlug(platform)}.cdx.json`,
    ]),
  );
}
