// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include "log.h"

static atomic_int log_level = -1;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

static enum uvf_log_level level_from_env(void)
{
	const char *s = getenv("UVFIO_LOG");

	if (!s)
		return UVF_LOG_WARN;
	for (int i = 0; i < (int)ARRAY_SIZE(level_names); i++)
		if (!strcmp(s, level_names[i]))
			return i;
	return UVF_LOG_WARN;
}

enum uvf_log_level uvf_log_get_level(void)
{
	int lvl = atomic_load(&log_level);

	if (lvl < 0) {
		lvl = level_from_env();
		atomic_store(&log_level, lvl);
	}
	return lvl;
}

void uvf_log_set_level(enum uvf_log_level lvl)
{
	atomic_store(&log_level, lvl);
}

void uvf_log(enum uvf_log_level lvl, const char *subsys, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if ((int)lvl > (int)uvf_log_get_level())
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One write per line so lines from threads do not interleave. */
	fprintf(stderr, "uvfio %s %s: %s\n", level_names[lvl], subsys, line);
}
