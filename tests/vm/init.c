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
 * The modules named in /modules/order, if any, are loaded first
 * (finit_module), in that order, so that the blobs may name their structs.
 * Then, with sysfs mounted, each entry of /sys/kernel/btf is listed with
 * its inode number and the id of its BTF (BPF_BTF_GET_NEXT_ID and
 * BPF_OBJ_GET_INFO_BY_FD), for the test that the two orders agree.
 *
 * Console output, one line each, so that kernel messages between them do
 * no harm:
 *   BTFKIT-MODULE <file> <errno>            (0: loaded)
 *   BTFKIT-BTF <name> <inode> <btf id>      (with modules only)
 *   BTFKIT-BTF-END <count>
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
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#define BPF_OBJ_GET_INFO_BY_FD 15
#define BPF_BTF_LOAD 18
#define BPF_BTF_GET_FD_BY_ID 19
#define BPF_BTF_GET_NEXT_ID 23

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

/* Loads the modules /modules/order names (file names, one a line), in
 * that order; returns how many it names. */
static int load_modules(void)
{
	FILE *order = fopen("/modules/order", "r");
	if (!order)
		return 0;
	char name[256];
	int count = 0;
	while (fscanf(order, "%255s", name) == 1) {
		char path[512];
		snprintf(path, sizeof(path), "/modules/%s", name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		int err = fd < 0 ? errno : 0;
		if (fd >= 0) {
			if (syscall(SYS_finit_module, fd, "", 0) != 0)
				err = errno;
			close(fd);
		}
		printf("BTFKIT-MODULE %s %d\n", name, err);
		count++;
	}
	fclose(order);
	return count;
}

/* The BPF_BTF_GET_NEXT_ID / BPF_BTF_GET_FD_BY_ID part of union bpf_attr. */
struct btf_id_attr {
	uint32_t id;
	uint32_t next_id;
	uint32_t open_flags;
};

/* struct bpf_btf_info up to kernel_btf (5.11). */
struct btf_info {
	uint64_t btf;
	uint32_t btf_size;
	uint32_t id;
	uint64_t name;
	uint32_t name_len;
	uint32_t kernel_btf;
};

/* The id of the kernel BTF (vmlinux's or a module's) called `want`, 0 if
 * none. */
static uint32_t kernel_btf_id(const char *want)
{
	struct btf_id_attr a;
	memset(&a, 0, sizeof(a));
	while (syscall(SYS_bpf, BPF_BTF_GET_NEXT_ID, &a, sizeof(a)) == 0) {
		uint32_t id = a.next_id;
		struct btf_id_attr g;
		memset(&g, 0, sizeof(g));
		g.id = id;
		long fd = syscall(SYS_bpf, BPF_BTF_GET_FD_BY_ID, &g, sizeof(g));
		if (fd >= 0) {
			char name[64] = { 0 };
			struct btf_info info;
			memset(&info, 0, sizeof(info));
			info.name = (uint64_t)(uintptr_t)name;
			info.name_len = sizeof(name);
			struct {
				uint32_t bpf_fd;
				uint32_t info_len;
				uint64_t info;
			} q = { (uint32_t)fd, sizeof(info), (uint64_t)(uintptr_t)&info };
			long r = syscall(SYS_bpf, BPF_OBJ_GET_INFO_BY_FD, &q, sizeof(q));
			close((int)fd);
			if (r == 0 && info.kernel_btf && strcmp(name, want) == 0)
				return id;
		}
		a.id = id;
	}
	return 0;
}

/* Each entry of /sys/kernel/btf: its inode number and its BTF's id. */
static void list_btf(void)
{
	mkdir("/sys", 0755);
	if (mount("sysfs", "/sys", "sysfs", 0, NULL) != 0)
		die("mount sysfs");
	DIR *d = opendir("/sys/kernel/btf");
	if (!d)
		die("open /sys/kernel/btf");
	struct dirent *e;
	int count = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		printf("BTFKIT-BTF %s %llu %u\n", e->d_name, (unsigned long long)e->d_ino, kernel_btf_id(e->d_name));
		count++;
	}
	closedir(d);
	printf("BTFKIT-BTF-END %d\n", count);
}

int main(void)
{
	if (load_modules() > 0)
		list_btf();
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
