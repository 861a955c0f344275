// Job-summary building blocks shared by the actions: every text that reaches the summary's HTML goes through
// escapeHtml here, so a version string or a registry's error message can never inject markup.
import * as core from '@actions/core';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `<code>text</code>`, escaped. */
export function code(text: string): string {
  return `<code>${escapeHtml(text)}</code>`;
}

/** A link; only http(s) URLs become links, anything else is shown as plain text. */
export function link(text: string, url: string | undefined): string {
  if (!url || !/^https?:\/\//i.test(url)) return escapeHtml(text);
  return `<a href="${escapeHtml(url)}">${escapeHtml(text)}</a>`;
}

/** A cell whose content is already HTML (built with the helpers above). */
export interface HtmlCell {
  html: string;
}

export type Cell = string | number | HtmlCell;

function cellHtml(cell: Cell): string {
  if (typeof cell === 'object') return cell.html;
  return escapeHtml(String(cell));
}

/** An HTML table: a header row, then the rows; plain strings are escaped, HtmlCells are taken as they are. */
export function table(header: string[], rows: Cell[][]): string {
  const head = `<tr>${header.map((cell) => `<th>${escapeHtml(cell)}</th>`).join('')}</tr>`;
  const body = rows.map((row) => `<tr>${row.map((cell) => `<td>${cellHtml(cell)}</td>`).join('')}</tr>`);
  return `<table>${head}${body.join('')}</table>`;
}

/** Appends raw HTML blocks to the job summary and writes it (a no-op outside a runner). */
export async function writeSummary(blocks: string[]): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  for (const block of blocks) core.summary.addRaw(block, true);
  await core.summary.write();
}
