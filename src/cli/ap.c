// SPDX-License-Identifier: MIT
/*
 * uvfio ap: the host's AP cards and queues in the spirit of lszcrypt,
 * read from <runtime>/sys/devices/ap as any program would, then each
 * vfio_ap mediated device with its matrix and guest matrix:
 *
 *   CARD.DOM TYPE  MODE        STATUS    REQUESTS DRIVER    OWNER
 *   00       CEX8A Accelerator online           3 cex4card  host
 *   00.0004  CEX8A Accelerator online           3 cex4queue host
 *   04.0007  CEX8A Accelerator -                0 vfio_ap   guest vm 0 (mdev 5bd7...)
 *
 *   mdev 5bd7f1a2-...: in use by vm 0 (pid 4242)
 *     matrix           04.0007 04.0008
 *     guest_matrix     04.0007 04.0008
 *     control_domains  0007
 *
 * OWNER: "host" for the default drivers, "free" for a queue without a
 * driver; a queue bound to vfio_ap is "vfio_ap" while no mdev has it,
 * "mdev UUID" when assigned, and "guest vm N" when its 'status' says
 * "in use" (in the guest's APCB).  Which VM holds which mdev only the
 * daemon knows: the "user" lines of UVP_VMS name the VFIO devices opened
 * with each VM, and an mdev's device name is its UUID.
 *
 * uvfio ap config VERB ID: a change of the machine's AP configuration as
 * the SE/HMC makes it (UVP_AP_CONFIG), followed by the host's scan.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "client/uvp_client.h"

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

/* ---- vfio_ap mdevs ------------------------------------------------------------- */

#define AP_MATRIX_DIR "sys/devices/vfio_ap/matrix"
#define AP_MDEV_TYPE_DEVICES AP_MATRIX_DIR "/mdev_supported_types/vfio_ap-passthrough/devices"
#define AP_TEXT_MAX 8192

struct ap_mdev {
	char uuid[40];
	char matrix[AP_TEXT_MAX], guest_matrix[AP_TEXT_MAX], cdoms[AP_TEXT_MAX];
	int vm;				/* the VM that opened it, or -1 */
	int pid;			/* that VM's creator */
};

struct ap_host {
	const char *rt;
	struct ap_mdev *mdevs;
	int nmdevs;
};

/* A whole small sysfs file (a matrix: one APQN a line), "" if unreadable. */
static void ap_read_all(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, size - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
}

/* Whether a matrix text has the line 'name' ("04.0007"). */
static bool ap_matrix_has(const char *text, const char *name)
{
	size_t n = strlen(name);

	for (const char *l = text; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "")
		if (!strncmp(l, name, n) && (l[n] == '\n' || !l[n]))
			return true;
	return false;
}

/* The VM (and its creator) whose "user" line names this mdev's device. */
static void ap_mdev_vm(const char *vms, struct ap_mdev *m)
{
	unsigned int vm, id;
	int pid;
	char dev[64];

	m->vm = m->pid = -1;
	for (const char *l = vms; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "")
		if (sscanf(l, "user %u device %*s %63s", &vm, dev) == 2 && !strcmp(dev, m->uuid))
			m->vm = (int)vm;
	if (m->vm < 0)
		return;
	for (const char *l = vms; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "")
		if (sscanf(l, "vm %u pid=%d", &id, &pid) == 2 && id == (unsigned int)m->vm)
			m->pid = pid;
}

static const struct ap_mdev *ap_mdev_of_queue(const struct ap_host *ah, const char *name)
{
	for (int i = 0; i < ah->nmdevs; i++)
		if (ap_matrix_has(ah->mdevs[i].matrix, name))
			return &ah->mdevs[i];
	return NULL;
}

static void ap_owner(const struct ap_host *ah, const char *dir, const char *name,
		     const char *driver, char *buf, size_t size)
{
	const struct ap_mdev *m;
	char status[32];

	if (!strcmp(driver, "-")) {
		snprintf(buf, size, "free");
		return;
	}
	if (strcmp(driver, "vfio_ap")) {
		snprintf(buf, size, "host");
		return;
	}
	ap_attr(dir, "status", status, sizeof(status));
	m = ap_mdev_of_queue(ah, name);
	if (!strcmp(status, "in use") && m && m->vm >= 0)
		snprintf(buf, size, "guest vm %d (mdev %s)", m->vm, m->uuid);
	else if (!strcmp(status, "in use"))
		snprintf(buf, size, "guest");
	else if (!strcmp(status, "assigned") && m)
		snprintf(buf, size, "mdev %s", m->uuid);
	else
		snprintf(buf, size, !strcmp(status, "assigned") ? "mdev" : "vfio_ap");
}

static void ap_print(const struct ap_host *ah, const char *dir, const char *name,
		     const char *type)
{
	char functions[32], requests[32], driver[64], owner[128];

	ap_attr(dir, "ap_functions", functions, sizeof(functions));
	ap_attr(dir, "request_count", requests, sizeof(requests));
	ap_driver(dir, driver, sizeof(driver));
	ap_owner(ah, dir, name, driver, owner, sizeof(owner));
	printf("%-8s %-5s %-11s %-9s %8s %-9s %s\n", name, type, ap_mode(functions),
	       ap_status(dir), requests, driver, owner);
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

static void ap_print_card(const struct ap_host *ah, const char *root, const char *card)
{
	char dir[PATH_MAX], qdir[PATH_MAX], type[16], prefix[8];
	char **queues = NULL;
	int nq;

	if (cli_path(dir, sizeof(dir), "%s/%s", root, card))
		return;
	ap_attr(dir, "type", type, sizeof(type));
	ap_print(ah, dir, card + 4, type);
	snprintf(prefix, sizeof(prefix), "%.2s.", card + 4);
	nq = ap_entries(dir, prefix, &queues);
	for (int i = 0; i < nq; i++)
		if (!cli_path(qdir, sizeof(qdir), "%s/%s", dir, queues[i]))
			ap_print(ah, qdir, queues[i], type);
	ap_free_names(queues, nq > 0 ? nq : 0);
}

/* Every mdev of the matrix device with its attributes and VM; 0 or -1. */
static int ap_load_mdevs(struct ap_host *ah, int ctl)
{
	static char vms[UVP_MAX_BODY + 1];
	char dir[PATH_MAX], path[PATH_MAX], **names = NULL;
	int n;

	if (uvp_admin(ctl, UVP_VMS, vms, sizeof(vms)) < 0)
		vms[0] = '\0';
	if (cli_path(dir, sizeof(dir), "%s/" AP_MDEV_TYPE_DEVICES, ah->rt))
		return -1;
	n = ap_entries(dir, "", &names);
	if (n <= 0)
		return 0;	/* no vfio_ap on this host, or no mdev */
	ah->mdevs = calloc((size_t)n, sizeof(*ah->mdevs));
	if (!ah->mdevs) {
		ap_free_names(names, n);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		struct ap_mdev *m = &ah->mdevs[ah->nmdevs];
		static const char *const attrs[] = { "matrix", "guest_matrix", "control_domains" };
		char *texts[] = { m->matrix, m->guest_matrix, m->cdoms };

		if (names[i][0] == '.')
			continue;
		snprintf(m->uuid, sizeof(m->uuid), "%s", names[i]);
		for (int a = 0; a < 3; a++)
			if (!cli_path(path, sizeof(path), "%s/" AP_MATRIX_DIR "/%s/%s", ah->rt,
				      m->uuid, attrs[a]))
				ap_read_all(path, texts[a], AP_TEXT_MAX);
		ap_mdev_vm(vms, m);
		ah->nmdevs++;
	}
	ap_free_names(names, n);
	return 0;
}

/* The lines of a matrix attribute on one line, "-" for none. */
static void ap_print_list(const char *label, const char *text)
{
	printf("    %-16s", label);
	if (!*text)
		printf(" -");
	for (const char *l = text; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "") {
		int len = (int)strcspn(l, "\n");

		if (len)
			printf(" %.*s", len, l);
	}
	printf("\n");
}

static void ap_print_mdevs(const struct ap_host *ah)
{
	for (int i = 0; i < ah->nmdevs; i++) {
		const struct ap_mdev *m = &ah->mdevs[i];

		if (m->vm >= 0)
			printf("\nmdev %s: in use by vm %d (pid %d)\n", m->uuid, m->vm, m->pid);
		else
			printf("\nmdev %s: not opened with a VM\n", m->uuid);
		ap_print_list("matrix", m->matrix);
		ap_print_list("guest_matrix", m->guest_matrix);
		ap_print_list("control_domains", m->cdoms);
	}
}

static int ap_list(const char *rt, int ctl)
{
	struct ap_host ah = { .rt = rt };
	char root[PATH_MAX], **cards = NULL;
	int n;

	if (cli_path(root, sizeof(root), "%s/sys/devices/ap", rt))
		return 1;
	n = ap_entries(root, "card", &cards);
	if (n < 0) {
		fprintf(stderr, "uvfio: %s: %s (no AP bus on this host, or its sysfs is not "
			"mounted)\n", root, strerror(errno));
		return 1;
	}
	if (ap_load_mdevs(&ah, ctl)) {
		fprintf(stderr, "uvfio: cannot read the vfio_ap mdevs: %s\n", strerror(errno));
		ap_free_names(cards, n);
		return 1;
	}
	printf("%-8s %-5s %-11s %-9s %8s %-9s %s\n", "CARD.DOM", "TYPE", "MODE", "STATUS",
	       "REQUESTS", "DRIVER", "OWNER");
	for (int i = 0; i < n; i++)
		ap_print_card(&ah, root, cards[i]);
	ap_free_names(cards, n);
	ap_print_mdevs(&ah);
	free(ah.mdevs);
	return 0;
}

/* ---- uvfio ap config --------------------------------------------------------------- */

static const struct {
	const char *verb;
	uint32_t op;
} ap_config_verbs[] = {
	{ "add-adapter", UVP_AP_ADAPTER_ADD },
	{ "remove-adapter", UVP_AP_ADAPTER_REMOVE },
	{ "add-domain", UVP_AP_DOMAIN_ADD },
	{ "remove-domain", UVP_AP_DOMAIN_REMOVE },
	{ "add-control-domain", UVP_AP_CDOM_ADD },
	{ "remove-control-domain", UVP_AP_CDOM_REMOVE },
	{ "adapter-online", UVP_AP_ADAPTER_ONLINE },
	{ "adapter-offline", UVP_AP_ADAPTER_STANDBY },
	{ "adapter-checkstop", UVP_AP_ADAPTER_CHKSTOP },
	{ "adapter-checkstop-clear", UVP_AP_ADAPTER_CHKSTOP_CLEAR },
};

static void ap_config_usage(FILE *f)
{
	fprintf(f, "usage: uvfio ap config [--runtime DIR] VERB ID\n"
		"  a change of the machine's AP configuration (as the SE/HMC makes it), then\n"
		"  the host's AP bus scan; root only.  ID: decimal, or 0x hex.  VERB:\n");
	for (size_t i = 0; i < sizeof(ap_config_verbs) / sizeof(ap_config_verbs[0]); i++)
		fprintf(f, "    %s\n", ap_config_verbs[i].verb);
}

/* An APID/APQI: a number in 0..255 as strtoul base 0 reads it. */
static int ap_parse_id(const char *s, uint32_t *id)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end || v > 255 || *s == '-')
		return -EINVAL;
	*id = (uint32_t)v;
	return 0;
}

static int ap_config(const char *rt, char *verb, char *idstr)
{
	struct uvp_ap_config req = { 0 };
	struct iovec body = { &req, sizeof(req) };
	struct uvp_call c = { .op = UVP_AP_CONFIG, .body = &body, .nbody = 1 };
	long ret;
	int ctl;

	for (size_t i = 0; i < sizeof(ap_config_verbs) / sizeof(ap_config_verbs[0]); i++)
		if (!strcmp(verb, ap_config_verbs[i].verb))
			req.op = ap_config_verbs[i].op;
	if (!req.op || ap_parse_id(idstr, &req.id)) {
		fprintf(stderr, "uvfio: ap config: %s %s: %s\n", verb, idstr,
			req.op ? "not an id 0..255" : "unknown verb");
		ap_config_usage(stderr);
		return 2;
	}
	ctl = cli_connect(rt);
	if (ctl < 0)
		return 1;
	ret = uvp_call(ctl, &c);
	close(ctl);
	if (ret < 0) {
		fprintf(stderr, "uvfio: ap config %s %s: %s\n", verb, idstr,
			ret == -EPERM ? "only root may change the machine's configuration" :
			ret == -ENODEV ? "no such adapter, or no AP facility on this host" :
			ret == -EINVAL ? "id above the machine's maxima" : strerror((int)-ret));
		return 1;
	}
	printf("%s %u: %s\n", verb, req.id, ret ? "done, host rescanned" : "no change");
	return 0;
}

static int cli_ap_config(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "runtime", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *runtime = NULL, *rt;
	char rtbuf[4000];
	int c;

	while ((c = getopt_long(argc, argv, "+r:h", opts, NULL)) != -1) {
		if (c == 'r') {
			runtime = optarg;
		} else {
			ap_config_usage(c == 'h' ? stdout : stderr);
			return c == 'h' ? 0 : 2;
		}
	}
	if (argc - optind != 2) {
		ap_config_usage(stderr);
		return 2;
	}
	rt = cli_runtime(runtime, rtbuf, sizeof(rtbuf));
	if (!rt) {
		fprintf(stderr, "uvfio: runtime dir name too long\n");
		return 1;
	}
	return ap_config(rt, argv[optind], argv[optind + 1]);
}

int cli_ap(int argc, char **argv)
{
	char rtbuf[4000];
	const char *rt;
	int ctl, ret;

	if (argc > 1 && !strcmp(argv[1], "config"))
		return cli_ap_config(argc - 1, argv + 1);
	rt = cli_listing_runtime(argc, argv, rtbuf, sizeof(rtbuf));
	if (!rt)
		return 2;
	ctl = cli_connect(rt);
	if (ctl < 0)
		return 1;
	ret = ap_list(rt, ctl);
	close(ctl);
	return ret;
}
