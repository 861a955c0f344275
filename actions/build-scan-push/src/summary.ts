// The job summary: what was built and pushed, the findings per severity, the most severe ones, the gate.
import { code, escapeHtml, link, table } from '../../shared/src/summary.js';
import type { SigningOutcome } from './sign.js';
import type { Layout } from '../../shared/src/oci-layout.js';
import { SEVERITIES, type Inputs } from './inputs.js';
import { mostSevere, type Counts, type Finding } from './report.js';

export interface PushResult {
  image: string;
  digest: string;
  /** Tags this run created or moved (empty: everything was already there). */
  tags: string[];
}

export interface SummaryInput {
  inputs: Inputs;
  layout: Layout;
  findings: Finding[];
  counts: Counts;
  failures: Finding[];
  gate: 'passed' | 'failed';
  pushed: PushResult[];
}

export function summaryBlocks(s: SummaryInput): string[] {
  const blocks = ['<h2>Build, scan and push</h2>'];
  blocks.push(
    `<p>Built ${s.layout.images.map((image) => code(image.platform)).join(', ')} once: ${code(s.layout.top.digest)}.</p>`,
  );
  const severities = [...SEVERITIES].reverse();
  blocks.push(
    table(
      ['Severity', 'Fixable', 'Unfixed', 'Fails the gate'],
      severities.map((severity) => [
        severity,
        s.counts[severity].fixable,
        s.counts[severity].unfixed,
        s.inputs.severity.includes(severity) ? (s.inputs.ignoreUnfixed ? 'fixable ones' : 'yes') : 'no',
      ]),
    ),
  );
  const top = mostSevere(s.findings);
  if (top.length > 0) {
    blocks.push('<h3>Most severe findings</h3>');
    blocks.push(
      table(
        ['ID', 'Severity', 'Package', 'Installed', 'Fixed in', 'Where'],
        top.map((f) => [
          { html: link(f.id, f.url) },
          f.severity,
          f.packageName,
          f.installed,
          f.fixed ?? 'no fix yet',
          f.where,
        ]),
      ),
    );
  }
  blocks.push(
    s.gate === 'passed'
      ? '<p><strong>Gate: passed.</strong></p>'
      : `<p><strong>Gate: failed</strong>: ${s.failures.length} finding(s) at ${code(s.inputs.severity.join(','))}` +
          `${s.inputs.ignoreUnfixed ? ' with a fix available' : ''}. Nothing was pushed.</p>`,
  );
  if (s.gate === 'passed' && !s.inputs.push) blocks.push('<p>push is false: nothing was pushed.</p>');
  for (const result of s.pushed) {
    blocks.push(
      `<p>${code(`${result.image}@${result.digest}`)}: ` +
        (result.tags.length > 0
          ? `pushed ${result.tags.map((tag) => code(tag)).join(' ')}`
          : 'every tag was already there (no-op)') +
        '.</p>',
    );
  }
  return blocks;
}

/** Signatures and attestations, the verify commands, or why nothing was signed. */
export function signingBlocks(s: SigningOutcome): string[] {
  const blocks = ['<h3>Signatures and attestations</h3>'];
  if (s.note) return [...blocks, `<p>${escapeHtml(s.note)}.</p>`];
  if (s.result) {
    const rows = [
      ...s.result.signatures.map((ref) => ['signature', ref]),
      ...s.result.attestations.map((line) => [line.split(' ')[0]!, line.split(' ')[1]!]),
    ];
    blocks.push(
      table(
        ['Kind', 'Reference'],
        rows.map(([kind, ref]) => [kind!, { html: code(ref!) }]),
      ),
    );
    if (s.result.existing.length > 0) {
      blocks.push(
        `<p>Already there (not added again): ${s.result.existing.map((e) => code(e)).join(', ')}.</p>`,
      );
    }
  }
  if (s.error)
    blocks.push(`<p><strong>Signing failed</strong>: <pre>${escapeHtml(s.error.message)}</pre></p>`);
  if (s.verify.length > 0) {
    blocks.push('<p>Verify before use:</p>', `<pre>${escapeHtml(s.verify.join('\n'))}</pre>`);
  }
  return blocks;
}
