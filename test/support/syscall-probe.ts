// Tiny static x86-64 Linux programs that make one system call and exit with
// its errno (0 when it succeeded), for testing what a seccomp filter lets
// through without a compiler or a libc in the test image: `keyctl`, `unshare`,
// `mount` and friends, each called exactly, with the arguments given here.
// The ELF is one PT_LOAD segment holding the code and the strings it points to.

/** An argument: a number (bigint for full 64 bits, negative ones as two's complement) or a string passed by address. */
export type ProbeArg = number | bigint | string;

const BASE = 0x400000n;
const HEADERS = 64 + 56;

export const probeSupported = process.arch === "x64";

/** The ELF bytes of a program calling syscall `nr` with up to 6 arguments. */
export function syscallProbe(nr: number, args: ProbeArg[] = []): Buffer {
  if (args.length > 6) throw new Error("a syscall takes at most 6 arguments");
  // movabs into rdi, rsi, rdx, r10, r8, r9 (the syscall argument registers)
  const movabs = [
    [0x48, 0xbf],
    [0x48, 0xbe],
    [0x48, 0xba],
    [0x49, 0xba],
    [0x49, 0xb8],
    [0x49, 0xb9],
  ];
  const codeLen = 7 + args.length * 10 + 2 + 3 + 2 + 2 + 2 + 2 + 2 + 5 + 2;
  const strings: Buffer[] = [];
  let dataOffset = BigInt(HEADERS + codeLen);
  const values = args.map((a) => {
    if (typeof a === "string") {
      const addr = BASE + dataOffset;
      const bytes = Buffer.from(`${a}\0`);
      strings.push(bytes);
      dataOffset += BigInt(bytes.length);
      return addr;
    }
    return BigInt.asUintN(64, BigInt(a));
  });
  const code: number[] = [0x48, 0xc7, 0xc0, ...le(BigInt(nr), 4)]; // mov rax, nr
  values.forEach((v, i) => code.push(...(movabs[i] as number[]), ...le(v, 8)));
  code.push(
    0x0f, 0x05, // syscall
    0x48, 0x85, 0xc0, // test rax, rax
    0x78, 0x04, // js fail
    0x31, 0xff, // xor edi, edi    (success: exit 0)
    0xeb, 0x04, // jmp exit
    0xf7, 0xd8, // fail: neg eax   (-errno -> errno)
    0x89, 0xc7, // mov edi, eax
    0xb8, 0x3c, 0x00, 0x00, 0x00, // exit: mov eax, 60 (exit)
    0x0f, 0x05, // syscall
  );
  if (code.length !== codeLen) throw new Error(`probe code is ${code.length} bytes, expected ${codeLen}`);
  const body = Buffer.concat([Buffer.from(code), ...strings]);
  const total = BigInt(HEADERS + body.length);

  const elf = Buffer.alloc(64);
  elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0], 0); // ELF, 64-bit, little-endian, version 1, SysV
  elf.writeUInt16LE(2, 16); // ET_EXEC
  elf.writeUInt16LE(0x3e, 18); // EM_X86_64
  elf.writeUInt32LE(1, 20);
  elf.writeBigUInt64LE(BASE + BigInt(HEADERS), 24); // entry: right after the headers
  elf.writeBigUInt64LE(64n, 32); // program headers at 64
  elf.writeUInt16LE(64, 52); // header size
  elf.writeUInt16LE(56, 54); // program header size
  elf.writeUInt16LE(1, 56); // one program header
  const ph = Buffer.alloc(56);
  ph.writeUInt32LE(1, 0); // PT_LOAD
  ph.writeUInt32LE(5, 4); // R+X
  ph.writeBigUInt64LE(0n, 8); // from file offset 0
  ph.writeBigUInt64LE(BASE, 16);
  ph.writeBigUInt64LE(BASE, 24);
  ph.writeBigUInt64LE(total, 32);
  ph.writeBigUInt64LE(total, 40);
  ph.writeBigUInt64LE(0x1000n, 48);
  return Buffer.concat([elf, ph, body]);
}

function le(v: bigint, bytes: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < bytes; i++) out.push(Number((v >> BigInt(8 * i)) & 0xffn));
  return out;
}

/** x86-64 syscall numbers the probes use. */
export const SYS = {
  socket: 41,
  mount: 165,
  personality: 135,
  keyctl: 250,
  unshare: 272,
  clone3: 435,
} as const;
