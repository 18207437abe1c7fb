/**
 * Reads Node's TAP stream line by line and keeps what a person needs from it: each failure as it happens (full
 * name, then its diagnostic block), the skipped tests with their reasons, and the runner's closing counts.
 * Node nests subtests by four spaces; a test's full name is its parents' names joined with " > ".
 */
const INDENT = 4;

interface Pending { name: string; failed: boolean; block: string[]; inBlock: boolean; indent: number }

export class TapSummary {
  readonly failed: string[] = [];
  readonly skipped: string[] = [];
  private readonly counts: string[] = [];
  private readonly names: string[] = [];
  private pending: Pending | null = null;
  private finished = 0;

  constructor(private readonly print: (line: string) => void) {}

  line(raw: string): void {
    const indent = raw.length - raw.trimStart().length;
    const text = raw.trimStart();
    if (this.pending?.inBlock) {
      this.pending.block.push(raw.slice(Math.min(indent, this.pending.indent + 2)));
      if (text === '...' && indent === this.pending.indent + 2) this.closePending();
      return;
    }
    const level = Math.floor(indent / INDENT);
    const subtest = /^# Subtest: (.*)$/.exec(text);
    if (subtest) {
      this.names.length = level;
      this.names[level] = subtest[1] ?? '';
      return;
    }
    const result = /^(not )?ok \d+ - (.*?)(?: # (SKIP|TODO)\b ?(.*))?$/.exec(text);
    if (result) {
      this.closePending();
      const name = [...this.names.slice(0, level), result[2] ?? ''].join(' > ');
      if (result[3] === 'SKIP') this.skipped.push(`${name}${result[4] ? ` (${result[4]})` : ''}`);
      this.pending = { name, failed: result[1] !== undefined && result[3] !== 'TODO', block: [], inBlock: false, indent };
      if (level === 0 && ++this.finished % 100 === 0) this.print(`# ... ${this.finished} tests done`);
      return;
    }
    if (text === '---' && this.pending && indent === this.pending.indent + 2) {
      this.pending.inBlock = true;
      return;
    }
    if (indent === 0 && /^# (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) /.test(text)) this.counts.push(text);
    else if (indent === 0 && text.startsWith('# ') && !text.startsWith('# Subtest')) this.print(text); // a test's own diagnostic
  }

  /** The closing lines: failures and skips by name, files left behind, then the runner's counts. */
  closing(leftovers: readonly string[], tapPath: string): string[] {
    this.closePending();
    const out = [''];
    if (this.skipped.length > 0) out.push(`${this.skipped.length} skipped:`, ...this.skipped.map((s) => `  - ${s}`));
    if (this.failed.length > 0) out.push(`${this.failed.length} failed:`, ...this.failed.map((s) => `  - ${s}`));
    if (leftovers.length > 0) {
      out.push(`${leftovers.length} temporary files or folders were left behind by the tests (removed now):`,
        ...leftovers.map((n) => `  - ${n}`));
    }
    out.push(`full TAP: ${tapPath}`, ...this.counts);
    return out;
  }

  private closePending(): void {
    const p = this.pending;
    this.pending = null;
    if (!p || !p.failed) return;
    // A parent fails because a child failed: the child was already reported.
    if (p.block.some((l) => /failureType: '?subtestsFailed/.test(l))) return;
    this.failed.push(p.name);
    this.print(`not ok - ${p.name}`);
    for (const l of p.block) this.print(`    ${l}`);
  }
}
