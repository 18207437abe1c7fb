// src/parse/dmabuf_bufinfo.ts
/**
 * Parses debugfs dma_buf/bufinfo (drivers/dma-buf/dma-buf.c, dma_buf_debug_show): every exported dma-buf, the
 * buffers camera, display, codec and GPU drivers share, and that ION/DMA-BUF heap leaks hold on Android boards.
 *
 *   Dma-buf Objects:
 *   size    	flags   	mode    	count   	exp_name	ino     	name      <- "name" since 5.x; 4.x has ino only
 *   00032768	00000002	00000007	00000002	ion	00075971	          <- size in bytes, printed %08zu (decimal)
 *   	Attached Devices:
 *   	ff150000.gpu                                                       <- one line per attached device
 *   Total 1 devices attached
 *   Total 172 objects, 120500224 bytes
 *
 * Some kernels print the header twice (an unpadded copy first). Rows are summed per exporter (exp_name), so each
 * exporter becomes a series (dmabuf.exporter.<name>.bytes) and the total another.
 */
import type { Parsed, ParseWarning } from '../model/parsed.js';
import { warning, withFiniteValues } from '../model/parsed.js';
import type { Bytes } from '../model/units.js';

export interface DmabufBuffer {
  size: Bytes;
  flags: string;
  mode: string;
  /** File references to the buffer (the exporter's own one included). */
  count: number;
  exporter: string;
  ino?: number;
  /** The buffer's name (DMA_BUF_SET_NAME), when the kernel prints it and one was set. */
  name?: string;
  /** Devices the buffer is attached to. */
  devices: string[];
}

export interface DmabufBufinfo {
  buffers: DmabufBuffer[];
  /** Sum of sizes per exporter ("ion", "system", "qcom,system", ...). */
  byExporter: Record<string, { bytes: Bytes; count: number }>;
  totalBytes: Bytes;
  /** "Total N objects, M bytes" as printed, when present (checked against the rows). */
  printedTotal?: { objects: number; bytes: Bytes };
}

const ROW = /^(\d+)\s+([0-9a-fA-F]+)\s+([0-9a-fA-F]+)\s+(\d+)\s+(\S+)(?:\s+(\d+))?(?:\s+(\S.*?))?\s*$/;
const TOTAL = /^Total (\d+) objects, (\d+) bytes$/;

export function parseDmabufBufinfo(text: string): Parsed<DmabufBufinfo> {
  const warnings: ParseWarning[] = [];
  const buffers: DmabufBuffer[] = [];
  let printedTotal: DmabufBufinfo['printedTotal'];
  let inDevices: DmabufBuffer | undefined;
  let sawHeader = false;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] ?? '').replace(/\r$/, '');
    const line = raw.trim();
    if (line === '') { inDevices = undefined; continue; }
    if (line === 'Dma-buf Objects:') continue;
    if (/^size\s+flags\s+mode\s+count\s+exp_name/.test(line)) { sawHeader = true; continue; }
    if (line === 'Attached Devices:') continue;
    if (/^Total \d+ devices attached$/.test(line)) { inDevices = undefined; continue; }
    const t = TOTAL.exec(line);
    if (t) { printedTotal = { objects: Number(t[1]), bytes: Number(t[2]) as Bytes }; continue; }
    const r = ROW.exec(line);
    if (r) {
      const b: DmabufBuffer = { size: Number(r[1]) as Bytes, flags: r[2] ?? '', mode: r[3] ?? '', count: Number(r[4]), exporter: r[5] ?? '', devices: [] };
      if (r[6] !== undefined) b.ino = Number(r[6]);
      if (r[7] !== undefined && r[7] !== '') b.name = r[7];
      buffers.push(b);
      inDevices = b;
      continue;
    }
    // Lines after "Attached Devices:" name devices ("ff150000.gpu", "kgsl-3d0").
    if (inDevices && /^\s/.test(raw)) { inDevices.devices.push(line); continue; }
    warnings.push(warning(i + 1, raw, 'not a dma-buf row'));
  }
  if (!sawHeader && buffers.length === 0) warnings.push(warning(0, '', 'no "size flags mode count exp_name" header and no buffer rows: not dma_buf/bufinfo', 'error'));
  const byExporter: DmabufBufinfo['byExporter'] = {};
  let total = 0;
  for (const b of buffers) {
    const e = (byExporter[b.exporter] ??= { bytes: 0 as Bytes, count: 0 });
    e.bytes = (e.bytes + b.size) as Bytes;
    e.count++;
    total += b.size;
  }
  if (printedTotal !== undefined && (printedTotal.objects !== buffers.length || printedTotal.bytes !== total)) {
    warnings.push(warning(0, '', `rows add up to ${buffers.length} objects, ${total} bytes; the file's own total says ${printedTotal.objects} objects, ${printedTotal.bytes} bytes (buffers came or went while it was printed?)`, 'info'));
  }
  const value: DmabufBufinfo = { buffers, byExporter, totalBytes: total as Bytes };
  if (printedTotal !== undefined) value.printedTotal = printedTotal;
  return withFiniteValues({ value, warnings });
}
