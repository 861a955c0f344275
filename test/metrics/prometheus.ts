// A real Prometheus (Debian's `prometheus` package) configured from what the chart renders: the
// ServiceMonitor's endpoint (interval, timeout, path, relabelings) as a scrape job with the labels the
// Prometheus Operator gives such a target, and the PrometheusRule's groups as its rule file.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { eventually } from '../support/opennebula.js';
import { REPO_ROOT, requireTool, runTool } from '../support/tools.js';

export const CHART = join(REPO_ROOT, 'chart/opennebula');
export const RELEASE = 'one';
export const NAMESPACE = 'cloud';

type Manifest = { kind: string; metadata: { name: string }; spec: Record<string, unknown> };

/** The chart rendered with metrics on (and these --set values), as helm template gives it. */
export function renderMetrics(values: string[] = []): Manifest[] {
  const sets = [
    'metrics.enabled=true',
    'metrics.serviceMonitor.enabled=true',
    'metrics.prometheusRule.enabled=true',
    ...values,
  ];
  const text = runTool('helm', [
    'template',
    RELEASE,
    CHART,
    '--namespace',
    NAMESPACE,
    ...sets.flatMap((value) => ['--set', value]),
  ]);
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as Manifest | null)
    .filter((doc): doc is Manifest => doc !== null);
}

export function findKind(manifests: Manifest[], kind: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind);
  if (found.length !== 1) throw new Error(`${found.length} ${kind} rendered`);
  return found[0]!;
}

/** The PrometheusRule's groups as a Prometheus rule file. */
export function ruleFile(manifests: Manifest[]): string {
  return stringify({ groups: findKind(manifests, 'PrometheusRule').spec.groups });
}

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
/** A RelabelConfig of the operator's API (camelCase) as Prometheus' configuration (snake_case). */
function relabel(config: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(config).map(([key, value]) => [snake(key), value]));
}

/** The scrape job the Prometheus Operator makes of the ServiceMonitor, for a target at ADDRESS. */
export function scrapeJob(manifests: Manifest[], address: string): Record<string, unknown> {
  const monitor = findKind(manifests, 'ServiceMonitor');
  const service = manifests.find(
    (m) =>
      m.kind === 'Service' &&
      (m.metadata as { labels?: Record<string, string> }).labels?.['app.kubernetes.io/component'] ===
        'metrics',
  );
  if (!service) throw new Error('no metrics Service rendered');
  const [endpoint] = monitor.spec.endpoints as Record<string, unknown>[];
  const job: Record<string, unknown> = {
    job_name: service.metadata.name,
    metrics_path: endpoint!.path ?? '/metrics',
    static_configs: [
      {
        targets: [address],
        // What the operator's Kubernetes service discovery gives the target.
        labels: {
          namespace: NAMESPACE,
          service: service.metadata.name,
          pod: `${RELEASE}-opennebula-0`,
          container: 'exporter',
          endpoint: String(endpoint!.port),
        },
      },
    ],
  };
  if (endpoint!.interval) job.scrape_interval = endpoint!.interval;
  if (endpoint!.scrapeTimeout) job.scrape_timeout = endpoint!.scrapeTimeout;
  const relabelings = (endpoint!.relabelings ?? []) as Record<string, unknown>[];
  if (relabelings.length) job.relabel_configs = relabelings.map(relabel);
  const metricRelabelings = (endpoint!.metricRelabelings ?? []) as Record<string, unknown>[];
  if (metricRelabelings.length) job.metric_relabel_configs = metricRelabelings.map(relabel);
  return job;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface Prometheus {
  query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  /** Names of the alerts firing now. */
  firing(): Promise<string[]>;
  lastAlerts(): unknown;
  output(): string;
  stop(): Promise<void>;
}

/** Starts Prometheus scraping the exporter at ADDRESS with the chart's settings (scrape interval 5s). */
export async function startPrometheus(address: string): Promise<Prometheus> {
  const manifests = renderMetrics([
    'metrics.serviceMonitor.interval=5s',
    'metrics.serviceMonitor.scrapeTimeout=4s',
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'prometheus-'));
  writeFileSync(join(dir, 'rules.yaml'), ruleFile(manifests));
  writeFileSync(
    join(dir, 'prometheus.yml'),
    stringify({
      global: { evaluation_interval: '5s' },
      rule_files: [join(dir, 'rules.yaml')],
      scrape_configs: [scrapeJob(manifests, address)],
    }),
  );
  const port = await freePort();
  const child: ChildProcess = spawn(
    requireTool('prometheus'),
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const base = `http://127.0.0.1:${port}`;
  await eventually(
    async () => (await fetch(`${base}/-/ready`)).status === 200,
    60_000,
    () => `Prometheus ready:\n${output}`,
  );
  let alerts: unknown;
  const api = async (path: string) => {
    const body = (await (await fetch(`${base}${path}`)).json()) as {
      status: string;
      data: unknown;
      error?: string;
    };
    if (body.status !== 'success') throw new Error(`${path}: ${body.error}`);
    return body.data;
  };
  return {
    async query(expr) {
      const data = (await api(`/api/v1/query?query=${encodeURIComponent(expr)}`)) as { result: never[] };
      return data.result;
    },
    async firing() {
      const data = (await api('/api/v1/alerts')) as {
        alerts: { labels: { alertname: string }; state: string }[];
      };
      alerts = data.alerts;
      return data.alerts.filter((a) => a.state === 'firing').map((a) => a.labels.alertname);
    },
    lastAlerts: () => alerts,
    output: () => output,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('close', resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
