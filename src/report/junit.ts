/**
 * The verdicts of `memsleuth analyze` as JUnit XML, for CI dashboards: one test case for the system verdict,
 * one per leak (failed), one per judged culprit series (failed when it leaks, skipped when inconclusive).
 */
import type { AllocationSite } from '../model/allocation_site.js';
import type { Analysis, SeriesVerdict } from '../model/analysis.js';
import { formatBytes, formatDelta, formatRate } from './units.js';
import { formatFrame, siteWhere } from './evidence_text.js';

/** XML 1.0 text: escape markup, drop characters XML cannot carry (control characters other than tab/newline). */
export function xmlSafe(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '?')
    .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
}

interface Case { name: string; classname: string; failure?: string; skipped?: string; text?: string }

function seriesCase(classname: string, r: SeriesVerdict): Case {
  const c: Case = { name: r.key, classname, text: r.evidence.join('\n') };
  const what = `${r.verdict}: ${formatRate(r.rateBytesPerSec)} (${formatDelta(r.growthBytes)} over the window), ${r.level} confidence`;
  if (r.verdict === 'leak') c.failure = what;
  else if (r.verdict === 'inconclusive') c.skipped = what;
  return c;
}

/**
 * One case per allocation site a leak tool reported: failed for definitely/indirectly lost memory (and outstanding
 * memory of at least `minBytes`), skipped for "possibly lost", passed for still reachable.
 */
export function siteCases(sites: readonly AllocationSite[], minBytes = Infinity): Case[] {
  return sites.map((s) => {
    const where = siteWhere(s) ?? s.stack.map(formatFrame)[0] ?? '(no stack)';
    const amount = `${formatBytes(s.bytes)}${s.indirectBytes !== undefined ? ` (+${formatBytes(s.indirectBytes)} indirect)` : ''} in ${s.count} block${s.count === 1 ? '' : 's'}`;
    const c: Case = { name: `${s.kind} ${amount} at ${where}`, classname: `memsleuth.${s.tool}`, text: [s.origin ?? '', ...s.stack.map(formatFrame)].filter((x) => x !== '').join('\n') };
    const what = s.kind === 'definite' ? 'definitely lost' : s.kind === 'indirect' ? 'indirectly lost' : s.kind === 'possible' ? 'possibly lost' : s.kind;
    if (s.kind === 'definite' || s.kind === 'indirect' || (s.kind === 'outstanding' && s.bytes > 0 && s.bytes >= minBytes)) c.failure = `${what}: ${amount} (${s.tool})`;
    else if (s.kind === 'possible') c.skipped = `${what}: ${amount} (${s.tool})`;
    return c;
  });
}

function suite(name: string, suiteName: string, cases: Case[], seconds: number): string {
  const failures = cases.filter((c) => c.failure !== undefined).length;
  const skipped = cases.filter((c) => c.skipped !== undefined).length;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xmlSafe(name)}" tests="${cases.length}" failures="${failures}" skipped="${skipped}">`,
    `  <testsuite name="${xmlSafe(suiteName)}" tests="${cases.length}" failures="${failures}" skipped="${skipped}" errors="0" time="${seconds.toFixed(3)}">`,
  ];
  for (const c of cases) {
    lines.push(`    <testcase name="${xmlSafe(c.name)}" classname="${xmlSafe(c.classname)}">`);
    if (c.failure !== undefined) lines.push(`      <failure message="${xmlSafe(c.failure)}">${xmlSafe(c.text ?? '')}</failure>`);
    else if (c.skipped !== undefined) lines.push(`      <skipped message="${xmlSafe(c.skipped)}"/>`);
    else if (c.text) lines.push(`      <system-out>${xmlSafe(c.text)}</system-out>`);
    lines.push('    </testcase>');
  }
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}

export interface RunJunitInput {
  command: string;
  verdict: 'leak' | 'no-leak' | 'inconclusive';
  reasons: string[];
  processes: Array<{ pid: number; comm: string; verdict: string; rateBytesPerSec: number | null; test: string | null }>;
  sites: readonly AllocationSite[];
  minBytes: number;
  seconds: number;
}

/** `memsleuth run --junit`: the gate, each process of the command, each site the tool reported. */
export function renderRunJunit(r: RunJunitInput): string {
  const gate: Case = { name: 'leak gate', classname: 'memsleuth.run', text: r.reasons.join('\n') };
  if (r.verdict === 'leak') gate.failure = `leak: ${r.reasons.join('; ')}`;
  else if (r.verdict === 'inconclusive') gate.skipped = `inconclusive: ${r.reasons.join('; ')}`;
  const procs = r.processes.map((p): Case => {
    const c: Case = { name: `process ${p.comm} (pid ${p.pid})`, classname: 'memsleuth.run.process', text: p.test ?? '' };
    const what = `${p.verdict}${p.rateBytesPerSec !== null ? `: ${formatRate(p.rateBytesPerSec)}` : ''}${p.test !== null ? ` (${p.test})` : ''}`;
    if (p.verdict === 'leak') c.failure = what;
    else if (p.verdict === 'inconclusive') c.skipped = what;
    return c;
  });
  return suite('memsleuth run', r.command, [gate, ...procs, ...siteCases(r.sites, r.minBytes)], r.seconds);
}

/**
 * `memsleuth analyze --junit`: the verdicts; `sites` are a leak tool's reports kept beside a `run` recording
 * (its <name>.evidence/ folder), so definitely lost memory fails the suite even when no series grew.
 */
export function renderJunit(a: Analysis, sites: readonly AllocationSite[] = []): string {
  const cases: Case[] = [];
  const sys: Case = { name: 'system verdict', classname: 'memsleuth.system', text: a.summary || a.confidence.reason };
  if (a.verdict === 'leak') sys.failure = `leak (${a.confidence.level} confidence): ${a.summary}`;
  else if (a.verdict === 'inconclusive') sys.skipped = `inconclusive: ${a.confidence.reason}`;
  cases.push(sys);
  for (const l of a.leaks) {
    cases.push({ name: `${l.kind}: ${l.subject}`, classname: 'memsleuth.leak', failure: `${formatRate(l.rateBytesPerSec)}, ${l.confidence.level} confidence; culprits: ${l.culprits.join(', ')}`, text: l.evidence.join('\n') });
  }
  for (const [family, rows] of Object.entries(a.culprits)) {
    if (family === 'owner') continue;
    for (const r of rows as SeriesVerdict[]) cases.push(seriesCase(`memsleuth.${family}`, r));
  }
  cases.push(...siteCases(sites));
  return suite('memsleuth analyze', a.source, cases, a.stats.elapsedMs / 1000);
}
