/**
 * The verdicts of `memsleuth analyze` as JUnit XML, for CI dashboards: one test case for the system verdict,
 * one per leak (failed), one per judged culprit series (failed when it leaks, skipped when inconclusive).
 */
import type { Analysis, SeriesVerdict } from '../model/analysis.js';
import { formatDelta, formatRate } from './units.js';

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

export function renderJunit(a: Analysis): string {
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
  const failures = cases.filter((c) => c.failure !== undefined).length;
  const skipped = cases.filter((c) => c.skipped !== undefined).length;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="memsleuth analyze" tests="${cases.length}" failures="${failures}" skipped="${skipped}">`,
    `  <testsuite name="${xmlSafe(a.source)}" tests="${cases.length}" failures="${failures}" skipped="${skipped}" errors="0" time="${(a.stats.elapsedMs / 1000).toFixed(3)}">`,
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
