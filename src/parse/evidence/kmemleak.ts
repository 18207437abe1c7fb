/**
 * Parses kmemleak reports: `cat /sys/kernel/debug/kmemleak`, or the same records printed to the console
 * (Documentation/dev-tools/kmemleak.rst; print_unreferenced() in mm/kmemleak.c). Real input lines:
 *
 *   unreferenced object 0xffff888109e0af00 (size 192):
 *     comm "kworker/1:2", pid 3205, jiffies 4294942324 (age 8.180s)
 *     [<0000000070ad19b0>] kmalloc include/linux/slab.h:557 [inline]
 *   backtrace (crc c9a1c131):                                   (6.x: frames without [<addr>])
 *     [<ffffffff>] 0xffffffff                                   (old i386: end-of-stack marker)
 *
 * Console junk (syzkaller metadata, "BUG: memory leak", printk timestamps, log-time prefixes, mail quotes)
 * is skipped. This file also holds the kernel stack-line and console-prefix helpers the other kernel
 * evidence parsers (slub_alloc_calls, page_owner, oom) share.
 */
import type { AllocationSite, Frame } from '../../model/allocation_site.js';
import { warning, type Parsed, type ParseWarning, withFiniteValues } from '../../model/parsed.js';
import { bytes, type Bytes } from '../../model/units.js';
import { mergeSites } from '../../model/allocation_sites.js';

// ---------------------------------------------------------------------------------------------
// Shared helpers for kernel console text.

/** printk "[  123.456789]", optional caller id "[T123]"/"[C1]", dmesg -T "[Mon Mar  4 10:00:01 2024]" (any locale). */
const PRINTK_TIME = /^\[\s*\d+\.\d+\](?:\[\s*[TC]\d+\])?\s?/;
const DMESG_T_TIME = /^\[[^\]]*?\d{1,2}:\d{2}:\d{2}\s+\d{4}\]\s?/;
const LOGLEVEL = /^<\d>/;
/** syzkaller/Go log time "2018/01/09 14:28:48 " in front of console lines. */
const LOG_TIME = /^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)? /;
/** syslog "Mar  4 10:00:01 host kernel: " prefix. */
const SYSLOG = /^[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \S+ kernel: /;

export interface ConsoleLine {
  /** Text after the prefixes, trailing whitespace removed; leading indentation kept. */
  text: string;
  /** The timestamp as printed, without brackets, when there was one. */
  time?: string;
  /** The line started with "> " mail quoting (removed from text). */
  quoted: boolean;
}

/** Strips CR, mail quotes, printk/dmesg -T/syslog/log-time prefixes and trailing whitespace from one console line. */
export function cleanConsoleLine(raw: string): ConsoleLine {
  let s = raw.replace(/\r$/, '');
  let quoted = false;
  const q = /^(?:> ?)+/.exec(s);
  if (q) {
    quoted = true;
    s = s.slice(q[0].length);
  }
  let time: string | undefined;
  for (let i = 0; i < 3; i++) {
    const before = s;
    s = s.replace(LOGLEVEL, '').replace(SYSLOG, '').replace(LOG_TIME, '');
    const t = PRINTK_TIME.exec(s) ?? DMESG_T_TIME.exec(s);
    if (t) {
      time ??= t[0].trim().replace(/^\[|\]$/g, '').trim();
      s = s.slice(t[0].length);
    }
    if (s === before) break;
  }
  s = s.trimEnd(); // not replace(/\s+$/): that regex retries at every space of a long run (quadratic)
  return time === undefined ? { text: s, quoted } : { text: s, time, quoted };
}

/** Splits text into lines the way every parser here counts them (1-based numbers = index + 1). */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

const SYMBOL = String.raw`[A-Za-z_.$][\w.$]*`;
// [<addr>] ? sym+0x1/0x2 [module] file:line[:col] [inline]
const FRAME_RE = new RegExp(
  String.raw`^(?:\[<([0-9a-fA-F]+)>\]\s*)?(\?\s+)?(${SYMBOL}|0x[0-9a-fA-F]+)(?:\+(0x[0-9a-fA-F]+)(?:\/(0x[0-9a-fA-F]+))?)?` +
    String.raw`(?:\s+\[([\w.-]+)\])?(?:\s+([\w./+-]+\.[A-Za-z]+):(\d+)(?::(\d+))?)?(\s+\[inline\])?$`,
);
// ARM "[<c0011521>] (unwind_backtrace) from [<c000fcc7>] (show_stack+0xb/0xc)"
const ARM_FROM_RE = /^\[<([0-9a-fA-F]+)>\]\s+\(([^)]*)\)\s+from\s+\[<([0-9a-fA-F]+)>\]\s+\(([^)]*)\)$/;
const ARM_SYM_RE = new RegExp(String.raw`^(${SYMBOL})(?:\+(0x[0-9a-fA-F]+)\/(0x[0-9a-fA-F]+))?(?:\s+\[([\w.-]+)\])?$`);

/** A printed address, or undefined when it is a %p hash (16 digits, 8 leading zeros: 4.15+ hashes pointers). */
function realAddress(hex: string): string | undefined {
  if (hex.length === 16 && hex.startsWith('00000000')) return undefined;
  return `0x${hex.toLowerCase()}`;
}

export interface KernelFrameLine {
  frame: Frame;
  /** "? " marker: the unwinder was not sure this is a real frame. */
  unreliable: boolean;
  /** ARM "from" part: the caller, printed on the same line. */
  from?: Frame;
}

function armSymbol(text: string, address: string): Frame | undefined {
  const m = ARM_SYM_RE.exec(text.trim());
  if (!m || m[1] === undefined) return undefined;
  const f: Frame = { address: `0x${address.toLowerCase()}`, symbol: m[1] };
  if (m[2] !== undefined) f.offset = `+${m[2]}`;
  if (m[3] !== undefined) f.length = `/${m[3]}`;
  if (m[4] !== undefined) f.module = m[4];
  return f;
}

/**
 * One kernel stack line -> frame. Accepts `[<addr>] sym+0x1/0x2 [mod] file.c:12 [inline]`, the same without
 * `[<addr>]` (6.x kmemleak, %pS dumps), `? ` unreliable frames and the ARM `(sym) from [<addr>] (sym+off/len)` form.
 * A bare word is not a frame: one of [<addr>], +off or file:line must be there.
 */
export function parseKernelFrameLine(line: string): KernelFrameLine | undefined {
  const s = line.trim();
  if (s === '') return undefined;
  const arm = ARM_FROM_RE.exec(s);
  if (arm && arm[1] !== undefined && arm[2] !== undefined && arm[3] !== undefined && arm[4] !== undefined) {
    const frame = armSymbol(arm[2], arm[1]);
    const from = armSymbol(arm[4], arm[3]);
    if (frame && from) return { frame, unreliable: false, from };
    return undefined;
  }
  const m = FRAME_RE.exec(s);
  if (!m) return undefined;
  const [, addr, q, sym, off, len, mod, file, ln, col, inl] = m;
  if (sym === undefined) return undefined;
  if (addr === undefined && off === undefined && file === undefined) return undefined;
  const frame: Frame = {};
  if (addr !== undefined) {
    const a = realAddress(addr);
    if (a !== undefined) frame.address = a;
  }
  if (/^0x[0-9a-fA-F]+$/.test(sym)) {
    frame.address ??= sym.toLowerCase();
  } else {
    frame.symbol = sym;
  }
  if (off !== undefined) frame.offset = `+${off}`;
  if (len !== undefined) frame.length = `/${len}`;
  if (mod !== undefined) frame.module = mod;
  if (file !== undefined) frame.file = file;
  if (ln !== undefined) frame.line = Number(ln);
  if (col !== undefined) frame.column = Number(col);
  if (inl !== undefined) frame.inline = true;
  return { frame, unreliable: q !== undefined };
}

/** `[<ffffffff>] 0xffffffff` / `0xffffffffffffffff`: ULONG_MAX, the end-of-trace marker old kernels printed. */
export function isEndOfStackMarker(f: Frame): boolean {
  return f.symbol === undefined && f.address !== undefined && /^0xf+$/i.test(f.address) && f.offset === undefined;
}

// ---------------------------------------------------------------------------------------------
// kmemleak

export interface KmemleakObject {
  /** "0xffff888109e0af00"; undefined in a corrupted header. */
  address?: string;
  size?: Bytes;
  comm?: string;
  pid?: number;
  jiffies?: number;
  /** "(age 8.180s)"; older kernels and 6.x syzbot reports omit it. */
  ageSec?: number;
  /** "backtrace (crc c9a1c131):" (6.x). */
  crc?: string;
  /** Hex dump lines as printed (first 32 bytes), trimmed. */
  hexDump?: string[];
  /** As printed, innermost first, including kmemleak's own frames; end marker removed. */
  stack: Frame[];
  /** 1-based line of "unreferenced object". */
  line: number;
}

export interface Kmemleak {
  objects: KmemleakObject[];
  sites: AllocationSite[];
}

/**
 * Frames kmemleak (not the leaking code) contributes at the top of a trace; they vary with kernel version and
 * config, not with the caller, so sites are grouped on the stack without them.
 */
const KMEMLEAK_OWN_FRAMES = new Set([
  'kmemleak_alloc', 'kmemleak_alloc_recursive', 'kmemleak_alloc_percpu', 'kmemleak_vmalloc', 'kmemleak_alloc_phys',
  'create_object', '__create_object', 'slab_post_alloc_hook',
]);

export function withoutKmemleakFrames(stack: Frame[]): Frame[] {
  let i = 0;
  while (i < stack.length && KMEMLEAK_OWN_FRAMES.has(stack[i]?.symbol ?? '')) i++;
  return stack.slice(i);
}

const HEADER_RE = /^unreferenced object(?:\s+(0x[0-9a-fA-F]+)\s+\(size\s+(\d+)\))?:?$/;
const COMM_RE = /^comm\s+"(.*)",\s+pid\s+(-?\d+),\s+jiffies\s+(\d+)(?:\s+\(age\s+([\d.]+)s\))?$/;
const HEX_RE = /^hex dump \(first (\d+) bytes\):$/;
const HEXLINE_RE = /^(?:[0-9a-f]{2} ){1,16}/;
const BT_RE = /^backtrace(?:\s+\(crc\s+([0-9a-fA-F]+)\))?:$/;

type State = 'none' | 'header' | 'hex' | 'bt';

export function parseKmemleak(text: string): Parsed<Kmemleak> {
  const warnings: ParseWarning[] = [];
  const objects: KmemleakObject[] = [];
  let cur: KmemleakObject | undefined;
  let state: State = 'none';
  let sawBacktrace = false;

  const close = (): void => {
    if (!cur) return;
    if (!sawBacktrace) warnings.push(warning(cur.line, 'unreferenced object', 'object has no backtrace', 'data-loss'));
    objects.push(cur);
    cur = undefined;
    state = 'none';
  };

  const lines = splitLines(text);
  lines.forEach((raw, i) => {
    const n = i + 1;
    const { text: t0 } = cleanConsoleLine(raw);
    const t = t0.replace(/^kmemleak:\s*/, '');
    const s = t.trim();
    if (s.startsWith('unreferenced object')) {
      close();
      const h = HEADER_RE.exec(s);
      cur = { stack: [], line: n };
      sawBacktrace = false;
      state = 'header';
      if (h && h[1] !== undefined && h[2] !== undefined) {
        cur.address = h[1].toLowerCase();
        cur.size = bytes(Number(h[2]));
      } else {
        warnings.push(warning(n, raw, 'object header without address and size (truncated console?)', 'data-loss'));
      }
      return;
    }
    if (!cur) return; // junk outside records: syzkaller metadata, "BUG: memory leak", other printk
    if (s === '') {
      if (state === 'bt' && cur.stack.length > 0) close();
      return;
    }
    const c = COMM_RE.exec(s);
    if (c && state === 'header' && c[1] !== undefined) {
      cur.comm = c[1];
      cur.pid = Number(c[2]);
      cur.jiffies = Number(c[3]);
      if (c[4] !== undefined) cur.ageSec = Number(c[4]);
      return;
    }
    if (HEX_RE.test(s)) {
      state = 'hex';
      cur.hexDump = [];
      return;
    }
    if (state === 'hex' && HEXLINE_RE.test(s)) {
      cur.hexDump?.push(s);
      return;
    }
    const b = BT_RE.exec(s);
    if (b) {
      state = 'bt';
      sawBacktrace = true;
      if (b[1] !== undefined) cur.crc = b[1].toLowerCase();
      return;
    }
    if (state === 'bt') {
      const f = parseKernelFrameLine(s);
      const indented = /^\s/.test(t) || s.startsWith('[<');
      if (f && indented) {
        if (!isEndOfStackMarker(f.frame) && !f.unreliable) cur.stack.push(f.frame);
        return;
      }
      if (indented) {
        warnings.push(warning(n, raw, 'backtrace line not understood; frame dropped', 'data-loss'));
        return;
      }
      // An unindented line ends the record: "BUG: memory leak", syzkaller's tail marker, other printk.
      close();
      return;
    }
    warnings.push(warning(n, raw, 'unrecognised line inside a kmemleak record', 'info'));
  });
  close();

  return withFiniteValues({ value: { objects, sites: kmemleakSites(objects) }, warnings });
}

/** Objects grouped by stack (kmemleak's own top frames left out), innermost first, ranked as found. */
export function kmemleakSites(objects: KmemleakObject[]): AllocationSite[] {
  const one: AllocationSite[] = objects.map((o) => {
    const site: AllocationSite = {
      stack: withoutKmemleakFrames(o.stack),
      bytes: o.size ?? bytes(0),
      count: 1,
      kind: 'unreferenced',
      tool: 'kmemleak',
      origin: `line ${o.line}`,
    };
    if (o.ageSec !== undefined) site.ageSec = { min: o.ageSec, max: o.ageSec, avg: o.ageSec };
    if (o.pid !== undefined) site.pids = [o.pid];
    if (o.comm !== undefined) site.comms = [o.comm];
    return site;
  });
  // Objects without any stack stay apart: nothing says they share a cause.
  const withStack = one.filter((s) => s.stack.length > 0);
  const without = one.filter((s) => s.stack.length === 0);
  return [...mergeSites(withStack), ...without];
}

