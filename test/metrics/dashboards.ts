// The Grafana dashboards the chart ships (chart/opennebula/files/dashboards): their panels' PromQL, with
// Grafana's variables given values, and the metric names each query reads.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHART } from './prometheus.js';

export const DASHBOARD_DIR = join(CHART, 'files/dashboards');

interface Panel {
  title?: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}
export interface Dashboard {
  title?: string;
  panels?: Panel[];
  templating?: { list?: { name: string; type: string; query?: unknown; definition?: string }[] };
}

export function dashboards(): [string, Dashboard][] {
  return readdirSync(DASHBOARD_DIR)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => [name, JSON.parse(readFileSync(join(DASHBOARD_DIR, name), 'utf8')) as Dashboard]);
}

/** Grafana's variables replaced by values PromQL accepts ($__rate_interval a duration, others a label value). */
export function substitute(expr: string): string {
  return expr
    .replace(/\$__(rate_interval|interval|range)|\$\{__(rate_interval|interval|range)\}/g, '5m')
    .replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, 'x');
}

/** Every panel query (nested rows too) as [panel title, PromQL]. */
export function panelQueries(dashboard: Dashboard): [string, string][] {
  const out: [string, string][] = [];
  const visit = (panels: Panel[] = []) => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        if (target.expr) out.push([panel.title ?? '(untitled)', substitute(target.expr)]);
      }
      visit(panel.panels);
    }
  };
  visit(dashboard.panels);
  return out;
}

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'inf',
  'nan',
]);

/**
 * The metric names a (valid) PromQL expression selects: identifiers outside label matchers, strings,
 * grouping clauses and durations that are not function calls or keywords.
 */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    if (match[2] || KEYWORDS.has(match[1]!.toLowerCase())) continue;
    names.add(match[1]!);
  }
  return [...names].sort();
}

/** The metric names the dashboards' panels read that are not in EMITTED, as "file: panel: name". */
export function unknownMetrics(list: [string, Dashboard][], emitted: Set<string>): string[] {
  return list.flatMap(([file, dashboard]) =>
    panelQueries(dashboard).flatMap(([title, expr]) =>
      metricNames(expr)
        .filter((name) => !emitted.has(name))
        .map((name) => `${file}: ${title}: ${name}`),
    ),
  );
}
