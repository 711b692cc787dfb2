#!/usr/bin/env python3
"""Write the fuzzers' seed corpus (tests/fuzz/corpus/TARGET/NAME) from
realistic messages, in each target's input format (fuzz_decode.c): a
length byte before each piece (len % 64 + 1), for h2 its top bit the
side, for the decoder records of [op | conn << 6][len][bytes]; for
fuzz_symbols.c tiny ELF files built here with gcc (a static program with
.eh_frame, the same stripped with a debuglink, with MiniDebugInfo, with
.debug_frame only, with frame pointers only, a shared object), unwind
inputs [pc offset][stack length][bp][stack][ELF] whose stacks hold the
return addresses of a real walk, perf maps, pprof profiles (encoded here),
folded stacks, and gzipped files for `load`.
Run it again after changing a format; the output is committed. Regression
inputs (a crash the fuzzers found) are committed by hand beside them."""
import gzip
import lzma
import os
import re
import struct
import subprocess
import tempfile

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def pieces(data, size=40, side=None):
    out = bytearray()
    for i in range(0, len(data), size):
        chunk = data[i:i + size]
        b = len(chunk) - 1
        if side is not None:
            b |= 0x80 if side(i) else 0
        out.append(b)
        out += chunk
    return bytes(out)


def write(target, name, data):
    d = os.path.join(TOP, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


REQ_BODY = (b'{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user",'
            b'"content":"hi jane@example.com"}]}')
REQ = (b"POST /v1/chat/completions?key=AIzaX HTTP/1.1\r\nHost: api.openai.com\r\n"
       b"Authorization: Bearer sk-proj-abcdefghijklmnopqrstuvwxyz\r\n"
       b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(REQ_BODY) + REQ_BODY)
SSE = (b'data: {"id":"c1","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"Hi"},'
       b'"finish_reason":null}]}\n\n'
       b'data: {"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],'
       b'"usage":{"prompt_tokens":9,"completion_tokens":2}}\n\ndata: [DONE]\n\n')


def chunked(body, size=50):
    out = b""
    for i in range(0, len(body), size):
        c = body[i:i + size]
        out += b"%x;ext=1\r\n" % len(c) + c + b"\r\n"
    return out + b"0\r\nX-Trailer: t\r\n\r\n"


RESP = (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + chunked(SSE))
ANTH_SSE = (b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1",'
            b'"model":"claude-sonnet-4-20250514","usage":{"input_tokens":10,'
            b'"cache_read_input_tokens":5,"output_tokens":1}}}\n\n'
            b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
            b'"delta":{"type":"text_delta","text":"Hello"}}\n\n'
            b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":'
            b'"end_turn"},"usage":{"output_tokens":3}}\n\n')
GEMINI = (b'[{"candidates":[{"content":{"parts":[{"text":"Hi"}],"role":"model"},'
          b'"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":3,'
          b'"candidatesTokenCount":1,"thoughtsTokenCount":2},"modelVersion":"gemini-2.5-flash",'
          b'"responseId":"r1"}]')
OLLAMA = (b'{"model":"llama3.2","message":{"role":"assistant","content":"The"},"done":false}\n'
          b'{"model":"llama3.2","done_reason":"stop","done":true,"prompt_eval_count":26,'
          b'"eval_count":282}\n')


def h2_frame(ftype, flags, stream, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream) + payload


def lit(name, value, indexing=False):
    # Literal header field, new name, no Huffman (RFC 7541 6.2).
    return bytes([0x40 if indexing else 0x00, len(name)]) + name + bytes([len(value)]) + value


PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
SETTINGS = h2_frame(4, 0, 0, struct.pack(">HI", 1, 65536) + struct.pack(">HI", 3, 100))
REQ_HDRS = (b"\x83\x87" + lit(b":authority", b"api.openai.com", True) + lit(b":path", b"/v1/chat/completions") +
            lit(b"authorization", b"Bearer sk-secret-secret-secret") + lit(b"content-type", b"application/json"))
H2_WRITE = (PREFACE + SETTINGS + h2_frame(1, 0, 1, REQ_HDRS[:10]) + h2_frame(9, 4, 1, REQ_HDRS[10:]) +
            h2_frame(0, 0x9, 1, bytes([4]) + REQ_BODY + b"\0" * 4) +
            h2_frame(1, 0x5, 3, b"\x83\x87\xbe" + lit(b":path", b"/v1/embeddings")) +
            h2_frame(3, 0, 3, struct.pack(">I", 8)))
RESP_HDRS = b"\x88" + lit(b"content-type", b"text/event-stream", True)
H2_READ = (h2_frame(4, 0, 0, b"") + h2_frame(4, 1, 0, b"") + h2_frame(1, 0x24, 1, b"\0\0\0\0\x10" + RESP_HDRS) +
           h2_frame(0, 0, 1, SSE[:60]) + h2_frame(0, 1, 1, SSE[60:]) +
           h2_frame(7, 0, 0, struct.pack(">II", 1, 0) + b"bye"))


def records(parts):
    out = bytearray()
    for op, conn, data in parts:
        if op >= 2:
            out += bytes([op | conn << 6, len(data) if isinstance(data, bytes) else data])
            continue
        for i in range(0, len(data), 200):
            c = data[i:i + 200]
            out += bytes([op | conn << 6, len(c)]) + c
    return bytes(out)


def main():
    write("http1", "request", b"\0" + pieces(REQ))
    write("http1", "response", b"\1" + pieces(RESP))
    write("http1", "pipelined", b"\0" + pieces(b"GET /a HTTP/1.1\r\n\r\nHEAD /b HTTP/1.1\r\n\r\n" + REQ))
    write("sse", "openai", pieces(SSE, 30))
    write("sse", "anthropic", pieces(ANTH_SSE.replace(b"\n", b"\r\n"), 30))
    write("json", "sse_chunk", pieces(SSE[6:120], 17))
    write("json", "gemini_array", pieces(GEMINI, 23))
    write("json", "ndjson", pieces(OLLAMA, 31))
    write("redact", "mixed", b"mail jane@example.com call +1 (415) 555-0132 card 4111 1111 1111 1111 "
          b"ip 10.0.0.1 fe80::1 key sk-proj-abcdefghijklmnopqrstu AKIAIOSFODNN7EXAMPLE EMP12345 Bearer abcdefghijk")
    write("h2", "exchange", pieces(H2_WRITE[len(PREFACE):], 37, lambda i: False) + pieces(H2_READ, 37, lambda i: True))
    write("decoder", "h1_openai_stream", records([(3, 0, 0), (0, 0, REQ), (1, 0, RESP), (3, 0, 1)]))
    write("decoder", "h1_anthropic", records([
        (0, 1, REQ.replace(b"/v1/chat/completions?key=AIzaX", b"/v1/messages").replace(b"api.openai.com", b"api.anthropic.com")),
        (1, 1, b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: %d\r\n\r\n" % len(ANTH_SSE) + ANTH_SSE)]))
    write("decoder", "h1_gemini_ollama_gap", records([
        (0, 2, REQ.replace(b"/v1/chat/completions?key=AIzaX", b"/v1beta/models/gemini-2.5-flash:streamGenerateContent")),
        (1, 2, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(GEMINI) + GEMINI[:50]),
        (2, 2, 9), (1, 2, GEMINI[59:]),
        (0, 3, REQ.replace(b"/v1/chat/completions?key=AIzaX", b"/api/chat")),
        (1, 3, b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(OLLAMA))]))
    write("decoder", "h2", records([(0, 0, H2_WRITE), (1, 0, H2_READ)]))
    symbols_seeds()
    go_seeds()


# ---- fuzz_symbols.c ----

PROG = r"""
__attribute__((noinline)) int leaf(int x) { __asm__ volatile("" ::: "memory"); return x * 3 + 1; }
__attribute__((noinline)) int mid(int x) { return leaf(x) + leaf(x + 1); }
int helper_exported(int x) { return mid(x) ^ 5; }
__asm__(".globl _start\n_start:\n.cfi_startproc\n.cfi_undefined rip\nxor %ebp,%ebp\n"
        "mov $1,%edi\ncall helper_exported\nhlt\n.cfi_endproc\n");
"""
INLINED = r"""
static inline __attribute__((always_inline)) int twice(int x) { __asm__ volatile("nop"); return x * 2; }
int with_inlined(int x) { __asm__ volatile("nop"); return twice(x) + 1; }
"""
HOSTILE = r"""
__asm__(".globl hostile_register\nhostile_register:\n.cfi_startproc\n"
        ".cfi_escape 0x09, 0x03, 0x87, 0x80, 0x80, 0x80, 0x10\nnop\nret\n.cfi_endproc\n");
"""
# Small files: one RWX segment (-N), no relro, no page alignment.
LDFLAGS = ["-nostdlib", "-Wl,--build-id", "-Wl,-N", "-Wl,-z,norelro", "-Wl,--no-relax"]
MAP_BASE = 0x5a0000000000  # fuzz_symbols.c: where the unwind target maps the ELF
STACK_BASE = 0x7ff000000000


def run(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def build(tmp, name, cflags, extra=(), prog=PROG):
    src = os.path.join(tmp, name + ".c")
    with open(src, "w") as f:
        f.write(prog)
    out = os.path.join(tmp, name)
    # The scratch directory out of the DWARF: the same seeds on every run.
    run("gcc", "-O1", "-fno-stack-protector", "-fcf-protection=none", "-fdebug-prefix-map=%s=." % tmp,
        *cflags, *LDFLAGS, *extra, "-o", out, src)
    return out


def read(path):
    with open(path, "rb") as f:
        return f.read()


def file_offset(elf, vaddr):
    """The file offset of link-time address @vaddr (ELF64 LE PT_LOADs)."""
    phoff, = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    for i in range(phnum):
        p_type, _, p_offset, p_vaddr, _, p_filesz = struct.unpack_from("<IIQQQQ", elf, phoff + i * phentsize)
        if p_type == 1 and p_vaddr <= vaddr < p_vaddr + p_filesz:
            return vaddr - p_vaddr + p_offset
    raise ValueError("address %#x in no segment" % vaddr)


def calls(path):
    """{(caller, callee): address after the call}, and symbol addresses."""
    syms, rets, fn, prev = {}, {}, None, None
    for line in subprocess.run(["objdump", "-d", path], check=True, capture_output=True,
                               text=True).stdout.splitlines():
        m = re.match(r"^([0-9a-f]+) <(\w+)>:", line)
        if m:
            fn = m.group(2)
            syms[fn] = int(m.group(1), 16)
            continue
        m = re.match(r"^\s+([0-9a-f]+):", line)
        if not m:
            continue
        addr = int(m.group(1), 16)
        if prev:
            rets[prev] = addr
            prev = None
        c = re.search(r"call\s+[0-9a-f]+ <(\w+)>", line)
        if c:
            prev = (fn, c.group(1))
    return syms, rets


def unwind_input(elf, pc, stack, bp=0):
    data = b"".join(struct.pack("<Q", v) for v in stack)
    return struct.pack("<HHQ", pc, len(data), bp) + data + elf


def symbols_seeds():
    with tempfile.TemporaryDirectory() as tmp:
        exe = build(tmp, "exe", ["-fomit-frame-pointer"], ["-static"])
        elf = read(exe)
        syms, rets = calls(exe)
        at = lambda vaddr: MAP_BASE + file_offset(elf, vaddr)  # noqa: E731
        write("elf", "static_symtab", elf)
        # pc at leaf's entry: the return into mid, mid's saved rbx and rbp
        # (CFA - 24, - 16), the return into helper_exported, into _start.
        write("unwind", "eh_frame_walk", unwind_input(elf, file_offset(elf, syms["leaf"]), [
            at(rets[("mid", "leaf")]), 0x1111, STACK_BASE + 0x100,
            at(rets[("helper_exported", "mid")]), at(rets[("_start", "helper_exported")]), 0]))

        stripped = os.path.join(tmp, "stripped")
        with open(os.path.join(tmp, "exe.debug"), "wb") as f:
            f.write(elf)
        run("objcopy", "--strip-all", "--add-gnu-debuglink=" + os.path.join(tmp, "exe.debug"), exe, stripped)
        write("elf", "stripped_debuglink", read(stripped))

        # MiniDebugInfo: the .symtab alone, xz-compressed, in .gnu_debugdata.
        mini = os.path.join(tmp, "mini")
        run("objcopy", "--only-keep-debug", "--remove-section=.comment", exe, mini)
        xz = os.path.join(tmp, "mini.xz")
        with open(xz, "wb") as f:
            f.write(lzma.compress(read(mini), format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64))
        minidebug = os.path.join(tmp, "minidebug")
        run("objcopy", "--strip-all", "--add-section", ".gnu_debugdata=" + xz, stripped, minidebug)
        write("elf", "minidebuginfo", read(minidebug))

        # DWARF lines and an inline chain (dwarf target): the functions of
        # PROG plus one always inlined, debug sections but no CFI.
        dw = build(tmp, "dwarf", ["-g", "-fno-asynchronous-unwind-tables"], ["-static"], PROG + INLINED)
        run("objcopy", "--remove-section=.comment", "--remove-section=.debug_frame", dw)
        write("dwarf", "lines_inlined", read(dw))

        so = build(tmp, "lib.so", ["-fPIC", "-fomit-frame-pointer"], ["-shared"])
        write("elf", "shared_dynsym", read(so))

        # CFI in .debug_frame only (no .eh_frame), DWARF sections but the frames removed.
        dbg = build(tmp, "dbgframe", ["-fomit-frame-pointer", "-fno-asynchronous-unwind-tables", "-g"],
                    ["-static"])
        run("objcopy", *["--remove-section=" + s for s in (
            ".debug_info", ".debug_abbrev", ".debug_line", ".debug_str", ".debug_line_str",
            ".debug_aranges", ".debug_rnglists", ".debug_loclists", ".comment")], dbg)
        delf = read(dbg)
        dsyms, drets = calls(dbg)
        dat = lambda vaddr: MAP_BASE + file_offset(delf, vaddr)  # noqa: E731
        write("unwind", "debug_frame_walk", unwind_input(delf, file_offset(delf, dsyms["leaf"]), [
            dat(drets[("mid", "leaf")]), 0x1111, STACK_BASE + 0x100,
            dat(drets[("helper_exported", "mid")]), dat(drets[("_start", "helper_exported")]), 0]))

        # No CFI at all: frame pointers. pc in leaf after its push/mov: [bp] the
        # caller's bp, [bp + 8] the return address; a chain ending in bp 0.
        fp = build(tmp, "fp", ["-fno-omit-frame-pointer", "-fno-asynchronous-unwind-tables",
                               "-fno-unwind-tables"], ["-static"])
        run("objcopy", "--remove-section=.eh_frame", "--remove-section=.comment", fp)
        felf = read(fp)
        fsyms, frets = calls(fp)
        fat = lambda vaddr: MAP_BASE + file_offset(felf, vaddr)  # noqa: E731
        S = STACK_BASE
        write("unwind", "frame_pointers", unwind_input(felf, file_offset(felf, fsyms["leaf"]) + 4, [
            S + 0x20, fat(frets[("mid", "leaf")]), 0, 0,
            S + 0x40, fat(frets[("helper_exported", "mid")]), 0, 0,
            0, fat(frets[("_start", "helper_exported")])], bp=S))

        # Regression (unwind.c eval): rbx "is in register 2^32 + 7"
        # (DW_CFA_register), once cut to 32 bits and read as rsp, 32 GiB off.
        hostile = build(tmp, "hostile", ["-fomit-frame-pointer"], ["-static"], PROG + HOSTILE)
        helf = read(hostile)
        hsyms, _ = calls(hostile)
        write("unwind", "regress_register_2_32", unwind_input(
            helf, file_offset(helf, hsyms["hostile_register"]), [0, 0]))

    write("procmaps", "self", (
        b"55d1c0a00000-55d1c0a28000 r--p 00000000 08:01 1048603                    /usr/bin/python3.11\n"
        b"55d1c0a28000-55d1c0d1e000 r-xp 00028000 08:01 1048603                    /usr/bin/python3.11\n"
        b"55d1c2a13000-55d1c2b3f000 rw-p 00000000 00:00 0                          [heap]\n"
        b"7f3b2c028000-7f3b2c17d000 r-xp 00028000 08:01 1054431                    /usr/lib/x86_64-linux-gnu/libc.so.6\n"
        b"7f3b2c400000-7f3b2c401000 r-xp 00000000 00:05 4242                       /memfd:jit (deleted)\n"
        b"7f3b2c500000-7f3b2c501000 r-xp 00000000 fd:02 77                         /opt/my app/lib x.so\n"
        b"7ffd5e9f0000-7ffd5e9f2000 r-xp 00000000 00:00 0                          [vdso]\n"
        b"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n"))
    write("procmaps", "no_path", b"400000-401000 r-xp 00000000 00:00 0\n401000-402000 r-xp 00001000 00:00 0")

    write("perfmap", "node", b"\0" + (
        b"3a8b7c041000 1a0 Builtin:ArgumentsAdaptorTrampoline\n"
        b"3a8b7c042000 40 LazyCompile:~fib /app/fib.js:1\n"
        b"0x3a8b7c042010 10 LazyCompile:*fib /app/fib.js:1\r\n"
        b"3a8b7c042000 80 LazyCompile:*fib /app/fib.js:1\n"
        b"zz 10 bad\n3a8b7c050000 0 zero-size\n"
        b"3a8b7c060000 20 partial line without its newline"))
    write("perfmap", "bounded", b"\x83" + b"".join(b"%x 10 f%d\n" % (0x1000 + 0x10 * i, i) for i in range(6)))

    write("pprof", "sonde", PPROF)
    write("pprof", "sparse_ids", pprof(sparse=True))
    write("folded", "mixed", FOLDED)
    write("folded", "difffolded", b"app;main;work 10 12\napp;main;idle 5 0\n")
    write("load", "pprof_gz", gzip.compress(PPROF, mtime=0))
    write("load", "folded_two_members", gzip.compress(FOLDED[:40], mtime=0) + gzip.compress(FOLDED[40:], mtime=0))
    write("load", "folded_plain", FOLDED)


# ---- gopclntab: Go's function table in a tiny ELF, written by hand ----
#
# A real Go program is 1 MiB or more; these hold what gopclntab.c reads
# (test_gopclntab.c checks the go116 one function by function): a .text
# of GO_FUNCS, .gopclntab in the 1.20+, 1.18 or 1.16 layout, and
# .go.buildinfo with inline strings (1.18+) or pointers (older).

GO_BASE = 0x400000
GO_FUNCS = [("main.main", 0x40), ("main.work", 0x20), ("runtime.goexit", 0x10)]
GO_FUNC_SIZE = 44  # _func of 1.18+: entryOff, nameOff, then 36 bytes not read


def go_pclntab(magic, text, ptr=8):
    """The table for functions GO_FUNCS laid out from address text."""
    word = "<Q" if ptr == 8 else "<I"
    go118 = magic != 0xfffffffa
    words = 8 if go118 else 7
    names = b""
    name_off = []
    for name, _ in GO_FUNCS:
        name_off.append(len(names))
        names += name.encode() + b"\0"
    hdr_len = 8 + words * ptr
    funcnames = hdr_len
    pcln = funcnames + len(names)
    field = 4 if go118 else ptr
    ffmt = "<I" if field == 4 else word
    functab_len = (2 * len(GO_FUNCS) + 1) * field
    entries, funcs = b"", b""
    entry = 0
    for (name, size), noff in zip(GO_FUNCS, name_off):
        pc = entry if go118 else text + entry
        entries += struct.pack(ffmt, pc) + struct.pack(ffmt, functab_len + len(funcs))
        if go118:
            funcs += struct.pack("<Ii", entry, noff) + bytes(GO_FUNC_SIZE - 8)
        else:
            funcs += struct.pack(word, pc) + struct.pack("<i", noff) + bytes(36)
        entry += size
    entries += struct.pack(ffmt, entry if go118 else text + entry)
    if go118:
        # nfunc, nfiles, textStart, funcname, cu, filetab, pctab, pcln
        vals = [len(GO_FUNCS), 0, text, funcnames, pcln, pcln, pcln, pcln]
    else:
        vals = [len(GO_FUNCS), 0, funcnames, pcln, pcln, pcln, pcln]
    hdr = struct.pack("<IBBBB", magic, 0, 0, 1, ptr) + b"".join(struct.pack(word, v) for v in vals)
    return hdr + names + entries + funcs


def go_buildinfo(version, addr, inline=True):
    """.go.buildinfo at address addr: Go 1.18+'s inline strings, or the older pointers."""
    magic = b"\xff Go buildinf:"
    v = version.encode()
    if inline:
        return magic + bytes([8, 2]) + bytes(16) + bytes([len(v)]) + v + b"\0"
    # runtime.buildVersion's address, then a Go string {ptr, len} at +32 and its bytes at +48.
    return (magic + bytes([8, 0]) + struct.pack("<QQ", addr + 32, 0) +
            struct.pack("<QQ", addr + 48, len(v)) + v)


def go_elf(magic, version, inline=True):
    """ET_EXEC x86-64, one R+X PT_LOAD over the whole file, sections at their offsets."""
    layout = [(".text", 6), (".gopclntab", 2), (".go.buildinfo", 3)]  # AX, A, WA
    text = b"\xcc" * sum(size for _, size in GO_FUNCS)
    addrs, data = {}, {}
    off = 64 + 56
    for name, _ in layout:
        off = (off + 15) & ~15
        addrs[name] = off
        # The tables point at .text and, before 1.18, at themselves.
        if name == ".text":
            data[name] = text
        elif name == ".gopclntab":
            data[name] = go_pclntab(magic, GO_BASE + addrs[".text"])
        else:
            data[name] = go_buildinfo(version, GO_BASE + off, inline)
        off += len(data[name])
    shstr = b"\0" + b"".join(n.encode() + b"\0" for n, _ in layout) + b".shstrtab\0"
    body = bytearray(64 + 56)
    for name, _ in layout:
        body += bytes(addrs[name] - len(body)) + data[name]
    shstr_off = len(body)
    body += shstr
    shoff = (len(body) + 7) & ~7
    body += bytes(shoff - len(body)) + bytes(64)
    name_at = 1
    for name, flags in layout:
        o = addrs[name]
        body += struct.pack("<IIQQQQIIQQ", name_at, 1, flags, GO_BASE + o, o, len(data[name]), 0, 0,
                            16, 0)
        name_at += len(name) + 1
    body += struct.pack("<IIQQQQIIQQ", name_at, 3, 0, 0, shstr_off, len(shstr), 0, 0, 1, 0)
    ehdr = (b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8) +
            struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, GO_BASE + addrs[".text"], 64, shoff, 0, 64, 56,
                        1, 64, len(layout) + 2, len(layout) + 1))
    phdr = struct.pack("<IIQQQQQQ", 1, 5, 0, GO_BASE, GO_BASE, shoff, shoff, 0x1000)
    body[0:64 + 56] = ehdr + phdr
    return bytes(body)


def go_seeds():
    for target in ("gopclntab", "elf"):
        write(target, "go120", go_elf(0xfffffff1, "go1.21.5"))
    write("gopclntab", "go118_ptr_buildinfo", go_elf(0xfffffff0, "go1.19.8", inline=False))
    write("gopclntab", "go116", go_elf(0xfffffffa, "go1.16.15", inline=False))


# ---- pprof: perftools.profiles.Profile, encoded by hand ----

def varint(v):
    v &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = v & 0x7f
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def field(num, v):
    if isinstance(v, (bytes, bytearray)):
        return varint(num << 3 | 2) + varint(len(v)) + bytes(v)
    return varint(num << 3) + varint(v)


def msg(*fields):
    return b"".join(field(n, v) for n, v in fields)


def pprof(sparse=False):
    strings = ["", "samples", "count", "cpu", "nanoseconds", "/usr/bin/app", "main", "work",
               "app.c", "libc.so.6", "pid", "comm", "app", "abc123"]
    s = {x: i for i, x in enumerate(strings)}
    mid = [7, 1000] if sparse else [1, 2]
    fid = [90, 3] if sparse else [1, 2]
    lid = [55, 12, 9] if sparse else [1, 2, 3]
    out = msg((1, msg((1, s["samples"]), (2, s["count"]))),
              (1, msg((1, s["cpu"]), (2, s["nanoseconds"]))))
    out += msg((3, msg((1, mid[0]), (2, 0x400000), (3, 0x500000), (4, 0x1000), (5, s["/usr/bin/app"]),
                       (6, s["abc123"]))),
               (3, msg((1, mid[1]), (2, 0x7f0000000000), (3, 0x7f0000200000), (5, s["libc.so.6"]))))
    out += msg((5, msg((1, fid[0]), (2, s["main"]), (4, s["app.c"]))),
               (5, msg((1, fid[1]), (2, s["work"]), (4, s["app.c"]))))
    out += msg((4, msg((1, lid[0]), (2, mid[0]), (3, 0x401234), (4, msg((1, fid[1]), (2, 12))),
                       (4, msg((1, fid[0]), (2, 30))))),
               (4, msg((1, lid[1]), (2, mid[1]), (3, 0x7f0000001000))),
               (4, msg((1, lid[2]), (3, 0xffffffff81000000))))
    out += msg((2, msg((1, msg_packed([lid[0], lid[1]])), (2, msg_packed([3, 3000000])),
                       (3, msg((1, s["pid"]), (3, 42))), (3, msg((1, s["comm"]), (2, s["app"]))))),
               (2, msg((1, msg_packed([lid[2], lid[0]])), (2, msg_packed([1, 1000000])))))
    out += b"".join(field(6, x.encode()) for x in strings)
    out += msg((9, 1700000000000000000), (10, 1000000000), (11, msg((1, s["cpu"]), (2, s["nanoseconds"]))),
               (12, 10000000))
    return out


def msg_packed(values):
    return b"".join(varint(v) for v in values)


PPROF = pprof()
FOLDED = (b"# comment\napp;_start;main;work;memcpy_[i] 7\n"
          b"app;main;[libc.so.6];syscall_[k];do_syscall_64_[k] 3\r\n"
          b"kworker/0:1;[unknown];worker_thread_[k] 2\n\n"
          b"app;main;work 1\n")


main()
