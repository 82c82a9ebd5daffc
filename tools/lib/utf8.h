/* SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause */
/*
 * utf8: the one UTF-8 check of the tools' writers (JSON, XML, TAP/YAML),
 * which turn every byte that is not part of valid UTF-8 into U+FFFD.
 */
#ifndef UTF8_H
#define UTF8_H

#include <stddef.h>
#include <stdint.h>

#define UTF8_REPLACEMENT	"\xef\xbf\xbd"	/* U+FFFD */

/*
 * Length (2-4) of the valid UTF-8 sequence of a code point above U+007F at
 * @s (at most @n bytes), stored in @cp if not NULL; 0 if there is none
 * (an ASCII byte, a stray or truncated byte, an overlong form, a surrogate,
 * or a value above U+10FFFF).
 */
size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp);

#endif /* UTF8_H */
