/**
 * `--md FILE`: a short Markdown summary for a bug tracker: the verdict sentence, time to OOM, a small table of
 * what leaks (or of the largest allocation sites), and the top evidence with the next command to run.
 * Target strings pass markdownSafe (tables, code spans and HTML cannot be opened by a process name).
 */
import type { Analysis, SeriesVerdict } from '../model/analysis.js';
import type { AllocationSite } from '../model/allocation_site.js';
import { markdownSafe as md } from './escape.js';
import { displayName, summarySentence } from './analysis_text.js';
import { evidenceTotals, formatFrame, siteWhere } from './evidence_text.js';
import { formatBytes, formatDelta, formatDuration, formatRate } from './units.js';

export interface MarkdownOptions {
  /** Rows per table. Default 5. */
  top?: number;
  /** Frames per stack. Default 6. */
  frames?: number;
}

function table(head: string[], rows: string[][], right: ReadonlySet<number>): string[] {
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map((_, i) => (right.has(i) ? ' ---: ' : ' --- ')).join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

function oom(a: Analysis): string {
  const f = a.forecast;
  if (f.status === 'too-short') return `not forecast: ${md(f.confidence.reason)}`;
  if (f.status !== 'oom-expected' || f.secondsToOom === null) return f.status === 'no-oom-trend' ? 'no OOM trend' : 'unknown';
  if (f.secondsToOom <= 0) return 'already at the OOM watermark';
  const when = a.window.timeSource === 'index' ? `~${(f.secondsToOom / (a.window.intervalSec ?? 1)).toPrecision(2)} sample intervals` : `~${formatDuration(f.secondsToOom)}`;
  return `${when}${f.at ? ` (at ${md(f.at)})` : ''}, ${f.confidence.level} confidence`;
}

function culpritRows(a: Analysis, top: number): SeriesVerdict[] {
  const all: SeriesVerdict[] = [...a.culprits.slab, ...a.culprits.vmalloc, ...a.culprits.process, ...a.culprits.mapping, ...a.culprits.allocinfo, ...a.culprits.file];
  return all.filter((r) => r.verdict === 'leak').sort((x, y) => y.rateBytesPerSec - x.rateBytesPerSec || y.growthBytes - x.growthBytes).slice(0, top);
}

function analysisPart(a: Analysis, top: number): string[] {
  const out: string[] = [];
  out.push(`**${md(a.summary || summarySentence(a))}**`, '');
  out.push(`- Verdict: **${a.verdict}**, ${a.confidence.level} confidence (${md(a.confidence.reason)})`);
  out.push(`- Time to OOM: ${oom(a)}`);
  out.push(`- Recording: \`${a.source.replace(/`/g, "'")}\`, ${a.window.samples} samples over ${formatDuration(a.window.toSec - a.window.fromSec)}${a.window.timeSource ? ` (time from ${md(a.window.timeSource)})` : ''}`);
  out.push('');
  if (a.leaks.length > 0) {
    out.push(...table(['leak', 'series', 'rate', 'growth', 'confidence'], a.leaks.slice(0, top).map((l) => [
      md(l.subject), md(l.key), l.ci[0] === null && l.ci[1] === null ? '-' : formatRate(l.rateBytesPerSec), formatDelta(l.growthBytes), l.confidence.level,
    ]), new Set([2, 3])), '');
  }
  const rows = culpritRows(a, top);
  if (rows.length > 0) {
    out.push(...table(['culprit', 'rate', 'growth', 'confidence'], rows.map((r) => [
      md(displayName(r.key)), r.rule === 'few-samples' ? '-' : formatRate(r.rateBytesPerSec), formatDelta(r.growthBytes), r.level,
    ]), new Set([1, 2])), '');
  }
  const l = a.leaks[0];
  if (l) {
    out.push('Evidence:');
    for (const e of l.evidence.slice(0, 4)) out.push(`- ${md(e)}`);
    const cl = a.clusters.find((c) => l.clusters.includes(c.id));
    if (cl) out.push(`- lockstep: ${cl.members.slice(0, 5).map((m) => md(displayName(m.key))).join(', ')} grow together (${cl.method})`);
    for (const o of l.owners.slice(0, 2)) out.push(`- owner: ${md(o.comm)} (pid ${o.pid}), its ${md(o.counter)} climbs with it`);
    if (l.nextStep) out.push('', `Next: \`${l.nextStep.replace(/`/g, "'")}\``);
    out.push('');
  }
  return out;
}

function sitesPart(sites: readonly AllocationSite[], top: number, frames: number): string[] {
  if (sites.length === 0) return ['No allocation sites: the reports list no leaked or outstanding memory.', ''];
  const out: string[] = [];
  const total = sites.reduce((n, s) => n + s.bytes, 0);
  const tools = evidenceTotals(sites).map((t) => `${t.kind} (${t.tool}) ${formatBytes(t.bytes)}`).join(', ');
  out.push(`**${sites.length} allocation site${sites.length === 1 ? '' : 's'} holding ${formatBytes(total)}**: ${tools}`, '');
  out.push(...table(['#', 'bytes', 'objects', 'kind', 'where'], sites.slice(0, top).map((s, i) => [
    String(i + 1), formatBytes(s.bytes), String(s.count), `${s.kind} (${s.tool})`, md(siteWhere(s) ?? '(no stack)'),
  ]), new Set([0, 1, 2])), '');
  const first = sites[0];
  if (first && first.stack.length > 0) {
    out.push('Largest site:', '```');
    // Inside a fence nothing is markup; only a line of backticks could close it.
    for (const f of first.stack.slice(0, frames)) out.push(`  ${formatFrame(f).replace(/`{3,}/g, "'''").replace(/[\u0000-\u001f\u007f-\u009f]/g, '?')}`);
    if (first.stack.length > frames) out.push(`  ... ${first.stack.length - frames} more frames`);
    out.push('```', '');
  }
  return out;
}

/** The summary; `analysis` absent for an evidence-only summary. */
export function renderMarkdown(analysis: Analysis | undefined, sites?: readonly AllocationSite[], o: MarkdownOptions = {}): string {
  const top = o.top ?? 5;
  const out: string[] = ['### memsleuth', ''];
  if (analysis) out.push(...analysisPart(analysis, top));
  if (sites) out.push(...sitesPart(sites, top, o.frames ?? 6));
  return `${out.join('\n').trimEnd()}\n`;
}
