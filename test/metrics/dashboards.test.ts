// The dashboards the chart ships: every panel query is valid PromQL (parsed by promtool, as recording rules),
// the datasource is the DS_PROMETHEUS variable, and the name check the rig test applies against the
// exporter's real output finds a panel naming a metric the exporter does not emit.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { requireTool, runCommand } from '../support/tools.js';
import {
  dashboards,
  metricNames,
  panelQueries,
  substitute,
  unknownMetrics,
  type Dashboard,
} from './dashboards.js';

const dir = mkdtempSync(join(tmpdir(), 'dashboards-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the Grafana dashboards of the chart', () => {
  const list = dashboards();

  it('are OpenNebula 7.4 dashboards whose panels all have queries', () => {
    expect(list.map(([file]) => file)).toEqual(['opennebula.json']);
    for (const [file, dashboard] of list) expect(panelQueries(dashboard).length, file).toBeGreaterThan(5);
  });

  it('have only valid PromQL in their panels (promtool parses each query)', async () => {
    const queries = list.flatMap(([file, d]) =>
      panelQueries(d).map(([title, expr]) => ({ file, title, expr })),
    );
    const rules = queries.map((q, i) => ({ record: `dashboard:query_${i}`, expr: q.expr }));
    writeFileSync(join(dir, 'queries.yaml'), stringify({ groups: [{ name: 'dashboards', rules }] }));
    const check = await runCommand(requireTool('promtool'), ['check', 'rules', join(dir, 'queries.yaml')]);
    expect(
      check.code,
      `${check.stdout}${check.stderr}\n${queries.map((q, i) => `${i} ${q.file}: ${q.title}: ${q.expr}`).join('\n')}`,
    ).toBe(0);
  });

  it('fails a panel whose query does not parse', async () => {
    writeFileSync(
      join(dir, 'bad.yaml'),
      stringify({ groups: [{ name: 'd', rules: [{ record: 'd:q', expr: 'sum(opennebula_vm_total' }] }] }),
    );
    const check = await runCommand(requireTool('promtool'), ['check', 'rules', join(dir, 'bad.yaml')]);
    expect(check.code).not.toBe(0);
  });

  it('take the datasource from the DS_PROMETHEUS variable', () => {
    for (const [file, dashboard] of list) {
      const variable = dashboard.templating?.list?.find((v) => v.name === 'DS_PROMETHEUS');
      expect(variable, file).toMatchObject({ type: 'datasource', query: 'prometheus' });
      const text = JSON.stringify(dashboard.panels);
      const uids = [...text.matchAll(/"datasource":\{"type":"prometheus","uid":"([^"]*)"\}/g)].map(
        (m) => m[1],
      );
      expect(new Set(uids), file).toEqual(new Set(['${DS_PROMETHEUS}']));
    }
  });

  it('reads metric names out of queries, so a panel naming a metric the exporter lacks is found', () => {
    expect(metricNames('scalar(count(opennebula_vm_state{} == 1))')).toEqual(['opennebula_vm_state']);
    expect(metricNames('sum by (one_host_id)(rate(node_cpu_seconds_total{mode="idle"}[5m])) * 100')).toEqual([
      'node_cpu_seconds_total',
    ]);
    expect(
      metricNames(substitute('opennebula_host_vms{one_host_id="$one_host_id"} offset $__interval')),
    ).toEqual(['opennebula_host_vms']);
    const fake: Dashboard = {
      panels: [{ title: 'CPU', targets: [{ expr: 'avg(node_load5) / opennebula_host_total' }] }],
    };
    expect(unknownMetrics([['fake.json', fake]], new Set(['opennebula_host_total']))).toEqual([
      'fake.json: CPU: node_load5',
    ]);
  });
});
