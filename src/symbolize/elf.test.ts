import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Addr2Line } from './addr2line.js';
import { buildIdOf } from './build_id.js';
import { bufferSource, ET_DYN, ET_EXEC, fileOffsetToVaddr, hasDebugInfo, parseElf, PT_LOAD, readSymbols, symbolAddress, withElfFile } from './elf.js';
import { gcc, lineOf, tempDir, writeSource } from './test_programs.js';

/**
 * A minimal ELF built in code (header, PT_LOAD, PT_NOTE with a GNU build-id), for the byte orders and
 * classes this host's gcc cannot produce (no big-endian toolchain here). Layout per the gABI.
 */
function syntheticElf(bits: 32 | 64, le: boolean, buildId: Buffer): Buffer {
  const ehsize = bits === 64 ? 64 : 52;
  const phentsize = bits === 64 ? 56 : 32;
  const noteOff = ehsize + 2 * phentsize;
  const note = Buffer.alloc(12 + 4 + buildId.length);
  const w32 = (b: Buffer, o: number, v: number): void => { if (le) b.writeUInt32LE(v, o); else b.writeUInt32BE(v, o); };
  const w16 = (b: Buffer, o: number, v: number): void => { if (le) b.writeUInt16LE(v, o); else b.writeUInt16BE(v, o); };
  const wAddr = (b: Buffer, o: number, v: bigint): void => {
    if (bits === 32) w32(b, o, Number(v));
    else if (le) b.writeBigUInt64LE(v, o);
    else b.writeBigUInt64BE(v, o);
  };
  w32(note, 0, 4); w32(note, 4, buildId.length); w32(note, 8, 3);
  note.write('GNU\0', 12, 'latin1');
  buildId.copy(note, 16);
  const buf = Buffer.alloc(0x3000);
  buf.writeUInt32BE(0x7f454c46, 0);
  buf[4] = bits === 64 ? 2 : 1;
  buf[5] = le ? 1 : 2;
  buf[6] = 1;
  w16(buf, 16, ET_EXEC);
  w16(buf, 18, bits === 64 ? 62 : 40); // x86-64 / ARM
  w32(buf, 20, 1);
  wAddr(buf, 24, 0x10400n);
  wAddr(buf, bits === 64 ? 32 : 28, BigInt(ehsize)); // e_phoff
  w16(buf, bits === 64 ? 52 : 40, ehsize);
  w16(buf, bits === 64 ? 54 : 42, phentsize);
  w16(buf, bits === 64 ? 56 : 44, 2);
  const ph = (i: number, type: number, offset: number, vaddr: bigint, size: number): void => {
    const o = ehsize + i * phentsize;
    w32(buf, o, type);
    if (bits === 64) {
      w32(buf, o + 4, 5); wAddr(buf, o + 8, BigInt(offset)); wAddr(buf, o + 16, vaddr); wAddr(buf, o + 24, vaddr);
      wAddr(buf, o + 32, BigInt(size)); wAddr(buf, o + 40, BigInt(size)); wAddr(buf, o + 48, 4n);
    } else {
      w32(buf, o + 4, offset); w32(buf, o + 8, Number(vaddr)); w32(buf, o + 12, Number(vaddr));
      w32(buf, o + 16, size); w32(buf, o + 20, size); w32(buf, o + 24, 5); w32(buf, o + 28, 4);
    }
  };
  ph(0, PT_LOAD, 0x1000, 0x11000n, 0x2000);
  ph(1, 4, noteOff, 0n, note.length);
  note.copy(buf, noteOff);
  return buf;
}

for (const [bits, le] of [[32, true], [32, false], [64, true], [64, false]] as const) {
  test(`parseElf: synthetic ELF${bits} ${le ? 'little' : 'big'}-endian: PT_LOAD maps offsets, PT_NOTE gives the build-id`, () => {
    const id = Buffer.from('00112233445566778899aabbccddeeff01234567', 'hex');
    const r = parseElf(bufferSource(syntheticElf(bits, le, id)));
    assert.ok(r.ok, r.ok ? '' : r.reason);
    if (!r.ok) return;
    assert.equal(r.elf.bits, bits);
    assert.equal(r.elf.littleEndian, le);
    assert.equal(r.elf.type, ET_EXEC);
    assert.deepEqual(r.elf.segments.filter((s) => s.type === PT_LOAD).map((s) => [s.offset, s.vaddr, s.filesz]), [[0x1000, 0x11000n, 0x2000]]);
    assert.equal(fileOffsetToVaddr(r.elf, 0x1234n), 0x11234n);
    assert.equal(fileOffsetToVaddr(r.elf, 0x3000n), undefined, 'past the segment');
    assert.equal(buildIdOf(r.elf), id.toString('hex'));
  });
}

test('parseElf: never throws on garbage or truncated input', () => {
  for (const b of [Buffer.alloc(0), Buffer.from('hello'), Buffer.from('\x7fELF\x02\x01\x01', 'latin1'), Buffer.concat([Buffer.from('\x7fELF\x02\x01\x01', 'latin1'), Buffer.alloc(57, 0xff)])]) {
    const r = parseElf(bufferSource(b));
    assert.equal(r.ok, false);
  }
});

test('ELF64: a gcc-built PIE: type, symbols, debug info, build-id agree with readelf', (t) => {
  const { dir, cleanup } = tempDir('elf64');
  t.after(cleanup);
  writeSource(dir, 'p.c', 'int answer(void) { return 42; }\nint main(void) { return answer(); }\n');
  gcc(['-g', '-O0', '-fPIE', '-pie', '-Wl,--build-id', '-o', 'p', 'p.c'], dir);
  const readelfId = /Build ID: ([0-9a-f]+)/.exec(execFileSync('readelf', ['-n', join(dir, 'p')], { encoding: 'utf8' }))?.[1];
  const nmAddr = /^([0-9a-f]+) T answer$/m.exec(execFileSync('nm', [join(dir, 'p')], { encoding: 'utf8' }))?.[1];
  withElfFile(join(dir, 'p'), (r) => {
    assert.ok(r.ok);
    if (!r.ok) return;
    assert.equal(r.elf.bits, 64);
    assert.equal(r.elf.type, ET_DYN);
    assert.equal(hasDebugInfo(r.elf), true);
    assert.equal(buildIdOf(r.elf), readelfId);
    assert.equal(symbolAddress(readSymbols(r.elf), 'answer')?.value, BigInt(`0x${nmAddr ?? 'x'}`));
  });
});

test('ELF32 little-endian: a real i386 file from gcc -m32 (skipped when this host cannot build one)', async (t) => {
  const { dir, cleanup } = tempDir('elf32');
  t.after(cleanup);
  const src = 'int triple(int x) {\n  return x * 3; /* @body */\n}\nvoid _start(void) { for (;;) triple(1); }\n';
  writeSource(dir, 's.c', src);
  try {
    // -nostdlib: Debian without gcc-multilib has no 32-bit crt files or libgcc, but can still compile and link this.
    gcc(['-m32', '-g', '-O0', '-nostdlib', '-static', '-Wl,--build-id', '-o', 's32', 's.c'], dir);
  } catch (err) {
    t.skip(`gcc -m32 cannot build here (${err instanceof Error ? err.message.split('\n')[0] : String(err)}); install gcc-multilib to run it`);
    return;
  }
  const file = join(dir, 's32');
  const readelfId = /Build ID: ([0-9a-f]+)/.exec(execFileSync('readelf', ['-n', file], { encoding: 'utf8' }))?.[1];
  const sym = withElfFile(file, (r) => {
    assert.ok(r.ok);
    if (!r.ok) return undefined;
    assert.equal(r.elf.bits, 32);
    assert.equal(r.elf.littleEndian, true);
    assert.equal(r.elf.machine, 3, 'EM_386');
    assert.equal(r.elf.type, ET_EXEC);
    assert.equal(buildIdOf(r.elf), readelfId);
    const text = r.elf.segments.find((s) => s.type === PT_LOAD && (s.flags & 1) === 1);
    assert.ok(text !== undefined);
    return symbolAddress(readSymbols(r.elf), 'triple');
  });
  assert.ok(sym !== undefined);
  if (sym === undefined) return;
  // The 32-bit binary symbolizes through the same driver: a few bytes into triple() is its body line.
  const a2l = new Addr2Line(file, { hasDebugInfo: true });
  try {
    const [r] = await a2l.lookup([sym.value + 6n]);
    assert.equal(r?.status, 'ok');
    assert.equal(r?.frames[0]?.symbol, 'triple');
    assert.equal(r?.frames[0]?.file, join(dir, 's.c'));
    assert.ok([1, lineOf(src, '@body')].includes(r?.frames[0]?.line ?? -1));
  } finally {
    a2l.close();
  }
});
