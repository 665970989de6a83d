/*
 * The persona's busybox binary, made rather than stored: an ELF header and
 * program headers for the persona's CPU, then a body of deterministic
 * pseudo-random bytes up to the persona's size. Mirai's loader reads the
 * first bytes of /bin/echo (a link to busybox) to choose which binary to
 * upload, so the header must be right for the CPU; the body only has to
 * be the same bytes every time it is read, at any offset, without being
 * held in memory by each of thousands of sessions.
 *
 * The binary looks stripped to the bone (no section headers, as sstrip
 * leaves binaries on small devices): two PT_LOAD segments for a 32-bit
 * CPU (text read+execute, data read+write), one for a 64-bit one, so that
 * the header and its program headers fit in 128 bytes.
 */
#include <elf.h>
#include <string.h>

#include "fs.h"

/* Where the text segment of an executable starts, by machine, as the
 * usual linker scripts place it. */
static uint64_t text_base(uint16_t machine)
{
	switch (machine) {
	case EM_ARM: return 0x8000;
	case EM_MIPS: return 0x400000;
	case EM_386: return 0x8048000;
	default: return 0x400000;
	}
}

static uint64_t load_align(uint16_t machine)
{
	switch (machine) {
	case EM_ARM: return 0x8000;
	case EM_MIPS: return 0x10000;
	default: return 0x1000;
	}
}

static void put16(uint8_t *p, uint16_t v, int msb)
{
	if (msb) {
		p[0] = (uint8_t)(v >> 8);
		p[1] = (uint8_t)v;
	} else {
		p[0] = (uint8_t)v;
		p[1] = (uint8_t)(v >> 8);
	}
}

static void put32(uint8_t *p, uint32_t v, int msb)
{
	int i;

	for (i = 0; i < 4; i++)
		p[msb ? 3 - i : i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v, int msb)
{
	int i;

	for (i = 0; i < 8; i++)
		p[msb ? 7 - i : i] = (uint8_t)(v >> (8 * i));
}

/* The split of the file between the text and data segments: the data
 * segment is the last sixteenth, page aligned, as in a small static
 * binary. */
static uint64_t text_size(const struct trap_fs_elf *elf)
{
	uint64_t t = elf->size - elf->size / 16;

	t &= ~(uint64_t)0xfff;
	if (t < 128)
		t = elf->size;
	return t;
}

size_t trap_fs_elf_header(const struct trap_fs_elf *elf, uint8_t *out)
{
	int msb = elf->data == ELFDATA2MSB;
	int is64 = elf->cls == ELFCLASS64;
	uint64_t base = text_base(elf->machine), align = load_align(elf->machine);
	uint64_t tsize = text_size(elf), dsize = elf->size > tsize ? elf->size - tsize : 0;
	uint64_t dvaddr = base + tsize + align;
	size_t ehsize = is64 ? 64 : 52, phentsize = is64 ? 56 : 32;
	unsigned phnum = is64 ? 1 : 2, i;
	uint8_t *ph;

	memset(out, 0, 128);
	memcpy(out, ELFMAG, SELFMAG);
	out[EI_CLASS] = is64 ? ELFCLASS64 : ELFCLASS32;
	out[EI_DATA] = msb ? ELFDATA2MSB : ELFDATA2LSB;
	out[EI_VERSION] = EV_CURRENT;
	out[EI_OSABI] = ELFOSABI_SYSV;
	put16(out + 16, ET_EXEC, msb);
	put16(out + 18, elf->machine, msb);
	put32(out + 20, EV_CURRENT, msb);
	if (is64) {
		put64(out + 24, base + 0x1a0, msb);  /* e_entry */
		put64(out + 32, ehsize, msb);        /* e_phoff */
		put64(out + 40, 0, msb);             /* e_shoff: no section headers */
		put32(out + 48, elf->flags, msb);
		put16(out + 52, (uint16_t)ehsize, msb);
		put16(out + 54, (uint16_t)phentsize, msb);
		put16(out + 56, (uint16_t)phnum, msb);
	} else {
		put32(out + 24, (uint32_t)(base + 0x140), msb);
		put32(out + 28, (uint32_t)ehsize, msb);
		put32(out + 32, 0, msb);
		put32(out + 36, elf->flags, msb);
		put16(out + 40, (uint16_t)ehsize, msb);
		put16(out + 42, (uint16_t)phentsize, msb);
		put16(out + 44, (uint16_t)phnum, msb);
	}
	for (i = 0; i < phnum; i++) {
		int text = i == 0;
		uint64_t off = text ? 0 : tsize, vaddr = text ? base : dvaddr;
		uint64_t filesz = text ? tsize : dsize;
		uint64_t memsz = text ? tsize : dsize + dsize / 4; /* .bss follows .data */
		uint32_t flags = text ? (PF_R | PF_X) : (PF_R | PF_W);

		ph = out + ehsize + i * phentsize;
		put32(ph, PT_LOAD, msb);
		if (is64) {
			put32(ph + 4, flags, msb);
			put64(ph + 8, off, msb);
			put64(ph + 16, vaddr, msb);
			put64(ph + 24, vaddr, msb);
			put64(ph + 32, filesz, msb);
			put64(ph + 40, memsz, msb);
			put64(ph + 48, 0x200000, msb);
		} else {
			put32(ph + 4, (uint32_t)off, msb);
			put32(ph + 8, (uint32_t)vaddr, msb);
			put32(ph + 12, (uint32_t)vaddr, msb);
			put32(ph + 16, (uint32_t)filesz, msb);
			put32(ph + 20, (uint32_t)memsz, msb);
			put32(ph + 24, flags, msb);
			put32(ph + 28, (uint32_t)align, msb);
		}
	}
	return ehsize + phnum * phentsize;
}

/* splitmix64: a counter-based generator, so any 8-byte block of the body
 * can be made on its own. */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* One 8-byte block of the body. A quarter of the bytes are zero, as in
 * machine code and its data (a body of uniformly random bytes would be an
 * odd binary to anyone who measured its entropy). Two mixes make a block,
 * not two a byte: `cat /bin/echo` reads the whole binary. */
static void body_block(uint64_t key, uint64_t blk, uint8_t out[8])
{
	uint64_t r = mix(key ^ blk), z = mix(r ^ (blk << 3));
	unsigned k;

	for (k = 0; k < 8; k++)
		out[k] = ((z >> (2 * k)) & 3) == 0 ? 0 : (uint8_t)(r >> (8 * k));
}

void trap_fs_elf_read(const struct trap_fs_elf *elf, uint64_t off, uint8_t *buf, size_t len)
{
	uint8_t hdr[128];
	size_t hlen = trap_fs_elf_header(elf, hdr), i;
	uint64_t key = mix(((uint64_t)elf->machine << 48) ^ ((uint64_t)elf->flags << 16) ^
			   elf->size ^ ((uint64_t)elf->data << 40));
	uint64_t cur = UINT64_MAX;
	uint8_t blk[8];

	for (i = 0; i < len; i++) {
		uint64_t o = off + i;

		if (o < hlen) {
			buf[i] = hdr[o];
			continue;
		}
		if ((o >> 3) != cur) {
			cur = o >> 3;
			body_block(key, cur, blk);
		}
		buf[i] = blk[o & 7];
	}
}
