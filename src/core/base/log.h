/* SPDX-License-Identifier: MIT */
/*
 * Logging.  The level comes from UVFIO_LOG (error, warn, info, debug) and
 * defaults to warn; output goes to stderr with a subsystem prefix.
 */
#ifndef UVF_BASE_LOG_H
#define UVF_BASE_LOG_H

#include "compiler.h"

enum uvf_log_level { UVF_LOG_ERR, UVF_LOG_WARN, UVF_LOG_INFO, UVF_LOG_DEBUG };

void uvf_log(enum uvf_log_level lvl, const char *subsys, const char *fmt, ...)
	UVF_PRINTF(3, 4);
void uvf_log_set_level(enum uvf_log_level lvl);
enum uvf_log_level uvf_log_get_level(void);

#define uvf_err(sub, ...)   uvf_log(UVF_LOG_ERR, sub, __VA_ARGS__)
#define uvf_warn(sub, ...)  uvf_log(UVF_LOG_WARN, sub, __VA_ARGS__)
#define uvf_info(sub, ...)  uvf_log(UVF_LOG_INFO, sub, __VA_ARGS__)
#define uvf_dbg(sub, ...)   uvf_log(UVF_LOG_DEBUG, sub, __VA_ARGS__)

#endif
