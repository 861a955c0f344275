// A chart's dependencies (Chart.yaml `dependencies`), read for two questions: which of them charts/ does not
// hold (then `helm dependency build` must run before lint and package), and where a staged copy of the chart
// must sit so that its relative file:// dependencies still resolve. Pure: text and listings in.
import { isAbsolute, normalize, sep } from 'node:path';
import { parse } from 'yaml';

interface Dependency {
  name: string;
  repository: string;
}

function dependencies(chartYaml: string): Dependency[] {
  const parsed = parse(chartYaml) as { dependencies?: unknown } | null;
  const list = Array.isArray(parsed?.dependencies) ? (parsed.dependencies as unknown[]) : [];
  return list
    .filter((d): d is Record<string, unknown> => typeof d === 'object' && d !== null)
    .map((d) => ({ name: String(d.name ?? ''), repository: String(d.repository ?? '') }))
    .filter((d) => d.name !== '');
}

/**
 * The dependencies that `entries` (the names in charts/) do not hold, as helm vendors them: an archive
 * <name>-<version>.tgz or an unpacked <name>/ directory.
 */
export function missingDependencies(chartYaml: string, entries: string[]): string[] {
  const held = (name: string) =>
    entries.some(
      (entry) =>
        entry === name ||
        (entry.startsWith(`${name}-`) && entry.endsWith('.tgz') && /^\d/.test(entry.slice(name.length + 1))),
    );
  return dependencies(chartYaml)
    .map((d) => d.name)
    .filter((name) => !held(name));
}

export interface StagingLayout {
  /** Directories between the staging root and the staged chart, so every `local` path stays inside it. */
  depth: number;
  /** Relative file:// paths that point outside the chart directory (normalised). */
  local: string[];
}

/** Where the relative file:// dependencies outside the chart must be copied for a staged chart. */
export function stagingLayout(chartYaml: string): StagingLayout {
  const local: string[] = [];
  let ups = 0;
  for (const { repository } of dependencies(chartYaml)) {
    if (!repository.startsWith('file://')) continue;
    const path = repository.slice('file://'.length);
    if (path === '' || isAbsolute(path)) continue;
    const normalised = normalize(path).split(sep).join('/');
    const leading = normalised.split('/').findIndex((part) => part !== '..');
    if (leading === 0 || leading < 0) continue; // inside the chart: staged with it
    local.push(normalised);
    ups = Math.max(ups, leading);
  }
  return { depth: Math.max(0, ups - 1), local };
}
