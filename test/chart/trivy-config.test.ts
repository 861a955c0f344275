// `trivy config` (its built-in Kubernetes checks, offline) over the chart's rendered defaults and every
// ci/*-values.yaml scenario: no HIGH or CRITICAL misconfiguration, except those listed in
// chart/opennebula/.trivyignore.yaml, each with a statement of why.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT, runTool } from '../support/tools.js';

const CHART = join(REPO_ROOT, 'chart/opennebula');
const IGNORE_FILE = join(CHART, '.trivyignore.yaml');
const SCENARIOS = readdirSync(join(CHART, 'ci'))
  .filter((name) => name.endsWith('-values.yaml'))
  .sort();

type Finding = { ID: string; Severity: string; Message: string };
type Report = { Results?: { Target: string; Misconfigurations?: Finding[] }[] };

let work: string;
let report: Report;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'trivy-config-'));
  const manifests = join(work, 'manifests');
  mkdirSync(manifests);
  writeFileSync(join(manifests, 'chart-defaults.yaml'), runTool('helm', ['template', 'one', CHART, '-n', 'cloud']));
  // High availability (not a ci scenario: its render needs Kubernetes 1.30, the scenarios validate on 1.29).
  const ha = ['--set', 'replicaCount=3', '--set', 'mariadb.replicaCount=3', '--set', 'networkPolicy.enabled=true'];
  writeFileSync(join(manifests, 'ha.yaml'), runTool('helm', ['template', 'one', CHART, '-n', 'cloud', ...ha]));
  for (const scenario of SCENARIOS) {
    const rendered = runTool('helm', ['template', 'one', CHART, '-n', 'cloud', '-f', join(CHART, 'ci', scenario)]);
    writeFileSync(join(manifests, scenario.replace('-values.yaml', '.yaml')), rendered);
  }
  const out = runTool('trivy', [
    'config',
    '--skip-check-update',
    '--cache-dir',
    join(work, 'cache'),
    '--severity',
    'HIGH,CRITICAL',
    '--ignorefile',
    IGNORE_FILE,
    '--format',
    'json',
    '--quiet',
    manifests,
  ]);
  report = JSON.parse(out) as Report;
}, 180_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('trivy config', () => {
  it('scans the defaults and every scenario', () => {
    const targets = (report.Results ?? []).map((r) => r.Target.replace(/^.*\//, '')).sort();
    expect(targets).toEqual(expect.arrayContaining(['chart-defaults.yaml', 'ha.yaml', ...SCENARIOS.map((s) => s.replace('-values.yaml', '.yaml'))]));
  });

  it('finds no HIGH or CRITICAL misconfiguration', () => {
    const findings = (report.Results ?? []).flatMap((r) =>
      (r.Misconfigurations ?? []).map((m) => `${r.Target}: ${m.ID} ${m.Severity} ${m.Message}`),
    );
    expect(findings).toEqual([]);
  });

  it('justifies every exception', () => {
    const ignores = parse(readFileSync(IGNORE_FILE, 'utf8')) as {
      misconfigurations?: { id: string; paths?: string[]; statement?: string }[];
    };
    for (const entry of ignores.misconfigurations ?? []) {
      expect(entry.statement?.trim().length ?? 0, `${entry.id} needs a statement of why`).toBeGreaterThan(40);
      expect(entry.paths?.length ?? 0, `${entry.id} must name the rendered scenarios it applies to`).toBeGreaterThan(0);
    }
  });
});
