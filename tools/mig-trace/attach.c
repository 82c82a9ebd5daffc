// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/* The attach code is mig-top's: one implementation, two tools. */
#include "../mig-top/attach.c"
