// SPDX-License-Identifier: GPL-2.0-only
/*
 * Instantiates the vfmig tracepoints declared in trace.h (nothing in make
 * bench's variant built with VFMIG_NO_TRACE).
 */
#ifndef VFMIG_NO_TRACE
#define CREATE_TRACE_POINTS
#endif
#include "trace.h"
