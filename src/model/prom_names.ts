/**
 * Prometheus names of memsleuth's series, shared by the exporter (serve/exporter.ts writes them) and the fleet
 * reader (sources/prometheus.ts reads them back, along with node_exporter's own families).
 *
 * Conventions (https://prometheus.io/docs/practices/naming/): one family per kind of quantity, base units in the
 * name (`_bytes`), no unit or value in a label name; the real cache, process, mapping and caller names are label
 * values as the kernel prints them (escaped in the text format, never rewritten). Series keys (DESIGN.md) are
 * rebuilt from the labels with keyPart, as flattenSnapshot builds them.
 *
 *   memsleuth_meminfo_bytes{field="SUnreclaim"}                      meminfo.SUnreclaim
 *   memsleuth_meminfo_pages{field="HugePages_Total"}                 meminfo.HugePages_Total (a count)
 *   memsleuth_slab_bytes{cache}  _slab_active_bytes  _slab_active_objects   slab.<cache>.bytes|active_bytes|objs
 *   memsleuth_vmalloc_bytes{caller}                                  vmalloc.caller.<caller>.bytes
 *   memsleuth_process_{uss,pss,rss,swap}_bytes{comm,pid}            proc.<comm>:<pid>.uss|pss|rss|swap
 *   memsleuth_process_mapping_{rss,uss}_bytes{comm,pid,mapping}     proc.<comm>:<pid>.map.<mapping>.rss|uss
 *   node_memory_<Field>_bytes, node_memory_<Field>                  meminfo.<Field>
 *   node_slabinfo_{objects,active_objects} x node_slabinfo_object_size_bytes{slab}   slab.<slab>.bytes|active_bytes|objs
 */
import { keyPart, processKey } from './series.js';

export type PromLabels = Record<string, string>;

/** The families the fleet reader asks Prometheus for (as one regular expression on __name__). */
export const FLEET_NODE_MEMINFO = [
  'MemTotal', 'MemFree', 'MemAvailable', 'Buffers', 'Cached', 'SwapCached', 'Shmem', 'AnonPages', 'Slab', 'SReclaimable',
  'SUnreclaim', 'VmallocUsed', 'KernelStack', 'PageTables', 'SecPageTables', 'Percpu', 'Hugepagesize',
] as const;

export const FLEET_MEMSLEUTH_FAMILIES = [
  'memsleuth_meminfo_bytes', 'memsleuth_meminfo_pages', 'memsleuth_slab_bytes', 'memsleuth_slab_active_bytes', 'memsleuth_slab_active_objects',
  'memsleuth_vmalloc_bytes', 'memsleuth_process_uss_bytes', 'memsleuth_process_pss_bytes', 'memsleuth_process_rss_bytes',
  'memsleuth_process_swap_bytes', 'memsleuth_process_mapping_rss_bytes', 'memsleuth_process_mapping_uss_bytes',
] as const;

export const NODE_SLAB_FAMILIES = ['node_slabinfo_objects', 'node_slabinfo_active_objects', 'node_slabinfo_object_size_bytes'] as const;

/** Regular expression (RE2, fully anchored by Prometheus) matching every family the fleet reader wants. */
export function fleetNameRegex(): string {
  return [
    `node_memory_(${FLEET_NODE_MEMINFO.join('|')})_bytes`, 'node_memory_HugePages_Total', 'node_boot_time_seconds', 'memsleuth_boot_time_seconds',
    ...FLEET_MEMSLEUTH_FAMILIES,
  ].join('|');
}

const PROCESS_METRIC = /^memsleuth_process_(uss|pss|rss|swap)_bytes$/;
const MAPPING_METRIC = /^memsleuth_process_mapping_(rss|uss)_bytes$/;

/**
 * The series key of one Prometheus series, or undefined for a series the analysis does not use. node_slabinfo
 * families are combined by the caller (objects need the object size), so they map to undefined here.
 */
export function seriesKeyOfMetric(name: string, labels: PromLabels): string | undefined {
  let m: RegExpExecArray | null;
  if ((m = /^node_memory_(.+?)(_bytes)?$/.exec(name))) return `meminfo.${keyPart(m[1] ?? '')}`;
  const l = (k: string): string | undefined => labels[k];
  switch (name) {
    case 'memsleuth_meminfo_bytes':
    case 'memsleuth_meminfo_pages': {
      const f = l('field');
      return f === undefined ? undefined : `meminfo.${keyPart(f)}`;
    }
    case 'memsleuth_slab_bytes':
    case 'memsleuth_slab_active_bytes':
    case 'memsleuth_slab_active_objects': {
      const c = l('cache');
      if (c === undefined) return undefined;
      const suffix = name === 'memsleuth_slab_bytes' ? 'bytes' : name === 'memsleuth_slab_active_bytes' ? 'active_bytes' : 'objs';
      return `slab.${keyPart(c)}.${suffix}`;
    }
    case 'memsleuth_vmalloc_bytes': {
      const c = l('caller');
      return c === undefined ? undefined : `vmalloc.caller.${keyPart(c)}.bytes`;
    }
    default:
  }
  const pid = Number(l('pid'));
  const comm = l('comm');
  if (comm === undefined || !Number.isInteger(pid)) return undefined;
  if ((m = PROCESS_METRIC.exec(name))) return `${processKey(comm, pid)}.${m[1] ?? ''}`;
  if ((m = MAPPING_METRIC.exec(name))) {
    const mapping = l('mapping');
    return mapping === undefined ? undefined : `${processKey(comm, pid)}.map.${keyPart(mapping)}.${m[1] ?? ''}`;
  }
  return undefined;
}
