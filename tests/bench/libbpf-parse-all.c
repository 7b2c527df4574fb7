/* The peer for `btfkit validate --all-modules`: what a libbpf loader does
 * to take in a kernel's BTF directory. btf__parse(vmlinux), then
 * btf__parse_split(module, vmlinux) for every module file, in name order;
 * each parse runs libbpf's own sanity checks (btf_sanity_check). Exit 1 on
 * the first failure.
 *
 * Build: cc -O2 -o libbpf-parse-all libbpf-parse-all.c -lbpf
 * Usage: libbpf-parse-all DIR
 */
#include <bpf/btf.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/vmlinux", argv[1]);
	struct btf *base = btf__parse(path, NULL);
	if (!base) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return 1;
	}
	DIR *d = opendir(argv[1]);
	if (!d) {
		perror(argv[1]);
		return 2;
	}
	size_t n = 0, cap = 2048;
	char **names = malloc(cap * sizeof(*names));
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !strcmp(e->d_name, "vmlinux") || e->d_type == DT_DIR)
			continue;
		if (n == cap)
			names = realloc(names, (cap *= 2) * sizeof(*names));
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp);
	unsigned long types = 0;
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", argv[1], names[i]);
		struct btf *m = btf__parse_split(path, base);
		if (!m) {
			fprintf(stderr, "%s: %s\n", path, strerror(errno));
			return 1;
		}
		types += btf__type_cnt(m) - btf__type_cnt(base);
		btf__free(m);
	}
	printf("%zu modules, %lu types\n", n, types);
	btf__free(base);
	return 0;
}
