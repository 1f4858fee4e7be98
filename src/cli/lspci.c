// SPDX-License-Identifier: MIT
/*
 * Listings of a running host: its PCI functions in the style of lspci,
 * read from <runtime>/sys as any program would, and its IOMMU groups with
 * viability and owner (which only the daemon knows: UVP_GROUPS).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "client/uvp_client.h"

/* Class names as lspci prints them: a known subclass, else its base class. */
static const struct {
	unsigned int code;	/* base << 8 | sub, or base with 0xff00 set for "any sub" */
	const char *name;
} pci_class_names[] = {
	{ 0x0000, "Non-VGA unclassified device" }, { 0x0001, "VGA compatible unclassified device" },
	{ 0x0100, "SCSI storage controller" }, { 0x0101, "IDE interface" },
	{ 0x0106, "SATA controller" }, { 0x0108, "Non-Volatile memory controller" },
	{ 0x0200, "Ethernet controller" }, { 0x0300, "VGA compatible controller" },
	{ 0x0403, "Audio device" }, { 0x0600, "Host bridge" }, { 0x0601, "ISA bridge" },
	{ 0x0604, "PCI bridge" }, { 0x0880, "System peripheral" },
	{ 0x0c03, "USB controller" }, { 0x0c05, "SMBus" }, { 0x1000, "Network and computing encryption device" },
	{ 0xff00, "Unclassified device" }, { 0xff01, "Mass storage controller" },
	{ 0xff02, "Network controller" }, { 0xff03, "Display controller" },
	{ 0xff04, "Multimedia controller" }, { 0xff05, "Memory controller" },
	{ 0xff06, "Bridge" }, { 0xff07, "Communication controller" },
	{ 0xff08, "Generic system peripheral" }, { 0xff09, "Input device controller" },
	{ 0xff0b, "Processor" }, { 0xff0c, "Serial bus controller" },
	{ 0xff0d, "Wireless controller" }, { 0xff10, "Encryption controller" },
	{ 0xff11, "Signal processing controller" }, { 0xff12, "Processing accelerators" },
	{ 0xff13, "Non-Essential Instrumentation" }, { 0xffff, "Unassigned class" },
};

static const char *pci_class_name(unsigned int class16)
{
	for (size_t i = 0; i < sizeof(pci_class_names) / sizeof(pci_class_names[0]); i++)
		if (pci_class_names[i].code == class16)
			return pci_class_names[i].name;
	for (size_t i = 0; i < sizeof(pci_class_names) / sizeof(pci_class_names[0]); i++)
		if (pci_class_names[i].code == (0xff00 | (class16 >> 8)))
			return pci_class_names[i].name;
	return "Class";
}

/* The basename of a link's target, or "" when it is absent. */
static void cli_link_base(const char *path, char *buf, size_t size)
{
	char target[PATH_MAX];
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	const char *base;

	buf[0] = '\0';
	if (n <= 0)
		return;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) < size)
		strcpy(buf, base);
}

struct pci_fn {
	char bdf[64];
	unsigned int vendor, device, class16;
	char driver[64], group[32];
};

static unsigned int cli_read_hex(const char *dir, const char *attr)
{
	char path[PATH_MAX], line[64];

	if (cli_path(path, sizeof(path), "%s/%s", dir, attr) ||
	    cli_read_line(path, line, sizeof(line)))
		return 0;
	return (unsigned int)strtoul(line, NULL, 16);
}

static void pci_fn_read(const char *devices, const char *bdf, struct pci_fn *fn)
{
	char dir[PATH_MAX], path[PATH_MAX];

	memset(fn, 0, sizeof(*fn));
	if (cli_path(fn->bdf, sizeof(fn->bdf), "%s", bdf) ||
	    cli_path(dir, sizeof(dir), "%s/%s", devices, bdf))
		return;
	fn->vendor = cli_read_hex(dir, "vendor");
	fn->device = cli_read_hex(dir, "device");
	fn->class16 = cli_read_hex(dir, "class") >> 8;
	if (!cli_path(path, sizeof(path), "%s/driver", dir))
		cli_link_base(path, fn->driver, sizeof(fn->driver));
	if (!cli_path(path, sizeof(path), "%s/iommu_group", dir))
		cli_link_base(path, fn->group, sizeof(fn->group));
}

static int pci_fn_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pci_fn *)a)->bdf, ((const struct pci_fn *)b)->bdf);
}

/* Every function under <rt>/sys/bus/pci/devices, sorted; count or -1. */
static int pci_fns_read(const char *rt, struct pci_fn **out)
{
	char devices[PATH_MAX];
	struct pci_fn *fns = NULL;
	struct dirent *e;
	int n = 0;
	DIR *dir;

	if (cli_path(devices, sizeof(devices), "%s/sys/bus/pci/devices", rt))
		return -1;
	dir = opendir(devices);
	if (!dir) {
		fprintf(stderr, "uvfio: %s: %s (is the host's sysfs mounted?)\n", devices,
			strerror(errno));
		return -1;
	}
	while ((e = readdir(dir))) {
		struct pci_fn *more;

		if (e->d_name[0] == '.')
			continue;
		more = realloc(fns, (size_t)(n + 1) * sizeof(*fns));
		if (!more)
			break;
		fns = more;
		pci_fn_read(devices, e->d_name, &fns[n++]);
	}
	closedir(dir);
	if (n)
		qsort(fns, (size_t)n, sizeof(*fns), pci_fn_cmp);
	*out = fns;
	return n;
}

/* The runtime from [--runtime DIR], with a live daemon behind it. */
static const char *cli_live_runtime(int argc, char **argv, char *rt, size_t size)
{
	static const struct option opts[] = {
		{ "runtime", required_argument, NULL, 'r' },
		{ 0 }
	};
	const char *runtime = NULL;
	int c, fd;

	while ((c = getopt_long(argc, argv, "r:", opts, NULL)) != -1) {
		if (c != 'r' || optind > argc)
			return NULL;
		runtime = optarg;
	}
	if (optind != argc || !cli_runtime(runtime, rt, size)) {
		fprintf(stderr, "usage: uvfio %s [--runtime DIR]\n", argv[0]);
		return NULL;
	}
	fd = cli_connect(rt);
	if (fd < 0)
		return NULL;
	close(fd);
	return rt;
}

int cli_lspci(int argc, char **argv)
{
	char rt[4000];
	struct pci_fn *fns = NULL;
	int n;

	if (!cli_live_runtime(argc, argv, rt, sizeof(rt)))
		return 1;
	n = pci_fns_read(rt, &fns);
	if (n < 0)
		return 1;
	for (int i = 0; i < n; i++) {
		printf("%s %s [%04x]: Vendor %04x Device %04x\n", fns[i].bdf,
		       pci_class_name(fns[i].class16), fns[i].class16, fns[i].vendor,
		       fns[i].device);
		if (fns[i].driver[0])
			printf("\tKernel driver in use: %s\n", fns[i].driver);
		if (fns[i].group[0])
			printf("\tIOMMU group: %s\n", fns[i].group);
	}
	free(fns);
	return 0;
}

/* One "group ..." line of UVP_GROUPS, printed with the devices' identity. */
static void cli_group_print(const char *line, const struct pci_fn *fns, int n)
{
	unsigned int id;
	int viable, off = 0;
	char owner[32], devs[4096];

	devs[0] = '\0';
	if (sscanf(line, "group %u viable=%d owner=%31s %n", &id, &viable, owner, &off) < 3)
		return;
	if (!strncmp(line + off, "devices=", 8))
		snprintf(devs, sizeof(devs), "%.*s", (int)strcspn(line + off + 8, "\n"),
			 line + off + 8);
	printf("IOMMU group %u: %s, owner: %s\n", id, viable ? "viable" : "not viable",
	       !strcmp(owner, "-") ? "none" : owner);
	for (char *save = NULL, *dev = strtok_r(devs, ",", &save); dev;
	     dev = strtok_r(NULL, ",", &save)) {
		const struct pci_fn *fn = NULL;

		for (int i = 0; i < n; i++)
			if (!strcmp(fns[i].bdf, dev))
				fn = &fns[i];
		if (fn)
			printf("\t%s [%04x:%04x] driver %s\n", dev, fn->vendor, fn->device,
			       fn->driver[0] ? fn->driver : "none");
		else
			printf("\t%s\n", dev);
	}
}

int cli_groups(int argc, char **argv)
{
	static char text[UVP_MAX_BODY + 1];
	char rt[4000];
	struct pci_fn *fns = NULL;
	int n;

	if (!cli_live_runtime(argc, argv, rt, sizeof(rt)) ||
	    cli_admin_text(rt, UVP_GROUPS, "groups", text, sizeof(text)))
		return 1;
	n = pci_fns_read(rt, &fns);
	if (n < 0)
		n = 0;	/* no sysfs: the names alone */
	for (const char *l = text; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "")
		cli_group_print(l, fns, n);
	free(fns);
	return 0;
}
