// SPDX-License-Identifier: MIT
/*
 * uvfio: the command line of a uvfio host.
 *
 *   uvfio daemon [--config FILE] [--runtime DIR] [--foreground] [--no-sysfs]
 *   uvfio run [--config FILE] [--runtime DIR] -- CMD [ARG...]
 *   uvfio status [--runtime DIR]
 *   uvfio lspci [--runtime DIR]
 *   uvfio groups [--runtime DIR]
 *   uvfio vms [--runtime DIR]
 *   uvfio ap [--runtime DIR]
 *   uvfio ap config [--runtime DIR] VERB ID
 *   uvfio guest [--runtime DIR] --mdev UUID [--group N | --cdev] -- INSN...
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "client/uvp_client.h"
#include "daemon/uvfiod.h"

static void cli_usage(FILE *f)
{
	fprintf(f,
		"usage: uvfio COMMAND [OPTIONS]\n"
		"\n"
		"  daemon [--config FILE] [--runtime DIR] [--foreground] [--no-sysfs]\n"
		"        serve a host (default runtime: $UVFIO_RUNTIME or %s)\n"
		"  run [--config FILE] [--runtime DIR] -- CMD [ARG...]\n"
		"        run CMD under the shim, on the running host at $UVFIO_RUNTIME or\n"
		"        (none running, or --config given) on a private host for CMD's lifetime\n"
		"  status [--runtime DIR]   the daemon, its clients and their open files\n"
		"  lspci [--runtime DIR]    PCI functions of the host, lspci style\n"
		"  groups [--runtime DIR]   IOMMU groups: devices, viability, owner\n"
		"  vms [--runtime DIR]      KVM VMs: owner, VFIO files held, non-coherent DMA\n"
		"  ap [--runtime DIR]       s390 AP cards and queues: type, mode, driver, owner;\n"
		"                           vfio_ap mdevs: matrix, guest matrix, VM\n"
		"  ap config [--runtime DIR] VERB ID\n"
		"        change the machine's AP configuration (root): add-adapter,\n"
		"        remove-adapter, add-domain, remove-domain, add-control-domain,\n"
		"        remove-control-domain, adapter-online, adapter-offline\n"
		"  guest [--runtime DIR] --mdev UUID [--group N | --cdev] -- INSN...\n"
		"        a simulated s390 guest: a VM with the vfio_ap mdev, executing AP\n"
		"        instructions (tapq, nqap-rsa, dqap, rapq, zapq, qci; 'guest --help')\n",
		CLI_DEFAULT_RUNTIME);
}

const char *cli_runtime(const char *opt, char *buf, size_t size)
{
	const char *rt = opt ? opt : getenv("UVFIO_RUNTIME");
	char cwd[4096];
	int n;

	if (!rt || !*rt)
		rt = CLI_DEFAULT_RUNTIME;
	if (rt[0] == '/')
		n = snprintf(buf, size, "%s", rt);
	else if (getcwd(cwd, sizeof(cwd)))
		n = snprintf(buf, size, "%s/%s", cwd, rt);
	else
		return NULL;
	if (n < 0 || (size_t)n >= size)
		return NULL;
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = '\0';
	return buf;
}

int cli_connect(const char *rt)
{
	int fd = uvp_connect(rt);

	if (fd >= 0)
		return fd;
	fprintf(stderr,
		"uvfio: no host at %s (connect: %s); start one with 'uvfio daemon' or use "
		"'uvfio run'\n", rt, strerror(-fd));
	return -1;
}

int cli_admin_text(const char *rt, uint32_t op, const char *what, char *text, size_t size)
{
	int fd = cli_connect(rt);
	long ret;

	if (fd < 0)
		return 1;
	ret = uvp_admin(fd, op, text, size);
	close(fd);
	if (ret < 0) {
		fprintf(stderr, "uvfio: %s of %s: %s\n", what, rt, strerror((int)-ret));
		return 1;
	}
	return 0;
}

int cli_path(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int cli_read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	int ret = 0;

	if (!f)
		return -errno;
	if (!fgets(buf, (int)size, f))
		ret = ferror(f) ? -EIO : -ENODATA;
	fclose(f);
	if (!ret)
		buf[strcspn(buf, "\n")] = '\0';
	return ret;
}

int cli_daemon(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "runtime", required_argument, NULL, 'r' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "no-sysfs", no_argument, NULL, 'n' },
		{ "ready-fd", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct uvfiod_options o = { .ready_fd = -1 };
	const char *runtime = NULL;
	char rt[4000];
	int c;

	while ((c = getopt_long(argc, argv, "c:r:fh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': o.config = optarg; break;
		case 'r': runtime = optarg; break;
		case 'f': o.foreground = true; break;
		case 'n': o.no_sysfs = true; break;
		case 'R': o.ready_fd = atoi(optarg); break;
		case 'h': cli_usage(stdout); return 0;
		default: cli_usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		cli_usage(stderr);
		return 2;
	}
	o.runtime = cli_runtime(runtime, rt, sizeof(rt));
	if (!o.runtime) {
		fprintf(stderr, "uvfio: runtime dir name too long\n");
		return 1;
	}
	return uvfiod_main(&o) ? 1 : 0;
}

/* "key value" lines of a status reply: the value of key, or "?". */
static const char *cli_status_value(const char *text, const char *key, char *buf,
				    size_t size)
{
	size_t n = strlen(key);

	for (const char *l = text; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "") {
		if (!strncmp(l, key, n) && l[n] == ' ') {
			snprintf(buf, size, "%.*s", (int)strcspn(l + n + 1, "\n"), l + n + 1);
			return buf;
		}
	}
	snprintf(buf, size, "?");
	return buf;
}

static void cli_status_print(const char *text)
{
	char v[5][256];
	int shown = 0;

	printf("host '%s' at %s\n", cli_status_value(text, "host", v[0], sizeof(v[0])),
	       cli_status_value(text, "runtime", v[1], sizeof(v[1])));
	printf("  daemon pid    %s\n", cli_status_value(text, "pid", v[0], sizeof(v[0])));
	printf("  devices       %s\n", cli_status_value(text, "devices", v[0], sizeof(v[0])));
	printf("  clients       %s\n", cli_status_value(text, "clients", v[0], sizeof(v[0])));
	printf("  open files    %s\n", cli_status_value(text, "files", v[0], sizeof(v[0])));
	printf("  mapped files  %s\n",
	       cli_status_value(text, "mapped_files", v[0], sizeof(v[0])));
	for (const char *l = text; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "") {
		int len = (int)strcspn(l, "\n");

		if (!strncmp(l, "client ", 7)) {
			if (!(shown & 1))
				printf("clients:\n");
			shown |= 1;
			printf("  pid %.*s\n", len - 7, l + 7);
		}
	}
	for (const char *l = text; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "") {
		int len = (int)strcspn(l, "\n");

		if (!strncmp(l, "file ", 5)) {
			if (!(shown & 2))
				printf("open files (opener pid, path):\n");
			shown |= 2;
			printf("  %.*s\n", len - 5, l + 5);
		}
	}
}

const char *cli_listing_runtime(int argc, char **argv, char *rt, size_t size)
{
	static const struct option opts[] = {
		{ "runtime", required_argument, NULL, 'r' },
		{ 0 }
	};
	const char *runtime = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "r:", opts, NULL)) != -1) {
		if (c != 'r') {
			cli_usage(stderr);
			return NULL;
		}
		runtime = optarg;
	}
	if (optind != argc) {
		cli_usage(stderr);
		return NULL;
	}
	return cli_runtime(runtime, rt, size);
}

int cli_status(int argc, char **argv)
{
	static char text[UVP_MAX_BODY + 1];
	char rtbuf[4000];
	const char *rt = cli_listing_runtime(argc, argv, rtbuf, sizeof(rtbuf));

	if (!rt)
		return 2;
	if (cli_admin_text(rt, UVP_STATUS, "status", text, sizeof(text)))
		return 1;
	cli_status_print(text);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} cmds[] = {
		{ "daemon", cli_daemon },
		{ "run", cli_run },
		{ "status", cli_status },
		{ "lspci", cli_lspci },
		{ "groups", cli_groups },
		{ "vms", cli_vms },
		{ "ap", cli_ap },
		{ "guest", cli_guest },
	};

	if (argc < 2) {
		cli_usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		cli_usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "uvfio: unknown command '%s'\n", argv[1]);
	cli_usage(stderr);
	return 2;
}
