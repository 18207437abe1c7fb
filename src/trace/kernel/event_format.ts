/**
 * Parses tracefs `events/<system>/<event>/format` and `events/header_page` (Documentation/trace/ftrace.rst,
 * "Event formats"; Documentation/trace/events.rst). Pure: text in, layout out; never throws.
 *   name: kmem_cache_alloc
 *   ID: 659
 *   	field:unsigned long call_site;	offset:8;	size:8;	signed:0;
 *   	field:__data_loc char[] name;	offset:24;	size:4;	signed:0;
 * header_page:
 *   	field: u64 timestamp;	offset:0;	size:8;	signed:0;
 *   	field: local_t commit;	offset:8;	size:8;	signed:1;
 *   	field: char data;	offset:16;	size:4080;	signed:0;
 */
import type { Parsed, ParseWarning } from '../../model/parsed.js';
import { warning } from '../../model/parsed.js';

export interface EventField {
  name: string;
  /** C type as printed ("unsigned long", "const void *", "__data_loc char[]"). */
  type: string;
  offset: number;
  size: number;
  signed: boolean;
  /** `__data_loc`: the field holds (length << 16 | offset) of a string stored after the fixed part. */
  dataLoc: boolean;
}

export interface EventFormat {
  system?: string;
  name: string;
  id: number;
  fields: Map<string, EventField>;
}

const FIELD = /^\s*field:\s*(.+?);\s*offset:(\d+);\s*size:(\d+);\s*signed:(\d+);/;

function parseField(decl: string, offset: number, size: number, signed: boolean): EventField {
  // "unsigned long call_site", "const void * ptr", "__data_loc char[] name", "char comm[16]"
  const m = /^(.*?)([A-Za-z_][A-Za-z0-9_]*)\s*(\[[^\]]*\])?$/.exec(decl.trim());
  const name = m?.[2] ?? decl.trim();
  const type = `${(m?.[1] ?? '').trim()}${m?.[3] ?? ''}`;
  return { name, type, offset, size, signed, dataLoc: decl.includes('__data_loc') };
}

export function parseEventFormat(text: string): Parsed<EventFormat> {
  const warnings: ParseWarning[] = [];
  const fields = new Map<string, EventField>();
  let name = '';
  let id = -1;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.startsWith('name:')) { name = line.slice(5).trim(); continue; }
    if (line.startsWith('ID:')) { id = Number(line.slice(3).trim()); continue; }
    if (line.startsWith('print fmt:')) break;
    const m = FIELD.exec(line);
    if (m === null) {
      if (line.trim().startsWith('field:')) warnings.push(warning(i + 1, line, 'field line without offset/size/signed'));
      continue;
    }
    const f = parseField(m[1] ?? '', Number(m[2]), Number(m[3]), m[4] === '1');
    fields.set(f.name, f);
  }
  if (name === '') warnings.push(warning(0, '', 'no "name:" line', 'error'));
  if (!Number.isInteger(id) || id < 0) warnings.push(warning(0, '', 'no "ID:" line: cannot match records to this event', 'error'));
  return { value: { name, id, fields }, warnings };
}

/** Layout of one ring-buffer sub-buffer (page) as events/header_page describes it. */
export interface PageHeader {
  timestampOffset: number;
  commitOffset: number;
  /** 8 on 64-bit kernels (local_t is a long). */
  commitSize: number;
  dataOffset: number;
  /** Bytes of data per page (4080 for 4 KiB pages). */
  dataSize: number;
}

export function parseHeaderPage(text: string): Parsed<PageHeader> {
  const f = parseEventFormat(`name: header_page\nID: 0\n${text}`);
  const ts = f.value.fields.get('timestamp');
  const commit = f.value.fields.get('commit');
  const data = f.value.fields.get('data');
  const warnings = f.warnings.filter((w) => w.severity !== 'error');
  if (ts === undefined || commit === undefined || data === undefined) {
    warnings.push(warning(0, '', 'header_page lacks timestamp/commit/data: assuming the x86_64 layout 0/8/16', 'error'));
  }
  return {
    value: {
      timestampOffset: ts?.offset ?? 0,
      commitOffset: commit?.offset ?? 8,
      commitSize: commit?.size ?? 8,
      dataOffset: data?.offset ?? 16,
      dataSize: data?.size ?? 4080,
    },
    warnings,
  };
}

/** events/header_event: the type_len/time_delta split and the special type values. */
export interface EventHeaderLayout { typeLenBits: number; timeDeltaBits: number; padding: number; timeExtend: number; timeStamp: number; dataMaxTypeLen: number }

export function parseHeaderEvent(text: string): Parsed<EventHeaderLayout> {
  const num = (re: RegExp, dflt: number): number => { const m = re.exec(text); return m?.[1] !== undefined ? Number(m[1]) : dflt; };
  const value: EventHeaderLayout = {
    typeLenBits: num(/type_len\s*:\s*(\d+)\s*bits/, 5),
    timeDeltaBits: num(/time_delta\s*:\s*(\d+)\s*bits/, 27),
    padding: num(/padding\s*:\s*type\s*==\s*(\d+)/, 29),
    timeExtend: num(/time_extend\s*:\s*type\s*==\s*(\d+)/, 30),
    timeStamp: num(/time_stamp\s*:\s*type\s*==\s*(\d+)/, 31),
    dataMaxTypeLen: num(/data max type_len\s*==\s*(\d+)/, 28),
  };
  const warnings: ParseWarning[] = [];
  if (value.typeLenBits + value.timeDeltaBits !== 32) warnings.push(warning(0, '', `type_len ${value.typeLenBits} + time_delta ${value.timeDeltaBits} bits is not 32`, 'error'));
  return { value, warnings };
}
