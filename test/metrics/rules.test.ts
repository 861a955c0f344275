// The chart's alerting rules as the PrometheusRule renders them (chart/opennebula/files/prometheus-rules.yaml.tpl
// through tpl), checked and unit-tested with promtool (Debian's prometheus package): every alert has a test
// where it fires and one where it stays silent (test/metrics/rules-tests.yaml).
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runCommand, requireTool } from '../support/tools.js';
import { findKind, renderMetrics, ruleFile } from './prometheus.js';

const TESTS = join(import.meta.dirname, 'rules-tests.yaml');
const dir = mkdtempSync(join(tmpdir(), 'rules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Group = { name: string; rules: { alert?: string; expr: string }[] };
const alerts = (text: string) =>
  (parse(text) as { groups: Group[] }).groups.flatMap((g) => g.rules.map((r) => r.alert)).filter(Boolean);

describe('the PrometheusRule the chart renders', () => {
  const rendered = ruleFile(renderMetrics(['backup.enabled=true', 'metrics.mysqldExporter.enabled=true']));

  it('passes promtool check rules and every unit test in rules-tests.yaml', async () => {
    writeFileSync(join(dir, 'rules.yaml'), rendered);
    copyFileSync(TESTS, join(dir, 'rules-tests.yaml'));
    const check = await runCommand(requireTool('promtool'), ['check', 'rules', join(dir, 'rules.yaml')]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    const test = await runCommand(requireTool('promtool'), ['test', 'rules', join(dir, 'rules-tests.yaml')]);
    expect(test.code, test.stdout + test.stderr).toBe(0);
    expect(test.stdout).toContain('SUCCESS');
  });

  it('has, for every alert, a test where it fires and one where it does not', () => {
    type AlertTest = { alertname: string; exp_alerts?: unknown[] };
    const tests = (
      parse(readFileSync(TESTS, 'utf8')) as { tests: { alert_rule_test?: AlertTest[] }[] }
    ).tests.flatMap((t) => t.alert_rule_test ?? []);
    const names = alerts(rendered);
    expect(names.length).toBeGreaterThanOrEqual(17);
    for (const name of names) {
      const mine = tests.filter((t) => t.alertname === name);
      expect(
        mine.some((t) => (t.exp_alerts ?? []).length > 0),
        `${name} fires in a test`,
      ).toBe(true);
      expect(
        mine.some((t) => (t.exp_alerts ?? []).length === 0),
        `${name} stays silent in a test`,
      ).toBe(true);
    }
    // No test names an alert the chart does not have.
    for (const t of tests) expect(names, t.alertname).toContain(t.alertname);
  });

  it('drops the node-level rules of OpenNebula and keeps its own alerts on the exporter of this release only', () => {
    expect(rendered).not.toMatch(/node_|libvirt/);
    for (const group of (parse(rendered) as { groups: Group[] }).groups) {
      for (const rule of group.rules) {
        if (/opennebula_|\bup\{/.test(rule.expr)) {
          expect(rule.expr, rule.alert).toContain('job="one-opennebula-metrics", namespace="cloud"');
        }
      }
    }
  });

  it('renders backup and mysqld rules only where those exist, and extra rules through tpl', () => {
    const plain = alerts(ruleFile(renderMetrics()));
    expect(plain).not.toContain('OpenNebulaBackupFailed');
    expect(plain).not.toContain('OpenNebulaDatabaseUnreachable');
    expect(plain).toContain('OpenNebulaDatabaseNotReady'); // the bundled MariaDB
    const external = alerts(
      ruleFile(
        renderMetrics([
          'mariadb.enabled=false',
          'externalDatabase.host=db.example.org',
          'externalDatabase.existingSecret=db',
        ]),
      ),
    );
    expect(external).not.toContain('OpenNebulaDatabaseNotReady');
    const extra = ruleFile(
      renderMetrics([
        'metrics.prometheusRule.rules[0].alert=Mine',
        'metrics.prometheusRule.rules[0].expr=up{namespace="{{ .Release.Namespace }}"} == 0',
      ]),
    );
    expect(extra).toContain('expr: up{namespace="cloud"} == 0');
  });

  it('goes where its values say: namespace and additional labels', () => {
    const rule = findKind(
      renderMetrics([
        'metrics.prometheusRule.namespace=monitoring',
        'metrics.prometheusRule.additionalLabels.release=kps',
      ]),
      'PrometheusRule',
    ) as unknown as { metadata: { namespace: string; labels: Record<string, string> } };
    expect(rule.metadata.namespace).toBe('monitoring');
    expect(rule.metadata.labels.release).toBe('kps');
  });
});
