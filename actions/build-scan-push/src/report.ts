// Trivy's JSON report (Results[].Vulnerabilities[]; FixedVersion absent when there is no fix) → counts per
// severity split fixable/unfixed, the gate, and the most severe findings. Pure.
import { SEVERITIES, type Severity } from './inputs.js';

export interface Finding {
  id: string;
  severity: Severity;
  packageName: string;
  installed: string;
  fixed: string | undefined;
  title: string;
  url: string | undefined;
  /** Where it was found: the platform and the kind of package (debian, ubuntu, …). */
  where: string;
}

interface TrivyVulnerability {
  VulnerabilityID?: string;
  PkgName?: string;
  InstalledVersion?: string;
  FixedVersion?: string;
  Status?: string;
  Severity?: string;
  Title?: string;
  PrimaryURL?: string;
}

interface TrivyReport {
  Results?: Array<{ Target?: string; Type?: string; Vulnerabilities?: TrivyVulnerability[] | null }> | null;
}

export type Counts = Record<Severity, { fixable: number; unfixed: number }>;

/** The findings of one report, for one platform. Throws, naming the file, on anything not Trivy's JSON. */
export function findingsOf(json: string, platform: string, source: string): Finding[] {
  let report: TrivyReport;
  try {
    report = JSON.parse(json) as TrivyReport;
  } catch (error) {
    throw new Error(`${source} is not a Trivy JSON report: ${(error as Error).message}`, { cause: error });
  }
  if (typeof report !== 'object' || report === null || !('SchemaVersion' in report)) {
    throw new Error(`${source} is not a Trivy JSON report (no SchemaVersion)`);
  }
  const findings: Finding[] = [];
  for (const result of report.Results ?? []) {
    for (const vulnerability of result.Vulnerabilities ?? []) {
      const severity = (vulnerability.Severity ?? 'UNKNOWN').toUpperCase();
      const fixed =
        vulnerability.FixedVersion && vulnerability.Status !== 'affected'
          ? vulnerability.FixedVersion
          : undefined;
      findings.push({
        id: vulnerability.VulnerabilityID ?? '?',
        severity: ((SEVERITIES as readonly string[]).includes(severity) ? severity : 'UNKNOWN') as Severity,
        packageName: vulnerability.PkgName ?? '?',
        installed: vulnerability.InstalledVersion ?? '',
        fixed,
        title: vulnerability.Title ?? '',
        url: vulnerability.PrimaryURL,
        // The target of an image scan is a temporary path: the platform and the package type say more.
        where: result.Type ? `${platform} (${result.Type})` : platform,
      });
    }
  }
  return findings;
}

export function countFindings(findings: Finding[]): Counts {
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, { fixable: 0, unfixed: 0 }])) as Counts;
  for (const finding of findings) counts[finding.severity][finding.fixed ? 'fixable' : 'unfixed'] += 1;
  return counts;
}

/** The findings that fail the gate: at or above a listed severity, and fixable when ignoreUnfixed. */
export function gateFailures(findings: Finding[], severity: Severity[], ignoreUnfixed: boolean): Finding[] {
  const failing = new Set<string>(severity);
  return findings.filter((f) => failing.has(f.severity) && (!ignoreUnfixed || f.fixed !== undefined));
}

const RANK = Object.fromEntries(SEVERITIES.map((s, i) => [s, i])) as Record<Severity, number>;

/** The `limit` most severe findings, fixable first within a severity, then by ID; each ID once. */
export function mostSevere(findings: Finding[], limit = 10): Finding[] {
  const seen = new Set<string>();
  return [...findings]
    .sort(
      (a, b) =>
        RANK[b.severity] - RANK[a.severity] ||
        Number(b.fixed !== undefined) - Number(a.fixed !== undefined) ||
        a.id.localeCompare(b.id) ||
        a.packageName.localeCompare(b.packageName),
    )
    .filter((f) => {
      const key = `${f.id} ${f.packageName}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .slice(0, limit);
}
