/**
 * `memsleuth analyze` on a terminal: one sentence a manager understands, then the attribution tree, then the
 * evidence (leaks with their tests, lockstep clusters, owners, culprit tables, forecast, notes).
 * Every string from the target (cache, process, mapping, file names) goes through terminalSafe.
 */
import type { Analysis, AttributionNode, Leak, LeakKind, SeriesVerdict } from '../model/analysis.js';
import type { Colors } from './color.js';
import { terminalSafe } from './escape.js';
import { formatBytes, formatDelta, formatDuration, formatRate } from './units.js';
import { renderTable } from './table.js';
import { ownFootprintSection, reclaimProbeSection } from './side_sections.js';
import { displayName } from './display_name.js';

export { displayName };

const KIND_LABEL: Record<LeakKind, string> = {
  'kernel-slab': 'Kernel slab memory',
  'kernel-vmalloc': 'Kernel vmalloc memory',
  'kernel-stack': 'Kernel stack memory (threads)',
  'kernel-pagetables': 'Page-table memory',
  'kernel-other': 'Kernel memory nobody counts',
  user: 'User memory',
  file: 'A declared file',
};


function listNames(names: string[]): string {
  const s = names.map((n) => terminalSafe(n));
  if (s.length <= 1) return s.join('');
  return `${s.slice(0, -1).join(', ')} and ${s[s.length - 1] as string}`;
}

/** Below this window no rate per hour and no OOM time reach the headline (analyze/forecast.ts MIN_FORECAST_SPAN_SEC). */
const SHORT_WINDOW_SEC = 600;

const fewSamples = (l: Leak): boolean => l.ci[0] === null && l.ci[1] === null;

function sinceText(a: Analysis, sec: number, iso: string | null): string {
  if (iso) return ` since ${iso.slice(11, 16)}`;
  if (sec > a.window.fromSec && a.window.timeSource !== 'index') return ` since t=${formatDuration(sec)}`;
  return '';
}

function ciText(l: { ci: [number | null, number | null]; ciLevel: number | null }): string {
  const [lo, hi] = l.ci;
  if (lo === null || hi === null || l.ciLevel === null) return '';
  return ` (${Math.round(l.ciLevel * 100)}% CI ${formatRate(lo).replace('/h', '')} to ${formatRate(hi)})`;
}

function culpritPhrase(a: Analysis, l: Leak): string {
  const names = l.culprits.slice(0, 3).map(displayName);
  if (names.length === 0) return '';
  const cluster = a.clusters.find((c) => l.clusters.includes(c.id) && c.members.some((m) => m.key === l.culprits[0]));
  const inCluster = cluster ? `${listNames(cluster.members.slice(0, 4).map((m) => displayName(m.key)))} (one cluster growing in lockstep)` : '';
  return `, mostly ${inCluster || listNames(names)}`;
}

/** The one sentence a manager reads. */
export function summarySentence(a: Analysis): string {
  const l = a.leaks[0];
  const conf = a.confidence.level === 'high' ? '' : ` [${a.confidence.level} confidence: ${a.confidence.reason}]`;
  if (l) {
    const who = l.kind === 'user' && l.culprits[0] ? `${KIND_LABEL.user} of ${displayName(l.culprits[0])}` : l.kind === 'file' ? `Declared file ${terminalSafe(l.subject.replace(/^declared file /, ''))}` : KIND_LABEL[l.kind];
    const span = a.window.samples > 1 ? ((a.window.toSec - a.window.fromSec) * a.window.samples) / (a.window.samples - 1) : 0;
    // A rate per hour from seconds of samples is an extrapolation the data cannot carry: say what they show.
    const short = span < SHORT_WINDOW_SEC && !fewSamples(l) && a.window.timeSource !== 'index';
    const amount = fewSamples(l) || a.window.timeSource === 'index'
      ? ` leaks: ${formatDelta(l.growthBytes)} between the first and the last sample that show it`
      : short
        ? ` grew ${formatDelta(l.growthBytes)} in ${formatDuration(span)}`
        : ` leaks ${formatRate(l.rateBytesPerSec).replace(/^\+/, '')}${sinceText(a, l.sinceSec, l.since)}${ciText(l)}`;
    const more = a.leaks.length > 1 ? `; also ${a.leaks.slice(1, 3).map((x) => KIND_LABEL[x.kind].toLowerCase()).join(', ')}` : '';
    const f = a.forecast;
    const oom = f.status === 'oom-expected' && f.secondsToOom !== null
      ? (f.secondsToOom <= 0 ? '; memory is already at the OOM watermark' : a.window.timeSource === 'index' ? '' : `; OOM expected in ~${formatDuration(f.secondsToOom)}`)
      : '';
    const limits = short ? `; a ${formatDuration(span)} recording shows that memory rose, not how fast it keeps rising nor when an OOM would come (record ${formatDuration(SHORT_WINDOW_SEC)} or more)` : '';
    return `${who}${amount}${culpritPhrase(a, l)}${more}${oom}${limits}.${conf}`;
  }
  if (a.verdict === 'no-leak') {
    const b = a.system[0]?.bound;
    const bound = b ? `: bounded, ${b.what === 'troughs' ? `troughs flat at ${formatBytes(b.levelBytes)} over ${b.cycles ?? 0} cycles` : `level ${formatBytes(b.levelBytes)} held over ${formatDuration(b.spanSec)}`} (no growth faster than ${formatRate(b.maxRateBytesPerSec).replace(/^\+/, '')})` : '';
    return `No memory leak found over ${formatDuration(a.window.toSec - a.window.fromSec)} (${a.window.samples} samples)${bound}.${conf}`;
  }
  const more = a.system[0]?.recordMoreSec;
  return `Not decided yet: no leak shown, but growth cannot be ruled out${more ? `; record about ${formatDuration(more)} more` : ''}.${conf}`;
}

function verdictColor(c: Colors, v: string | null): (s: string) => string {
  if (v === 'leak') return c.red;
  if (v === 'inconclusive') return c.yellow;
  return (s: string) => s;
}

function treeLines(node: AttributionNode, c: Colors, prefix: string, last: boolean, root: boolean, out: string[][]): void {
  const branch = root ? '' : `${prefix}${last ? '└─ ' : '├─ '}`;
  const label = `${branch}${terminalSafe(node.label)}${node.additive ? '' : ' *'}`;
  const share = node.share === null ? '' : `${(node.share * 100).toFixed(0)}%`;
  const v = node.verdict ?? '';
  out.push([formatDelta(node.deltaBytes), share, formatBytes(node.endBytes ?? undefined), verdictColor(c, node.verdict)(v), label]);
  const kids = node.children.filter((k) => k.deltaBytes !== 0 || k.children.length > 0);
  const next = root ? '' : `${prefix}${last ? '   ' : '│  '}`;
  kids.forEach((k, i) => treeLines(k, c, next, i === kids.length - 1, false, out));
}

function culpritRows(rows: readonly SeriesVerdict[], name: (r: SeriesVerdict) => string, extra?: (r: SeriesVerdict) => string): string[][] {
  return rows.slice(0, 10).map((r) => [
    r.rule === 'few-samples' ? '-' : formatRate(r.rateBytesPerSec), formatDelta(r.growthBytes), r.verdict, r.level, String(r.points), `${name(r)}${extra ? extra(r) : ''}`,
  ]);
}

const CULPRIT_COLUMNS = [
  { header: 'rate', align: 'right' as const }, { header: 'growth', align: 'right' as const }, { header: 'verdict' },
  { header: 'conf.' }, { header: 'n', align: 'right' as const }, { header: 'name' },
];

export function renderAnalysis(a: Analysis, c: Colors, options: { width?: number } = {}): string {
  const out: string[] = [];
  const head = a.verdict === 'leak' ? c.red : a.verdict === 'inconclusive' ? c.yellow : c.green;
  out.push(head(c.bold(terminalSafe(a.summary || summarySentence(a)))));
  out.push(c.dim(`${terminalSafe(a.source)}: ${a.window.samples} samples over ${formatDuration(a.window.toSec - a.window.fromSec)}${a.window.timeSource ? `, time from ${a.window.timeSource}` : ''}; verdict ${a.verdict}, ${a.confidence.level} confidence (${terminalSafe(a.confidence.reason)})`));

  const at = a.attribution;
  out.push('', c.bold(`Where the change went (${at.basis === 'none' ? 'no meminfo' : at.basis}; MemAvailable ${formatDelta(at.memAvailableDeltaBytes ?? undefined)}, MemFree ${formatDelta(at.memFreeDeltaBytes ?? undefined)}; shares of the ${formatBytes(at.grossGrowthBytes)} that grew)`));
  const rows: string[][] = [];
  treeLines(at.root, c, '', true, true, rows);
  out.push(renderTable([{ header: 'change', align: 'right' }, { header: 'share', align: 'right' }, { header: 'now', align: 'right' }, { header: 'verdict' }, { header: 'group' }], rows, options.width));
  out.push(c.dim('* overlaps the groups above: shown, not added'));

  if (a.leaks.length > 0) {
    out.push('', c.bold('Leaks'));
    for (const l of a.leaks) {
      const rate = fewSamples(l) ? `${formatDelta(l.growthBytes)} between samples` : `${formatRate(l.rateBytesPerSec)}${ciText(l)}`;
      out.push(`${c.red('●')} ${KIND_LABEL[l.kind]}: ${terminalSafe(l.subject)} [${terminalSafe(l.key)}] ${rate}; ${l.confidence.level} confidence (${terminalSafe(l.confidence.reason)})`);
      if (l.culprits.length) out.push(`    culprits: ${listNames(l.culprits.map(displayName))}`);
      if (l.owners.length) out.push(`    owner: ${l.owners.map((o) => `${terminalSafe(o.comm)} (pid ${o.pid}, ${o.counter} climbs with it)`).join('; ')}`);
      for (const e of l.evidence) out.push(c.dim(`    ${terminalSafe(e)}`));
      if (l.nextStep) out.push(`    next: ${terminalSafe(l.nextStep)}`);
    }
  }
  if (a.clusters.length > 0) {
    out.push('', c.bold('Series growing in lockstep (one cause, several counters)'));
    for (const k of a.clusters) {
      out.push(`${k.id}: ${listNames(k.members.map((m) => `${displayName(m.key)} ${formatDelta(m.growthBytes)}${m.relativeGrowth !== null ? ` (x${(1 + m.relativeGrowth).toFixed(1)})` : ''}`))}; ${k.method}, ${k.confidence.level} confidence (${terminalSafe(k.confidence.reason)})`);
    }
  }
  if (a.culprits.owner.length > 0) {
    out.push('', c.bold('Owners of kernel growth'));
    for (const o of a.culprits.owner) {
      out.push(`${terminalSafe(o.comm)} (pid ${o.pid}): ${o.counter} +${o.counterGrowth} with ${displayName(o.kernelKey)} ${formatDelta(o.kernelGrowthBytes)}; ${o.confidence.level} confidence; ${terminalSafe(o.evidence.join('; '))}`);
    }
  }
  const sections: [string, readonly SeriesVerdict[], (r: SeriesVerdict) => string][] = [
    ['Slab caches', a.culprits.slab, (r) => displayName(r.key)],
    ['vmalloc callers', a.culprits.vmalloc, (r) => displayName(r.key)],
    ['Processes (USS)', a.culprits.process, (r) => displayName(r.key)],
    ['Mappings', a.culprits.mapping, (r) => displayName(r.key)],
    ['Kernel call sites (/proc/allocinfo)', a.culprits.allocinfo, (r) => displayName(r.key)],
    ['Declared files', a.culprits.file, (r) => r.key],
  ];
  for (const [title, list, name] of sections) {
    if (list.length === 0) continue;
    out.push('', c.bold(`${title}, ranked by leak rate`));
    out.push(renderTable(CULPRIT_COLUMNS, culpritRows(list, name, (r) => {
      const cl = (r as { cluster?: string | null }).cluster;
      return cl ? ` [${cl}]` : '';
    }), options.width));
  }
  // Reclaim probe first (it decides verdicts), then memsleuth's own footprint (report/side_sections.ts).
  for (const sec of [reclaimProbeSection(a), ownFootprintSection(a)]) {
    if (!sec) continue;
    out.push('', c.bold(sec.title) + c.dim(` (${sec.note})`));
    for (const line of sec.lines) out.push(terminalSafe(line));
  }
  out.push('', c.bold('System memory'));
  for (const s of a.system) out.push(`${s.key}: ${s.verdict} (${s.rule}), ${s.rule === 'few-samples' ? formatDelta(s.growthBytes) : `${formatRate(s.rateBytesPerSec)}${ciText(s)}`}, ${s.points} samples; ${terminalSafe(s.evidence[s.evidence.length - 1] ?? '')}`);
  const f = a.forecast;
  out.push('', c.bold('Time to OOM'));
  if (f.status === 'oom-expected') {
    const iv = f.interval;
    const range = iv[0] !== null || iv[1] !== null ? ` (interval ${formatDuration(iv[0] ?? undefined)} to ${iv[1] === null ? 'never' : formatDuration(iv[1])})` : '';
    const when = a.window.timeSource === 'index' && f.secondsToOom !== null
      ? `~${(f.secondsToOom / (a.window.intervalSec ?? 1)).toPrecision(2)} sample intervals (the log has no clock)`
      : `~${formatDuration(f.secondsToOom ?? undefined)}`;
    out.push(`OOM expected in ${when}${range}${f.at ? ` at ${f.at}` : ''}; ${f.confidence.level} confidence (${terminalSafe(f.confidence.reason)})`);
  } else if (f.status === 'too-short') out.push(`not forecast: ${terminalSafe(f.confidence.reason)}`);
  else out.push(f.status === 'no-oom-trend' ? 'no OOM trend: available memory is not falling' : 'unknown');
  for (const e of f.evidence) out.push(c.dim(`  ${terminalSafe(e)}`));
  if (a.notes.length > 0) {
    out.push('', c.bold('Notes'));
    for (const n of a.notes) out.push(`- ${terminalSafe(n)}`);
  }
  out.push(c.dim(`${a.stats.seriesJudged} series judged, ${a.stats.seriesSkippedFlat} skipped as flat, of ${a.stats.seriesTotal}; ${a.stats.elapsedMs} ms`));
  return out.join('\n');
}
