/* The init of a throwaway guest: loads every blob of /inputs with
 * bpf(BPF_BTF_LOAD) and prints the kernel's verdicts on the console, then
 * powers the machine off. Built static by tests/src/vm.rs; the guest is
 * the Linux kernel under test with an initramfs of this program, its
 * inputs and /dev/console.
 *
 * /inputs: "BTFKITV1", u32 count, u32 flags (bit 0: print the verifier
 * log of each rejected blob), then count records of u32 length + bytes,
 * all little-endian.
 *
 * The .ko files of /modules, if any, are loaded first (finit_module), so
 * that the blobs may name their structs.
 *
 * Console output, one line each, so that kernel messages between them do
 * no harm:
 *   BTFKIT-MODULE <file> <errno>            (0: loaded)
 *   BTFKIT-BEGIN <count> <release>
 *   V <first index> <errno> <errno> ...     (0: accepted; 32 a line)
 *   L <index> <errno> <hex of the log>      (flag bit 0 only)
 *   BTFKIT-END <count>
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#define BPF_BTF_LOAD 18

/* The BTF_LOAD part of union bpf_attr up to btf_log_true_size (6.4); the
 * kernels before it accept the trailing zero word. */
struct btf_load_attr {
	uint64_t btf;
	uint64_t btf_log_buf;
	uint32_t btf_size;
	uint32_t btf_log_size;
	uint32_t btf_log_level;
	uint32_t btf_log_true_size;
};

/* Room for a whole vmlinux's log: the kernel logs every type it checks,
 * and an error past the end of a full log is lost. Kernels before 6.4
 * take at most UINT_MAX >> 8 bytes. */
static char logbuf[(1 << 24) - 1];

static int btf_load(const uint8_t *data, uint32_t len, int with_log)
{
	struct btf_load_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.btf = (uint64_t)(uintptr_t)data;
	attr.btf_size = len;
	if (with_log) {
		logbuf[0] = 0;
		attr.btf_log_buf = (uint64_t)(uintptr_t)logbuf;
		attr.btf_log_size = sizeof(logbuf);
		attr.btf_log_level = 1;
	}
	long fd = syscall(SYS_bpf, BPF_BTF_LOAD, &attr, sizeof(attr));
	if (fd < 0)
		return errno;
	close((int)fd);
	return 0;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void die(const char *why)
{
	printf("BTFKIT-ERROR %s (errno %d)\n", why, errno);
	fflush(stdout);
	sync();
	reboot(RB_POWER_OFF);
	_exit(1);
}

static void load_modules(void)
{
	DIR *d = opendir("/modules");
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len < 4 || strcmp(e->d_name + len - 3, ".ko") != 0)
			continue;
		char path[512];
		snprintf(path, sizeof(path), "/modules/%s", e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		int err = fd < 0 ? errno : 0;
		if (fd >= 0) {
			if (syscall(SYS_finit_module, fd, "", 0) != 0)
				err = errno;
			close(fd);
		}
		printf("BTFKIT-MODULE %s %d\n", e->d_name, err);
	}
	closedir(d);
}

int main(void)
{
	load_modules();
	int fd = open("/inputs", O_RDONLY);
	if (fd < 0)
		die("open /inputs");
	off_t size = lseek(fd, 0, SEEK_END);
	if (size < 16 || lseek(fd, 0, SEEK_SET) != 0)
		die("size of /inputs");
	uint8_t *buf = malloc((size_t)size);
	if (!buf)
		die("malloc");
	for (off_t got = 0; got < size;) {
		ssize_t n = read(fd, buf + got, (size_t)(size - got));
		if (n <= 0)
			die("read /inputs");
		got += n;
	}
	close(fd);
	if (memcmp(buf, "BTFKITV1", 8) != 0)
		die("bad magic");
	uint32_t count = le32(buf + 8), flags = le32(buf + 12);
	struct utsname u;
	uname(&u);
	printf("BTFKIT-BEGIN %u %s\n", count, u.release);
	size_t at = 16;
	for (uint32_t i = 0; i < count; i++) {
		if (at + 4 > (size_t)size)
			die("truncated /inputs");
		uint32_t len = le32(buf + at);
		at += 4;
		if (len > (size_t)size - at)
			die("truncated record");
		int e = btf_load(buf + at, len, 0);
		if (i % 32 == 0)
			printf("%sV %u", i ? "\n" : "", i);
		printf(" %d", e);
		if (e && (flags & 1)) {
			btf_load(buf + at, len, 1);
			printf("\nL %u %d ", i, e);
			for (const char *c = logbuf; *c; c++)
				printf("%02x", (unsigned char)*c);
			/* Resume the V line the log broke. */
			if ((i + 1) % 32 != 0 && i + 1 < count)
				printf("\nV %u", i + 1);
		}
		at += len;
	}
	printf("\nBTFKIT-END %u\n", count);
	fflush(stdout);
	sync();
	reboot(RB_POWER_OFF);
	return 0;
}
