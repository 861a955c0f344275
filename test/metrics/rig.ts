// OpenNebula's exporter on the real-OpenNebula rig (test/support/opennebula.ts): what the exporter needs
// beyond OpenNebula's own build, and reading what it serves.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/tools.js';

// The prometheus-client gem OpenNebula 7.4's exporter pins (share/install_gems/*/Gemfile.lock); Debian
// does not package it and RubyGems is unreachable here: its source (github.com/prometheus/client_ruby at
// v4.2.5) is taken from ../shared/upstream-src, verified. Sinatra and Rack are Debian's (ruby-sinatra,
// ruby-rack, with ruby-webrick as the server), as for OneFlow and OneGate on the rig.
const GEM_DIR = process.env.OPENNEBULA_SOURCE_DIR ?? join(REPO_ROOT, '..', 'shared', 'upstream-src');
const GEM_ARCHIVE = join(GEM_DIR, 'prometheus-client-ruby-4.2.5.tar.gz');
const GEM_SHA256 = 'd55feaa8dabeb80bff30056fae56f0164f13dd16b93c96059c6c2bcc48b978d7';

/** Why the exporter cannot run here, or undefined when it can. */
export function exporterGemMissing(): string | undefined {
  if (!existsSync(GEM_ARCHIVE)) {
    return `the prometheus-client 4.2.5 gem source is missing: put prometheus-client-ruby-4.2.5.tar.gz (github.com/prometheus/client_ruby at v4.2.5, sha256 ${GEM_SHA256}) in ../shared/upstream-src (or OPENNEBULA_SOURCE_DIR)`;
  }
  return undefined;
}

/**
 * Adds the gem's library to the rig's image layer where Debian's Ruby finds it (vendor_ruby), as a
 * distribution package of it would; refuses an archive that is not the pinned one.
 */
export function addPrometheusClient(layer: string): void {
  const sha = createHash('sha256').update(readFileSync(GEM_ARCHIVE)).digest('hex');
  if (sha !== GEM_SHA256) throw new Error(`${GEM_ARCHIVE} has sha256 ${sha}, not the pinned ${GEM_SHA256}`);
  const target = join(layer, 'usr/lib/ruby/vendor_ruby');
  mkdirSync(target, { recursive: true });
  execFileSync('tar', [
    '-xzf',
    GEM_ARCHIVE,
    '-C',
    target,
    '--strip-components=2',
    'prometheus-client-ruby-4.2.5/lib',
  ]);
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition format (comments skipped). */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key!] = value!;
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The one sample named NAME whose labels include LABELS; throws listing what there is otherwise. */
export function sample(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([key, value]) => s.labels[key] === value),
  );
  if (found.length !== 1) {
    const named = samples.filter((s) => s.name === name).map((s) => JSON.stringify(s));
    throw new Error(
      `${found.length} samples of ${name} ${JSON.stringify(labels)}; samples of ${name}:\n${named.join('\n')}`,
    );
  }
  return found[0]!.value;
}

export async function scrape(port = 9925): Promise<Sample[]> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
  return parseMetrics(await response.text());
}

/** Whether something accepts connections on 127.0.0.1:PORT. */
export function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
