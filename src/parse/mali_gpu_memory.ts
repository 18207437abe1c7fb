// src/parse/mali_gpu_memory.ts
/**
 * Parses the Arm Mali (kbase) driver's debugfs file /sys/kernel/debug/mali0/gpu_memory: the GPU memory of the
 * device, then of each GPU context (kctx) with the process that opened it. ARM's driver prints pages
 * (kbdev->memdev.used_pages, kctx->used_pages); vendors changed the layout, so three shapes are read:
 *
 *   mali0                  45605                      <- ARM layout: device pages,
 *   kctx-0xfa847000      14102      15898             <- then per context: pages, tgid
 *
 *   mali0                  39241      63910           <- MediaTek: two numbers,
 *     kctx-0x000000009c7f034f (8338)       1224      11876   <- pid in parentheses, then the same two numbers
 *
 *   mali0            total used_pages      25939      <- Amlogic: a titled table,
 *   kctx             pid              used_pages
 *   f1dbf000      14880       4558                    <- kctx, pid, pages
 *
 * Numbers are kept as printed (pages on ARM's and Amlogic's drivers; the second MediaTek number is not documented
 * by the file). The contexts' first numbers add up to the device's first number when nothing changed meanwhile.
 */
import type { Parsed, ParseWarning } from '../model/parsed.js';
import { warning, withFiniteValues } from '../model/parsed.js';

export interface MaliContext {
  /** The kctx pointer as printed ("0xfa847000", "f1dbf000"). */
  kctx: string;
  pid?: number;
  /** The context's numbers after the pid: [0] is its used memory (pages on ARM's and Amlogic's drivers). */
  values: number[];
}

export interface MaliGpuMemory {
  /** "mali0". */
  device: string;
  /** The device line's numbers: [0] is the device's used memory. */
  values: number[];
  contexts: MaliContext[];
  /** True when the file names its unit ("used_pages"), or uses ARM's own layout (pages too). */
  pages: boolean;
}

export function parseMaliGpuMemory(text: string): Parsed<MaliGpuMemory> {
  const warnings: ParseWarning[] = [];
  const value: MaliGpuMemory = { device: '', values: [], contexts: [], pages: false };
  let sawDevice = false;
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const t = line.trim();
    if (t === '' || /^-+$/.test(t) || /^kctx\s+pid\s+used_pages$/.test(t)) continue;
    const dev = /^(mali\d+)\s+(?:(total used_pages)\s+)?(\d+(?:\s+\d+)*)$/.exec(t);
    if (dev) {
      if (sawDevice) warnings.push(warning(i + 1, line, 'a second device line; its contexts follow it', 'info'));
      sawDevice = true;
      value.device = dev[1] ?? '';
      value.values = (dev[3] ?? '').split(/\s+/).map(Number);
      value.pages = dev[2] !== undefined || value.values.length === 1;
      continue;
    }
    // MediaTek: "kctx-0x... (pid) N M"; ARM: "kctx-0x... pages tgid"; Amlogic: "f1dbf000 pid pages".
    const mtk = /^kctx-(0x[0-9a-fA-F]+)\s+\((\d+)\)((?:\s+\d+)+)$/.exec(t);
    const arm = /^kctx-(0x[0-9a-fA-F]+)((?:\s+\d+)+)$/.exec(t);
    const aml = /^([0-9a-fA-F]{6,16})\s+(\d+)\s+(\d+)$/.exec(t);
    if (mtk) {
      value.contexts.push({ kctx: mtk[1] ?? '', pid: Number(mtk[2]), values: (mtk[3] ?? '').trim().split(/\s+/).map(Number) });
    } else if (arm) {
      const nums = (arm[2] ?? '').trim().split(/\s+/).map(Number);
      const c: MaliContext = { kctx: arm[1] ?? '', values: nums.slice(0, 1) };
      // Since kbase r1x the tgid follows the pages; older drivers print the pages alone.
      if (nums.length >= 2) c.pid = nums[1] ?? 0;
      value.contexts.push(c);
    } else if (aml && sawDevice) {
      value.contexts.push({ kctx: aml[1] ?? '', pid: Number(aml[2]), values: [Number(aml[3])] });
    } else {
      warnings.push(warning(i + 1, line, 'not a mali gpu_memory line'));
    }
  }
  if (!sawDevice) warnings.push(warning(0, '', 'no "mali0  N" device line: not mali0/gpu_memory', 'error'));
  else {
    const sum = value.contexts.reduce((n, c) => n + (c.values[0] ?? 0), 0);
    const dev = value.values[0] ?? 0;
    if (value.contexts.length > 0 && sum !== dev) {
      warnings.push(warning(0, '', `contexts add up to ${sum}, the device line says ${dev} (memory came or went while the file was printed, or is held outside any context)`, 'info'));
    }
  }
  return withFiniteValues({ value, warnings });
}
