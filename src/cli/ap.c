// SPDX-License-Identifier: MIT
/*
 * uvfio ap: the host's AP cards and queues in the spirit of lszcrypt,
 * read from <runtime>/sys/devices/ap as any program would:
 *
 *   CARD.DOM TYPE  MODE        STATUS    REQUESTS DRIVER    OWNER
 *   00       CEX8A Accelerator online           3 cex4card  host
 *   00.0004  CEX8A Accelerator online           3 cex4queue host
 *   04.0007  CEX8A Accelerator -                0 vfio_ap   mdev
 *
 * OWNER: "host" for the default drivers, "free" for a queue without a
 * driver; for a queue bound to vfio_ap its 'status' attribute decides:
 * "mdev" (assigned), "guest" (in use), "vfio_ap" (unassigned).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

/* The attribute's first line, or "-" when it cannot be read. */
static void ap_attr(const char *dir, const char *attr, char *buf, size_t size)
{
	char path[PATH_MAX];

	if (cli_path(path, sizeof(path), "%s/%s", dir, attr) ||
	    cli_read_line(path, buf, size))
		snprintf(buf, size, "-");
}

static void ap_driver(const char *dir, char *buf, size_t size)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	ssize_t n;

	snprintf(buf, size, "-");
	if (cli_path(path, sizeof(path), "%s/driver", dir))
		return;
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	n = (ssize_t)strnlen(base, size - 1);
	memcpy(buf, base, (size_t)n);
	buf[n] = '\0';
}

/* The mode from the facility bits of ap_functions (TAPQ's GR2). */
static const char *ap_mode(const char *functions)
{
	unsigned long fac = strtoul(functions, NULL, 16);

	if (fac & 0x08000000ul)
		return "Accelerator";
	if (fac & 0x10000000ul)
		return "CCA-Coproc";
	if (fac & 0x04000000ul)
		return "EP11-Coproc";
	return "-";
}

static const char *ap_status(const char *dir)
{
	char v[16];

	ap_attr(dir, "chkstop", v, sizeof(v));
	if (!strcmp(v, "1"))
		return "checkstop";
	ap_attr(dir, "config", v, sizeof(v));
	if (!strcmp(v, "0"))
		return "deconfig";
	ap_attr(dir, "online", v, sizeof(v));
	return !strcmp(v, "1") ? "online" : !strcmp(v, "0") ? "offline" : "-";
}

static const char *ap_owner(const char *dir, const char *driver)
{
	char status[32];

	if (!strcmp(driver, "-"))
		return "free";
	if (strcmp(driver, "vfio_ap"))
		return "host";
	ap_attr(dir, "status", status, sizeof(status));
	if (!strcmp(status, "in use"))
		return "guest";
	return !strcmp(status, "assigned") ? "mdev" : "vfio_ap";
}

static void ap_print(const char *dir, const char *name, const char *type)
{
	char functions[32], requests[32], driver[64];

	ap_attr(dir, "ap_functions", functions, sizeof(functions));
	ap_attr(dir, "request_count", requests, sizeof(requests));
	ap_driver(dir, driver, sizeof(driver));
	printf("%-8s %-5s %-11s %-9s %8s %-9s %s\n", name, type, ap_mode(functions),
	       ap_status(dir), requests, driver, ap_owner(dir, driver));
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of dir that start with prefix (a card's queues have its
 * id and a dot), sorted; count or -1. */
static int ap_entries(const char *dir, const char *prefix, char ***out)
{
	struct dirent *e;
	char **names = NULL;
	int n = 0;
	DIR *d = opendir(dir);

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char **more;

		if (strncmp(e->d_name, prefix, strlen(prefix)))
			continue;
		more = realloc(names, (size_t)(n + 1) * sizeof(*names));
		if (!more)
			break;
		names = more;
		names[n] = strdup(e->d_name);
		if (names[n])
			n++;
	}
	closedir(d);
	if (n)
		qsort(names, (size_t)n, sizeof(*names), name_cmp);
	*out = names;
	return n;
}

static void ap_free_names(char **names, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static void ap_print_card(const char *root, const char *card)
{
	char dir[PATH_MAX], qdir[PATH_MAX], type[16], prefix[8];
	char **queues = NULL;
	int nq;

	if (cli_path(dir, sizeof(dir), "%s/%s", root, card))
		return;
	ap_attr(dir, "type", type, sizeof(type));
	ap_print(dir, card + 4, type);
	snprintf(prefix, sizeof(prefix), "%.2s.", card + 4);
	nq = ap_entries(dir, prefix, &queues);
	for (int i = 0; i < nq; i++)
		if (!cli_path(qdir, sizeof(qdir), "%s/%s", dir, queues[i]))
			ap_print(qdir, queues[i], type);
	ap_free_names(queues, nq > 0 ? nq : 0);
}

int cli_ap(int argc, char **argv)
{
	char rtbuf[4000], root[PATH_MAX];
	const char *rt = cli_listing_runtime(argc, argv, rtbuf, sizeof(rtbuf));
	char **cards = NULL;
	int n, fd;

	if (!rt)
		return 2;
	fd = cli_connect(rt);
	if (fd < 0)
		return 1;
	close(fd);
	if (cli_path(root, sizeof(root), "%s/sys/devices/ap", rt))
		return 1;
	n = ap_entries(root, "card", &cards);
	if (n < 0) {
		fprintf(stderr, "uvfio: %s: %s (no AP bus on this host, or its sysfs is not "
			"mounted)\n", root, strerror(errno));
		return 1;
	}
	printf("%-8s %-5s %-11s %-9s %8s %-9s %s\n", "CARD.DOM", "TYPE", "MODE", "STATUS",
	       "REQUESTS", "DRIVER", "OWNER");
	for (int i = 0; i < n; i++)
		ap_print_card(root, cards[i]);
	ap_free_names(cards, n);
	return 0;
}
