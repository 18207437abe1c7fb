import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corpus, fixtures } from '../../test/corpus.js';
import { parseSmapsRollup } from './smaps_rollup.js';
import type { SmapsRollup } from '../model/proc_files.js';
import type { Bytes } from '../model/units.js';

const files = [...corpus('smaps_rollup'), ...corpus('local-6.18', /^smaps_rollup-/), ...fixtures(/^smaps_rollup-.*-local\.txt$/)];
const kb = (o: Record<string, number>): Record<string, Bytes> =>
  Object.fromEntries(Object.entries(o).map(([key, v]) => [key, (v * 1024) as Bytes]));

test('smaps_rollup: every real sample parses with no warnings, one byte value per kB line', () => {
  assert.ok(files.length >= 4);
  for (const f of files) {
    const { value, warnings } = parseSmapsRollup(f.text);
    assert.deepEqual(warnings, [], f.name);
    assert.equal(Object.keys(value.bytes).length, f.text.split('\n').filter((l) => / kB$/.test(l)).length, f.name);
  }
});

test('smaps_rollup: 4.14-4.19 field set, no Pss_Anon (procfs fixture)', () => {
  const want: SmapsRollup = {
    bytes: kb({
      Rss: 29948, Pss: 29944, Shared_Clean: 4, Shared_Dirty: 0, Private_Clean: 15548, Private_Dirty: 14396,
      Referenced: 24752, Anonymous: 20756, LazyFree: 5848, AnonHugePages: 0, ShmemPmdMapped: 0, Shared_Hugetlb: 0,
      Private_Hugetlb: 0, Swap: 1940, SwapPss: 1940, Locked: 0,
    }),
    memory: kb({ rss: 29948, pss: 29944, uss: 15548 + 14396, swap: 1940, swapPss: 1940, anon: 20756 }) as unknown as SmapsRollup['memory'],
  };
  assert.deepEqual(parseSmapsRollup(corpus('smaps_rollup', /prometheus/)[0]!.text), { value: want, warnings: [] });
});

test('smaps_rollup: 6.18 field set with Pss_Dirty/Pss_Anon/KSM (local-6.18 cat)', () => {
  const want: SmapsRollup = {
    bytes: kb({
      Rss: 1756, Pss: 350, Pss_Dirty: 116, Pss_Anon: 116, Pss_File: 234, Pss_Shmem: 0, Shared_Clean: 1596,
      Shared_Dirty: 0, Private_Clean: 44, Private_Dirty: 116, Referenced: 1756, Anonymous: 116, KSM: 0, LazyFree: 0,
      AnonHugePages: 0, ShmemPmdMapped: 0, FilePmdMapped: 0, Shared_Hugetlb: 0, Private_Hugetlb: 0, Swap: 0,
      SwapPss: 0, Locked: 0,
    }),
    memory: kb({ rss: 1756, pss: 350, uss: 160, swap: 0, swapPss: 0, anon: 116 }) as unknown as SmapsRollup['memory'],
  };
  assert.deepEqual(parseSmapsRollup(corpus('local-6.18', /^smaps_rollup-self-cat/)[0]!.text), { value: want, warnings: [] });
});

test('smaps_rollup: python3 (local-6.18) agrees with its own Pss split and with status', () => {
  const { value } = parseSmapsRollup(corpus('local-6.18', /^smaps_rollup-python3/)[0]!.text);
  assert.deepEqual(value.memory, kb({ rss: 64744, pss: 63277, uss: 5004 + 58072, swap: 0, swapPss: 0, anon: 58072 }));
  const b = value.bytes;
  // Pss = Pss_Anon + Pss_File + Pss_Shmem (6.18 prints all three).
  assert.equal(b['Pss'], b['Pss_Anon']! + b['Pss_File']! + b['Pss_Shmem']!);
});

test('smaps_rollup: no header, CRLF, missing fields, a whole smaps by mistake', () => {
  const bare = parseSmapsRollup('Rss:  8 kB\r\nPss: 4 kB\r\nPrivate_Dirty: 4 kB\r\nSwap: 0 kB\r\nbogus line\r\n');
  assert.deepEqual(bare.value, {
    bytes: kb({ Rss: 8, Pss: 4, Private_Dirty: 4, Swap: 0 }),
    memory: kb({ rss: 8, pss: 4, uss: 4, swap: 0 }),
  });
  assert.deepEqual(bare.warnings.map((w) => [w.line, w.severity, w.reason.slice(0, 12)]), [
    [5, 'data-loss', 'expected "Ke'], [0, 'data-loss', 'no "Private_'],
  ]);
  const smaps = parseSmapsRollup(corpus('local-6.18', /^smaps-self-cat/)[0]!.text);
  assert.ok(smaps.warnings.some((w) => w.severity === 'error' && w.line === 26), JSON.stringify(smaps.warnings));
  assert.deepEqual(parseSmapsRollup(''), { value: { bytes: {}, memory: kb({ rss: 0, pss: 0, uss: 0, swap: 0 }) }, warnings: [] });
});
