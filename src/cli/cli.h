/* SPDX-License-Identifier: MIT */
/*
 * The uvfio command: one function per subcommand, each taking its own
 * argv (argv[0] is the subcommand's name) and returning the exit status.
 */
#ifndef UVFIO_CLI_H
#define UVFIO_CLI_H

#include <stddef.h>
#include <stdint.h>

#define CLI_DEFAULT_RUNTIME "/run/uvfio"

int cli_daemon(int argc, char **argv);
int cli_run(int argc, char **argv);
int cli_status(int argc, char **argv);
int cli_lspci(int argc, char **argv);
int cli_groups(int argc, char **argv);
int cli_vms(int argc, char **argv);
int cli_ap(int argc, char **argv);
int cli_guest(int argc, char **argv);

/*
 * The runtime dir: the --runtime option when given, else $UVFIO_RUNTIME,
 * else /run/uvfio; made absolute into buf.  NULL if it does not fit.
 */
const char *cli_runtime(const char *opt, char *buf, size_t size);

/* Parse [--runtime DIR] for the listing commands (usage printed and NULL
 * after an error); the runtime dir as cli_runtime makes it. */
const char *cli_listing_runtime(int argc, char **argv, char *rt, size_t size);

/*
 * A control connection to the host at rt, or -1 after printing what is
 * wrong and how to start a host.
 */
int cli_connect(const char *rt);

/*
 * An administrative text (UVP_STATUS, UVP_GROUPS, UVP_VMS) of the host at
 * rt into text (UVP_MAX_BODY + 1 bytes, NUL-terminated): 0, or 1 after
 * printing what went wrong ('what' names the listing).
 */
int cli_admin_text(const char *rt, uint32_t op, const char *what, char *text, size_t size);

/* snprintf that says -ENAMETOOLONG instead of truncating. */
int cli_path(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Read a small sysfs-style file (first line, newline stripped); -errno. */
int cli_read_line(const char *path, char *buf, size_t size);

#endif
