/**
 * `--watch-file PATH[:FORMAT]`: any extra file read in every sample (a vendor dump such as
 * /proc/mi_modules/mi_sys_mma/mma_heap_name0) and reduced to numbers by its declared format, so it becomes
 * series `file.<name>.<field>` (DESIGN.md, "Series keys"). Pure: the target reads, this reduces.
 *
 *   kv            "used: 4096 kB" / "heap_free = 0x1000"   -> { used: 4194304, heap_free: 4096 }
 *   table         "name  size  used" + rows                 -> { "mma0.size": ..., "mma0.used": ... }
 *   count:REGEX   lines matching REGEX                      -> { count: 17 }
 *   dmabuf        debugfs dma_buf/bufinfo                   -> { bytes, buffers, "ion.bytes", "ion.buffers", ... }
 *   ion           debugfs ion/heaps/<heap>                  -> { bytes, orphaned, deferred_free, pools, "pid611.bytes", ... }
 *   mali          debugfs mali0/gpu_memory                  -> { pages, contexts, "pid8338.pages", ... } ("used" where
 *                                                               the file does not say pages)
 *   dmabuf_sysfs  the /sys/kernel/dmabuf/buffers tree         -> { bytes, buffers, "system.bytes", "system.buffers", ... }
 *                 (a directory per buffer, one value per file: read by a shell loop, see dmabufSysfsCommand)
 *   kgsl_sysfs    the /sys/class/kgsl/kgsl/proc tree          -> { processes, gpumem_mapped, "pid1234.gpumem_mapped", ... }
 *                 (Qualcomm Adreno: a directory per process, one value per file, see kgslSysfsCommand)
 *
 * A size with a unit (kB, KiB, MB, ...) becomes bytes; a bare number stays as printed.
 */
import { InputError } from '../model/errors.js';
import { parseDmabufBufinfo } from '../parse/dmabuf_bufinfo.js';
import { parseMaliGpuMemory } from '../parse/mali_gpu_memory.js';
import { parseIonHeap } from '../parse/ion_heap.js';
import { warning, type Parsed, type ParseWarning } from '../model/parsed.js';

export type WatchFormat =
  | { kind: 'kv' }
  | { kind: 'table' }
  | { kind: 'dmabuf' }
  | { kind: 'mali' }
  | { kind: 'ion' }
  | { kind: 'dmabuf_sysfs' }
  | { kind: 'kgsl_sysfs' }
  | { kind: 'count'; regex: RegExp };

export interface WatchSpec {
  /** Series name: the file's base name made safe for a frame marker and a series key ("mma_heap_name0"). */
  name: string;
  path: string;
  format: WatchFormat;
}

const FORMAT_RE = /:(kv|table|dmabuf_sysfs|dmabuf|kgsl_sysfs|mali|ion|count:.*)$/s;

function formatOf(text: string, spec: string): WatchFormat {
  if (text === 'kv') return { kind: 'kv' };
  if (text === 'table') return { kind: 'table' };
  if (text === 'dmabuf_sysfs') return { kind: 'dmabuf_sysfs' };
  if (text === 'kgsl_sysfs') return { kind: 'kgsl_sysfs' };
  if (text === 'dmabuf') return { kind: 'dmabuf' };
  if (text === 'mali') return { kind: 'mali' };
  if (text === 'ion') return { kind: 'ion' };
  const source = text.slice('count:'.length);
  if (source === '') throw new InputError(`Cannot use --watch-file "${spec}": "count:" needs a regular expression after it`);
  try {
    return { kind: 'count', regex: new RegExp(source) };
  } catch (err) {
    throw new InputError(`Cannot use --watch-file "${spec}": "${source}" is not a valid regular expression (${(err as Error).message})`);
  }
}

/** Base name reduced to the characters a frame marker and a series key accept. */
function nameOf(path: string): string {
  const base = path.replace(/\/+$/, '').split('/').pop() ?? '';
  const safe = base.replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^_+|_+$/g, '');
  return safe === '' ? 'file' : safe;
}

/**
 * Parses one `PATH[:FORMAT]`. The format is recognised only at the end ("…:kv", "…:table") or as the first
 * ":count:" (a regex may hold colons), so a path with colons of its own still works. Default format: kv.
 */
export function parseWatchSpec(spec: string): WatchSpec {
  let path = spec;
  let format: WatchFormat = { kind: 'kv' };
  const countAt = spec.indexOf(':count:');
  if (countAt > 0) {
    path = spec.slice(0, countAt);
    format = formatOf(spec.slice(countAt + 1), spec);
  } else {
    const m = FORMAT_RE.exec(spec);
    if (m) {
      path = spec.slice(0, m.index);
      format = formatOf(m[1] ?? '', spec);
    }
  }
  if (path === '') throw new InputError(`Cannot use --watch-file "${spec}": no path before the format`);
  const word = /:([A-Za-z]+)$/.exec(spec);
  if (format.kind === 'kv' && path === spec && word) {
    // "FILE:bogus" is far more often a mistyped format than a file whose name ends in ":bogus".
    throw new InputError(`Cannot use --watch-file "${spec}": unknown format "${word[1]}" (kv, table, dmabuf, ion, mali or count:REGEX; a path that ends in ":${word[1]}" is written "${spec}:kv")`);
  }
  if (path.includes('\0') || path.includes('\n')) throw new InputError(`Cannot use --watch-file "${spec}": the path holds a NUL or newline`);
  // The dma-buf sysfs stats are a directory, not a file: `cat` cannot read them, the tree loop can.
  if (DMABUF_SYSFS_DIR.test(path) && (format.kind === 'kv' || format.kind === 'dmabuf')) format = { kind: 'dmabuf_sysfs' };
  if (KGSL_SYSFS_DIR.test(path) && format.kind === 'kv') format = { kind: 'kgsl_sysfs' };
  return { name: nameOf(path), path, format };
}

/** Several specs: names made unique ("heap", "heap_2") so two files with one base name stay two series. */
export function parseWatchSpecs(specs: readonly string[]): WatchSpec[] {
  const used = new Map<string, number>();
  return specs.map((s) => {
    const w = parseWatchSpec(s);
    const n = (used.get(w.name) ?? 0) + 1;
    used.set(w.name, n);
    return n === 1 ? w : { ...w, name: `${w.name}_${n}` };
  });
}

const BARE_NUMBER_RE = /^(?:0x[0-9a-fA-F]+|[+-]?\d+(?:\.\d+)?)$/;

const UNIT: Record<string, number> = {
  b: 1, byte: 1, bytes: 1,
  k: 1024, kb: 1024, kib: 1024,
  m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2,
  g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3,
};

const NUMBER_RE = /^(0x[0-9a-fA-F]+|[+-]?\d+(?:\.\d+)?)(?:\s*([A-Za-z]+))?/;

/** "4096 kB" -> 4194304, "0x1000" -> 4096, "12" -> 12, "12 pages" -> 12; undefined when no leading number. */
export function parseWatchNumber(text: string): number | undefined {
  const m = NUMBER_RE.exec(text.trim());
  if (!m) return undefined;
  const raw = m[1] ?? '';
  const n = raw.startsWith('0x') ? Number.parseInt(raw.slice(2), 16) : Number(raw);
  if (!Number.isFinite(n)) return undefined;
  const unit = m[2] === undefined ? undefined : UNIT[m[2].toLowerCase()];
  return unit === undefined ? n : n * unit;
}

/** A field name as it can sit in a series key: spaces and dots become "_". */
const fieldKey = (s: string): string => s.trim().replace(/[\s.]+/g, '_');

/**
 * Names of the numbers of one-line /proc/sys files (Documentation/admin-guide/sysctl/fs.rst), by base name:
 * "1798\t0\t2466239" in file-nr is allocated, free (always 0 since 2.6), max.
 */
const BARE_FIELDS: Record<string, readonly string[]> = {
  'file-nr': ['allocated', 'free', 'max'],
  'inode-nr': ['nr_inodes', 'nr_free_inodes'],
  'inode-state': ['nr_inodes', 'nr_free_inodes', 'preshrink'],
  'dentry-state': ['nr_dentry', 'nr_unused', 'age_limit', 'want_pages', 'nr_negative', 'dummy'],
};

const PAIRS_RE = /^(?:\s*[A-Za-z_][\w-]*\s+(?:0x[0-9a-fA-F]+|[+-]?\d+(?:\.\d+)?))+\s*$/;

function reduceKv(text: string, name = ''): Parsed<Record<string, number>> {
  const value: Record<string, number> = {};
  const warnings: ParseWarning[] = [];
  let lineNo = 0;
  for (const line of text.split('\n')) {
    lineNo++;
    if (line.trim() === '') continue;
    const sep = /[:=]/.exec(line);
    if (!sep) {
      // A line of bare numbers (file-nr "1798 0 2466239"): named fields where the file is known, else col1, col2, ...
      const cells = line.trim().split(/\s+/);
      if (cells.every((c) => BARE_NUMBER_RE.test(c))) {
        const names = BARE_FIELDS[name];
        const prefix = lineNo > 1 ? `line${lineNo}.` : '';
        cells.forEach((c, i) => { value[`${prefix}${names?.[i] ?? `col${i + 1}`}`] = parseWatchNumber(c) as number; });
        continue;
      }
      warnings.push(warning(lineNo, line, 'no "key: value" or "key = value" separator', 'info'));
      continue;
    }
    const key = fieldKey(line.slice(0, sep.index));
    const rest = line.slice(sep.index + 1);
    // "TCP: inuse 32 orphan 0 tw 3 alloc 32 mem 17" (/proc/net/sockstat): one number per word.
    if (key !== '' && PAIRS_RE.test(rest)) {
      const words = rest.trim().split(/\s+/);
      for (let i = 0; i + 1 < words.length; i += 2) value[`${key}.${fieldKey(words[i] ?? '')}`] = parseWatchNumber(words[i + 1] ?? '') as number;
      continue;
    }
    const n = parseWatchNumber(rest);
    if (key === '' || n === undefined) { warnings.push(warning(lineNo, line, 'value is not a number', 'info')); continue; }
    if (key in value) warnings.push(warning(lineNo, line, `key "${key}" repeated; the later value is kept`, 'info'));
    value[key] = n;
  }
  return { value, warnings };
}

function reduceTable(text: string): Parsed<Record<string, number>> {
  const value: Record<string, number> = {};
  const warnings: ParseWarning[] = [];
  const lines = text.split('\n');
  const headerAt = lines.findIndex((l) => l.trim() !== '');
  if (headerAt < 0) return { value, warnings };
  const header = (lines[headerAt] ?? '').trim().split(/\s+/).map(fieldKey);
  for (let i = headerAt + 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.trim() === '') continue;
    const cells = line.trim().split(/\s+/);
    // A row whose first cell is not a number names itself; otherwise its 1-based row number does.
    const first = cells[0] ?? '';
    const named = !BARE_NUMBER_RE.test(first);
    const rowName = named ? fieldKey(first) : String(i - headerAt);
    const offset = named ? 1 : 0;
    // Headers often name the first column too ("name size used"): align cells to the header's right end.
    const shift = header.length - cells.length;
    let numbers = 0;
    for (let c = offset; c < cells.length; c++) {
      const col = header[c + shift] ?? `col${c + 1}`;
      const n = parseWatchNumber(cells[c] ?? '');
      if (n === undefined) continue;
      value[`${rowName}.${col}`] = n;
      numbers++;
    }
    if (numbers === 0) warnings.push(warning(i + 1, line, 'row has no numeric cell', 'info'));
  }
  return { value, warnings };
}

/** dma_buf/bufinfo: the total and each exporter's bytes and buffer count (a dma-buf or ION heap leak grows one). */
function reduceDmabuf(text: string): Parsed<Record<string, number>> {
  const r = parseDmabufBufinfo(text);
  const value: Record<string, number> = {};
  if (r.value.buffers.length > 0 || r.value.printedTotal !== undefined) {
    value['bytes'] = r.value.totalBytes;
    value['buffers'] = r.value.buffers.length;
    for (const [exp, e] of Object.entries(r.value.byExporter)) {
      value[`${fieldKey(exp)}.bytes`] = e.bytes;
      value[`${fieldKey(exp)}.buffers`] = e.count;
    }
  }
  return { value, warnings: r.warnings };
}

/**
 * mali0/gpu_memory: the device's GPU memory, how many contexts hold some, and each process's (its contexts summed):
 * a GPU memory leak grows one process's number and the device's.
 */
function reduceMali(text: string): Parsed<Record<string, number>> {
  const r = parseMaliGpuMemory(text);
  const value: Record<string, number> = {};
  const dev = r.value.values[0];
  if (dev !== undefined) {
    const unit = r.value.pages ? 'pages' : 'used';
    value[unit] = dev;
    value['contexts'] = r.value.contexts.length;
    for (const c of r.value.contexts) {
      if (c.pid === undefined) continue;
      const k = `pid${c.pid}.${unit}`;
      value[k] = (value[k] ?? 0) + (c.values[0] ?? 0);
    }
  }
  return { value, warnings: r.warnings };
}

/**
 * An ION heap: its total (every buffer), the orphaned part, deferred frees and page pools, and each client process's
 * bytes (its rows summed; a buffer shared by two clients counts in both).
 */
function reduceIon(text: string): Parsed<Record<string, number>> {
  const r = parseIonHeap(text);
  const v = r.value;
  const value: Record<string, number> = {};
  if (v.total !== undefined) value['bytes'] = v.total;
  if (v.totalOrphaned !== undefined) value['orphaned'] = v.totalOrphaned;
  if (v.deferredFree !== undefined) value['deferred_free'] = v.deferredFree;
  const pools = v.poolTotal ?? (Object.keys(v.poolLines).length > 0 ? Object.values(v.poolLines).reduce((n, b) => n + b, 0) : undefined);
  if (pools !== undefined) value['pools'] = pools;
  for (const c of v.clients) value[`pid${c.pid}.bytes`] = (value[`pid${c.pid}.bytes`] ?? 0) + c.bytes;
  return { value, warnings: r.warnings };
}

function reduceCount(text: string, regex: RegExp): Parsed<Record<string, number>> {
  // A global or sticky regex keeps lastIndex between test() calls; a fresh copy without those flags does not.
  const re = new RegExp(regex.source, regex.flags.replace(/[gy]/g, ''));
  let count = 0;
  for (const line of text.split('\n')) if (line !== '' && re.test(line)) count++;
  return { value: { count }, warnings: [] };
}

/**
 * Reduces a watched file's text to named numbers by its declared format. Never throws on input. `path` names
 * the fields of known one-line files (file-nr, inode-nr, dentry-state).
 */
export function reduceWatched(text: string, format: WatchFormat, path = ''): Parsed<Record<string, number>> {
  switch (format.kind) {
    case 'kv': return reduceKv(text, path.replace(/\/+$/, '').split('/').pop() ?? '');
    case 'table': return reduceTable(text);
    case 'count': return reduceCount(text, format.regex);
    case 'dmabuf': return reduceDmabuf(text);
    case 'mali': return reduceMali(text);
    case 'ion': return reduceIon(text);
    case 'dmabuf_sysfs': return reduceDmabufSysfs(text);
    case 'kgsl_sysfs': return reduceKgslSysfs(text);
  }
}

/** The directory trees read by a shell loop instead of `cat` (one value per file), by the path that names them. */
export type TreeKind = 'dmabuf_sysfs' | 'kgsl_sysfs';

export function treeKindOf(path: string): TreeKind | undefined {
  return DMABUF_SYSFS_DIR.test(path) ? 'dmabuf_sysfs' : KGSL_SYSFS_DIR.test(path) ? 'kgsl_sysfs' : undefined;
}

/** The listing command of a tree (the path already quoted for the target's shell). */
export function treeCommand(kind: TreeKind, quotedPath: string): string {
  return kind === 'dmabuf_sysfs' ? dmabufSysfsCommand(quotedPath) : kgslSysfsCommand(quotedPath);
}

/**
 * Qualcomm's KGSL (Adreno GPU) per-process accounting, /sys/class/kgsl/kgsl/proc/<pid>/ (kgsl_sharedmem.c): one
 * value per file, bytes: gpumem_mapped, gpumem_unmapped, imported_mem on newer drivers; kernel, user, ion, mapped
 * and their *_max on older ones. Android's memtrack HAL reads these for "GL mtrack" and "EGL mtrack".
 */
const KGSL_SYSFS_DIR = /(?:^|\/)sys\/(?:class|devices\/virtual)\/kgsl\/kgsl\/proc\/*$/;
export const KGSL_SYSFS_HEADER = 'kgsl sysfs: pid file=value ...';

/** The shell command that lists the tree as one line per process: "<pid> <file>=<value> ...". Builtins only besides `[`. */
export function kgslSysfsCommand(quotedPath: string): string {
  return `if [ -d ${quotedPath} ]; then echo '${KGSL_SYSFS_HEADER}'; for _ms_p in ${quotedPath}/[0-9]*; do [ -d "$_ms_p" ] || continue; _ms_l=\${_ms_p##*/}; for _ms_f in "$_ms_p"/*; do [ -f "$_ms_f" ] || continue; _ms_v=; { read -r _ms_v < "$_ms_f"; } 2>/dev/null; _ms_l="$_ms_l \${_ms_f##*/}=\${_ms_v:-?}"; done; echo "$_ms_l"; done; else echo ${quotedPath}': no such directory (no Qualcomm KGSL driver)'; false; fi`;
}

/**
 * The listing of kgslSysfsCommand (or of the local reader): each process's files as `pid<PID>.<file>`, and each
 * file summed over processes (its *_max peaks are per process only) with the count of processes as `processes`.
 */
function reduceKgslSysfs(text: string): Parsed<Record<string, number>> {
  const value: Record<string, number> = {};
  const warnings: ParseWarning[] = [];
  const lines = text.split('\n');
  let header = false;
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').replace(/\r$/, '');
    if (line.trim() === '') continue;
    if (line.trim() === KGSL_SYSFS_HEADER) { header = true; value['processes'] = 0; continue; }
    const words = line.trim().split(/\s+/);
    const pid = words[0] ?? '';
    if (!header || !/^\d+$/.test(pid)) { warnings.push(warning(i + 1, line, header ? 'not a "pid file=value ..." line' : `no "${KGSL_SYSFS_HEADER}" line before it`, 'data-loss')); continue; }
    value['processes'] = (value['processes'] ?? 0) + 1;
    for (const w of words.slice(1)) {
      const eq = w.indexOf('=');
      const n = eq > 0 ? parseWatchNumber(w.slice(eq + 1)) : undefined;
      if (n === undefined) continue; // "?": the file went with its process, or holds no number
      const file = fieldKey(w.slice(0, eq));
      value[`pid${pid}.${file}`] = n;
      if (!file.endsWith('_max')) value[file] = (value[file] ?? 0) + n;
    }
  }
  return { value, warnings };
}

/**
 * /sys/kernel/dmabuf/buffers (Documentation/ABI/testing/sysfs-kernel-dmabuf-buffers, CONFIG_DMABUF_SYSFS_STATS,
 * 5.13 to 6.x): a directory per DMA-BUF, named by its inode, each with `exporter_name` ("system", "qcom,system")
 * and `size` (bytes), one value per file. Android reads it instead of debugfs bufinfo on production builds.
 */
const DMABUF_SYSFS_DIR = /(?:^|\/)sys\/kernel\/dmabuf\/buffers\/*$/;
/** Whether a path is the dma-buf sysfs tree (read by dmabufSysfsCommand, not `cat`). */
export function isDmabufSysfsDir(path: string): boolean {
  return DMABUF_SYSFS_DIR.test(path);
}

/** The tree loop's first line: the listing says what it is, so a capture log's section is recognised by it. */
export const DMABUF_SYSFS_HEADER = 'dmabuf sysfs: inode size exporter_name';

/**
 * The shell command that lists the tree as one line per buffer: "<inode> <size> <exporter_name>", under
 * DMABUF_SYSFS_HEADER. Builtins only besides `[` (busybox, toybox/mksh, dash): a buffer freed between the glob and
 * its reads prints "?" where a value was, never an error line; a missing directory is an error (exit 1), as `cat`
 * of a missing file is. The path is quoted by the caller's quote function.
 */
export function dmabufSysfsCommand(quotedPath: string): string {
  return `if [ -d ${quotedPath} ]; then echo '${DMABUF_SYSFS_HEADER}'; for _ms_b in ${quotedPath}/*; do [ -d "$_ms_b" ] || continue; _ms_s=; _ms_e=; { read -r _ms_s < "$_ms_b/size"; read -r _ms_e < "$_ms_b/exporter_name"; } 2>/dev/null; echo "\${_ms_b##*/} \${_ms_s:-?} \${_ms_e:-?}"; done; else echo ${quotedPath}': no such directory (the kernel needs CONFIG_DMABUF_SYSFS_STATS)'; false; fi`;
}

/** The listing of dmabufSysfsCommand (or of the local reader, which prints the same) as bytes and buffers per exporter. */
function reduceDmabufSysfs(text: string): Parsed<Record<string, number>> {
  const value: Record<string, number> = {};
  const warnings: ParseWarning[] = [];
  const lines = text.split('\n');
  let header = false;
  let gone = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').replace(/\r$/, '');
    if (line.trim() === '') continue;
    if (line.trim() === DMABUF_SYSFS_HEADER) { header = true; value['bytes'] = 0; value['buffers'] = 0; continue; }
    const m = /^\s*(\d+)\s+(\d+|\?)\s+(.*)$/.exec(line);
    if (!header || !m) { warnings.push(warning(i + 1, line, header ? 'not an "inode size exporter_name" line' : `no "${DMABUF_SYSFS_HEADER}" line before it`, 'data-loss')); continue; }
    const exp = (m[3] ?? '').trim();
    if (m[2] === '?' || exp === '?' || exp === '') { gone++; continue; }
    const size = Number(m[2]);
    if (!Number.isFinite(size)) continue;
    const k = fieldKey(exp);
    value['bytes'] = (value['bytes'] ?? 0) + size;
    value['buffers'] = (value['buffers'] ?? 0) + 1;
    value[`${k}.bytes`] = (value[`${k}.bytes`] ?? 0) + size;
    value[`${k}.buffers`] = (value[`${k}.buffers`] ?? 0) + 1;
  }
  if (gone > 0) warnings.push(warning(0, '', `${gone} buffer(s) freed while the tree was read; not counted`, 'info'));
  return { value, warnings };
}

/**
 * The first sample of a recording must give every watched file some numbers: a file that yields nothing would
 * otherwise be an empty series nobody notices. Throws InputError naming the file, what was read and what to try.
 */
export function checkFirstWatched(specs: readonly WatchSpec[], watched: readonly { name: string; values: Record<string, number> }[] | undefined, unreadable: readonly { name: string; error: string }[]): void {
  for (const spec of specs) {
    const u = unreadable.find((x) => x.name === spec.name);
    if (u !== undefined) throw new InputError(`Cannot watch "${spec.path}": ${u.error} at the first sample`);
    const got = watched?.find((w) => w.name === spec.name);
    if (got === undefined || Object.keys(got.values).length > 0) continue;
    const fmt = spec.format.kind === 'count' ? `count:${spec.format.regex.source}` : spec.format.kind;
    const hint = spec.format.kind === 'kgsl_sysfs' ? ' (/sys/class/kgsl/kgsl/proc: a directory per process using the Adreno GPU)' : spec.format.kind === 'dmabuf_sysfs' ? ' (/sys/kernel/dmabuf/buffers: a directory per buffer, kernels 5.13+ with CONFIG_DMABUF_SYSFS_STATS)' : spec.format.kind === 'dmabuf' ? ' (debugfs dma_buf/bufinfo: mount debugfs, read it as root)' : spec.format.kind === 'mali' ? ' (debugfs mali0/gpu_memory: mount debugfs, read it as root)' : spec.format.kind === 'ion' ? ' (debugfs ion/heaps/<heap>: mount debugfs, read it as root; kernels after 5.10 have DMA-BUF heaps instead: watch dma_buf/bufinfo with :dmabuf)' : spec.format.kind === 'kv' ? ' ("key: number" lines, "KEY: name N name N" lines or a line of bare numbers); try ":table" for a header row and rows, or ":count:REGEX"' : spec.format.kind === 'table' ? ' (a header row, then rows with numbers); try ":kv" or ":count:REGEX"' : '';
    throw new InputError(`--watch-file "${spec.path}" gives no numbers as ${fmt} at the first sample${hint}`);
  }
}
