// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/*
 * migctl inspect: frames, records, images and totals of a stream file, and
 * the integrity of every chunk that carries a CHUNK_CRC record.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/types.h>
#include <linux/vfio.h>

#include "migctl.h"
#include "vfmig_abi.h"
#include "vfmig_stream.h"

struct image {
	uint32_t seq;
	uint32_t chunks;
	uint32_t crc_ok, crc_bad, crc_missing;
	uint64_t pages, bytes, offset;
	bool full, done, stop_phase;
};

struct insp {
	struct vs_parser p;
	bool framed, json, opaque;
	uint64_t switch_off;		/* stream offset of SWITCHOVER, or ~0 */
	struct image *img;
	size_t nimg, cap;
	uint64_t stop_copy_size;
	bool have_stop_copy_size;
	char perr[192];
	struct jw w;
};

static const char *crc_note(const struct image *im, char *b, size_t n)
{
	if (!im->crc_ok && !im->crc_bad && !im->crc_missing)
		return "";
	if (!im->crc_bad && !im->crc_missing && im->crc_ok == im->chunks)
		return "  crc ok";
	snprintf(b, n, "  crc: %u ok, %u BAD, %u MISSING", im->crc_ok, im->crc_bad,
		 im->crc_missing);
	return b;
}

static void chunk_flags(uint16_t f, char *b, size_t n)
{
	snprintf(b, n, "%s%s%s%s", f & VFMIG_CHUNK_F_FULL ? "FULL" : "INC",
		 f & VFMIG_CHUNK_F_FIRST ? "|FIRST" : "",
		 f & VFMIG_CHUNK_F_LAST ? "|LAST" : "",
		 f & VFMIG_CHUNK_F_FINAL ? "|FINAL" : "");
}

static int on_record(struct insp *x, const struct vs_record *r)
{
	char fl[32] = "";
	struct image *im;

	if (r->kind == VS_REC_STOP_COPY_SIZE) {
		x->stop_copy_size = r->stop_copy_size;
		x->have_stop_copy_size = true;
	}
	if (r->is_chunk) {
		if (r->chunk.flags & VFMIG_CHUNK_F_FIRST) {
			if (x->nimg == x->cap) {
				size_t nc = x->cap ? x->cap * 2 : 16;
				struct image *ni = realloc(x->img, nc * sizeof(*ni));

				if (!ni)
					return -1;
				x->img = ni;
				x->cap = nc;
			}
			im = &x->img[x->nimg++];
			memset(im, 0, sizeof(*im));
			im->seq = r->chunk.image_seq;
			im->full = r->chunk.flags & VFMIG_CHUNK_F_FULL;
			im->offset = r->offset;
			if (r->crc_state == VS_CRC_OK || r->crc_state == VS_CRC_BAD)
				im->offset -= VFMIG_CRC_RECORD_BYTES;
			im->stop_phase = r->offset >= x->switch_off;
		}
		if (x->nimg) {
			im = &x->img[x->nimg - 1];
			im->chunks++;
			im->pages += r->chunk.npages;
			im->bytes += r->size + VFMIG_RECORD_HEADER_SIZE;
			/* and the CHUNK_CRC record before the chunk */
			if (r->crc_state == VS_CRC_OK || r->crc_state == VS_CRC_BAD)
				im->bytes += VFMIG_CRC_RECORD_BYTES;
			im->crc_ok += r->crc_state == VS_CRC_OK;
			im->crc_bad += r->crc_state == VS_CRC_BAD;
			im->crc_missing += r->crc_state == VS_CRC_MISSING;
			if (r->chunk.flags & VFMIG_CHUNK_F_LAST)
				im->done = true;
		}
		chunk_flags(r->chunk.flags, fl, sizeof(fl));
	}
	if (g_opts.summary)
		return 0;
	if (x->json) {
		bool crc = r->kind == VS_REC_CHUNK_CRC, fw = r->kind == VS_REC_FW_DATA;
		struct jw *w = &x->w;

		jw_record(w, "inspect_record");
		jw_uint(w, "offset", r->offset);
		jw_string(w, "tag", vs_tag_name(r->tag));
		jw_uint(w, "tag_value", r->tag);
		jw_uint(w, "flags", r->flags);
		jw_bool(w, "optional", r->flags & VFMIG_RECORD_F_OPTIONAL);
		jw_uint(w, "size", r->size);
		jw_uint_opt(w, "stop_copy_size", r->kind == VS_REC_STOP_COPY_SIZE,
			    r->stop_copy_size);
		jw_uint_opt(w, "crc32c", crc, r->crc.crc32c);
		jw_uint_opt(w, "algo", crc, r->crc.algo);
		jw_uint_opt(w, "covered", crc, r->crc.covered);
		jw_string(w, "crc", fw ? vs_crc_state_name(r->crc_state) : NULL);
		jw_uint_opt(w, "crc_computed", fw && r->crc_state == VS_CRC_BAD,
			    r->crc_actual);
		jw_uint_opt(w, "image_seq", r->is_chunk, r->chunk.image_seq);
		jw_uint_opt(w, "chunk_seq", r->is_chunk, r->chunk.chunk_seq);
		jw_string(w, "chunk_flags", r->is_chunk ? fl : NULL);
		jw_uint_opt(w, "npages", r->is_chunk, r->chunk.npages);
		jw_uint_opt(w, "generation", r->is_chunk, r->chunk.generation);
		jw_end_record(w);
		return 0;
	}
	printf("  %12" PRIu64 "  %-14s %-9s %10" PRIu64, r->offset,
	       vs_tag_name(r->tag),
	       r->flags & VFMIG_RECORD_F_OPTIONAL ? "OPTIONAL" : "MANDATORY",
	       r->size);
	if (r->kind == VS_REC_STOP_COPY_SIZE)
		printf("  stop_copy_size=%" PRIu64, r->stop_copy_size);
	if (r->kind == VS_REC_CHUNK_CRC)
		printf("  crc32c=0x%08x covered=%" PRIu64, r->crc.crc32c,
		       r->crc.covered);
	if (r->is_chunk)
		printf("  image %u chunk %u %s pages=%u gen=%" PRIu64,
		       r->chunk.image_seq, r->chunk.chunk_seq, fl,
		       r->chunk.npages, r->chunk.generation);
	else if (r->kind == VS_REC_FW_DATA)
		printf("  (opaque firmware image)");
	if (r->crc_state == VS_CRC_OK)
		printf("  crc ok");
	else if (r->crc_state == VS_CRC_MISSING)
		printf("  CRC MISSING");
	else if (r->crc_state == VS_CRC_BAD &&
		 r->crc.covered != VFMIG_RECORD_HEADER_SIZE + r->size)
		printf("  CRC BAD (covers %" PRIu64 " bytes, the record has %" PRIu64 ")",
		       r->crc.covered, VFMIG_RECORD_HEADER_SIZE + r->size);
	else if (r->crc_state == VS_CRC_BAD)
		printf("  CRC BAD (computed 0x%08x)", r->crc_actual);
	printf("\n");
	return 0;
}

static int feed(struct insp *x, const uint8_t *b, size_t len)
{
	while (len && !x->opaque) {
		struct vs_record r;
		int got;
		ssize_t n = vs_feed(&x->p, b, len, &r, &got);

		if (n < 0) {
			snprintf(x->perr, sizeof(x->perr), "%s", x->p.err);
			return -1;
		}
		if (got && on_record(x, &r))
			return -1;
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

int cmd_inspect(const char *file, char *err)
{
	struct insp x = { .switch_off = UINT64_MAX };
	struct mf_hello hello = { 0 };
	struct mf_end end = { 0 };
	bool have_end = false, have_hello = false;
	struct mf_io io;
	uint64_t frames = 0;
	uint8_t *buf = malloc(MF_MAX_PAYLOAD), magic[4];
	ssize_t n;
	int fd, ret = -1;
	struct vs_totals *t = &x.p.tot;
	char fl[64], nb[64];

	x.json = g_opts.json;
	jw_init(&x.w, stdout);
	vs_init(&x.p, 0);
	fd = -1;
	if (!buf) {
		set_err(err, "out of memory");
		goto out;
	}
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		set_err(err, "cannot open %s: %s", file, strerror(errno));
		goto out;
	}
	n = pread(fd, magic, 4, 0);
	x.framed = n == 4 && (magic[0] | magic[1] << 8 | magic[2] << 16 |
			      (uint32_t)magic[3] << 24) == MF_MAGIC;

	if (!x.json)
		printf("%s: %s\n  %12s  %-14s %-9s %10s\n", file,
		       x.framed ? "migctl stream file" : "raw device stream",
		       "offset", "tag", "flags", "size");

	if (x.framed) {
		for (;;) {
			struct mf_hdr h;

			if (frame_recv(fd, &h, buf, g_opts.io_timeout_ms,
				       "reading the file", err, &io)) {
				if (io.status == MF_IO_EOF)
					break;
				if (io.status == MF_IO_CUT)
					peer_gone(err, PEER_FILE, NULL, &io,
						  end.precopy_bytes + end.stop_copy_bytes,
						  NULL);
				goto out;
			}
			frames++;
			if (have_end) {
				set_err(err, "corrupted stream: %s frame after END",
					mf_type_name(h.type));
				goto out;
			}
			switch (h.type) {
			case MF_HELLO:
				if (frames != 1 || mf_hello_unpack(buf, h.len, &hello)) {
					set_err(err, "corrupted stream: misplaced HELLO");
					goto out;
				}
				have_hello = true;
				if (hello.is_vfmig)
					x.p.opts |= VS_OPT_VFMIG;
				break;
			case MF_DATA_PRE:
			case MF_DATA_STOP:
				if (frames == 1) {
					set_err(err, "corrupted stream: no HELLO frame");
					goto out;
				}
				if (feed(&x, buf, h.len)) {
					if (hello.is_vfmig)
						goto bad_stream;
					x.opaque = true;
				}
				if (h.type == MF_DATA_PRE)
					end.precopy_bytes += h.len;
				else
					end.stop_copy_bytes += h.len;
				break;
			case MF_SWITCHOVER:
				x.switch_off = end.precopy_bytes;
				break;
			case MF_END: {
				struct mf_end e;

				if (mf_end_unpack(buf, h.len, &e) ||
				    e.precopy_bytes != end.precopy_bytes ||
				    e.stop_copy_bytes != end.stop_copy_bytes) {
					set_err(err, "corrupted stream: END totals do not match the data");
					goto out;
				}
				end.iterations = e.iterations;
				have_end = true;
				break;
			}
			default:
				set_err(err, "corrupted stream: unexpected %s frame in a file",
					mf_type_name(h.type));
				goto out;
			}
		}
		if (!have_end) {
			peer_gone(err, PEER_FILE, NULL, &io,
				  end.precopy_bytes + end.stop_copy_bytes, NULL);
			goto out;
		}
	} else {
		for (;;) {
			n = read(fd, buf, 1 << 20);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				set_err(err, "reading %s: %s", file, strerror(errno));
				goto out;
			}
			if (!n)
				break;
			if (feed(&x, buf, (size_t)n))
				goto bad_stream;
		}
	}
	if (!x.opaque && vs_end(&x.p)) {
		snprintf(x.perr, sizeof(x.perr), "%s", x.p.err);
		if (!x.framed || hello.is_vfmig)
			goto bad_stream;
		x.opaque = true;
	}

	if (!x.json) {
		if (x.opaque)
			printf("  device stream is not in the mlx5 record format (%s)\n",
			       x.perr);
		if (x.nimg)
			printf("images:\n");
		for (size_t i = 0; i < x.nimg; i++)
			printf("  image %-4u %-11s %-9s offset %-12" PRIu64 " chunks %-4u pages %-8"
			       PRIu64 " bytes %" PRIu64 "%s%s\n",
			       x.img[i].seq, x.img[i].full ? "full" : "incremental",
			       !x.framed ? "-" : x.img[i].stop_phase ? "stop_copy" : "precopy",
			       x.img[i].offset, x.img[i].chunks, x.img[i].pages,
			       x.img[i].bytes, x.img[i].done ? "" : " (incomplete)",
			       crc_note(&x.img[i], nb, sizeof(nb)));
		printf("totals: %" PRIu64 " stream bytes, %" PRIu64 " records (%" PRIu64
		       " FW_DATA, %" PRIu64 " bytes), %" PRIu64 " images (%" PRIu64
		       " full, %" PRIu64 " abandoned), %" PRIu64 " pages, stop_copy_size %"
		       PRIu64 "\n",
		       x.p.pos, t->records, t->fw_data_records, t->fw_data_bytes,
		       t->images, t->full_images, t->abandoned_images, t->pages,
		       x.stop_copy_size);
		if (t->crc_records || t->crc_missing)
			printf("integrity: %" PRIu64 " CHUNK_CRC records; %" PRIu64
			       " FW_DATA records: %" PRIu64 " crc ok, %" PRIu64 " bad, %" PRIu64
			       " missing, %" PRIu64 " before the first CRC\n",
			       t->crc_records, t->fw_data_records, t->crc_ok, t->crc_bad,
			       t->crc_missing,
			       t->fw_data_records - t->crc_ok - t->crc_bad - t->crc_missing);
		else if (!x.opaque)
			printf("integrity: no CHUNK_CRC records (chunks not checked)\n");
		if (x.framed)
			printf("source %s (%s, state %" PRIu64 " bytes): precopy %" PRIu64
			       " bytes, stop-copy %" PRIu64 " bytes, %u iterations, %" PRIu64
			       " frames\n",
			       hello.source, vfio_mig_flags_str(hello.mig_flags, fl, sizeof(fl)),
			       hello.state_size, end.precopy_bytes, end.stop_copy_bytes,
			       end.iterations, frames);
	}
	ret = 0;
	if (t->crc_bad || t->crc_missing) {
		set_err(err, "integrity: %" PRIu64 " FW_DATA record(s) fail their CHUNK_CRC, %"
			PRIu64 " lack one", t->crc_bad, t->crc_missing);
		ret = -1;
	}
	goto out;
bad_stream:
	set_err(err, "invalid device stream: %s", x.perr);
out:
	if (x.json) {
		/* What was parsed, also after an error; the last line says how it ended. */
		struct jw *w = &x.w;

		for (size_t i = 0; i < x.nimg; i++) {
			const struct image *im = &x.img[i];

			jw_record(w, "inspect_image");
			jw_uint(w, "image_seq", im->seq);
			jw_string(w, "kind", im->full ? "full" : "incremental");
			jw_string(w, "phase", !x.framed ? NULL :
				  im->stop_phase ? "stop_copy" : "precopy");
			jw_uint(w, "offset", im->offset);
			jw_uint(w, "chunks", im->chunks);
			jw_uint(w, "pages", im->pages);
			jw_uint(w, "bytes", im->bytes);
			jw_bool(w, "complete", im->done);
			jw_uint(w, "crc_ok", im->crc_ok);
			jw_uint(w, "crc_bad", im->crc_bad);
			jw_uint(w, "crc_missing", im->crc_missing);
			jw_end_record(w);
		}
		jw_record(w, "inspect_result");
		jw_string(w, "file", file);
		jw_string(w, "format", fd < 0 ? NULL : x.framed ? "migctl" : "raw");
		jw_string(w, "status", ret ? "error" : "ok");
		jw_string(w, "error", ret ? err : NULL);
		jw_bool(w, "opaque", x.opaque);
		jw_string(w, "opaque_reason", x.opaque ? x.perr : NULL);
		jw_object(w, "totals");
		jw_uint(w, "stream_bytes", x.p.pos);
		jw_uint(w, "records", t->records);
		jw_uint(w, "fw_data_records", t->fw_data_records);
		jw_uint(w, "fw_data_bytes", t->fw_data_bytes);
		jw_uint(w, "optional_records", t->optional_records);
		jw_uint(w, "chunks", t->chunks);
		jw_uint(w, "pages", t->pages);
		jw_uint(w, "images", t->images);
		jw_uint(w, "full_images", t->full_images);
		jw_uint(w, "abandoned_images", t->abandoned_images);
		jw_uint_opt(w, "stop_copy_size", x.have_stop_copy_size, x.stop_copy_size);
		jw_uint(w, "crc_records", t->crc_records);
		jw_uint(w, "crc_ok", t->crc_ok);
		jw_uint(w, "crc_bad", t->crc_bad);
		jw_uint(w, "crc_missing", t->crc_missing);
		jw_end_object(w);
		if (x.framed) {
			jw_object(w, "frames");
			jw_uint(w, "frames", frames);
			jw_uint(w, "precopy_bytes", end.precopy_bytes);
			jw_uint(w, "stop_copy_bytes", end.stop_copy_bytes);
			jw_uint(w, "total_bytes", end.precopy_bytes + end.stop_copy_bytes);
			jw_uint_opt(w, "iterations", have_end, end.iterations);
			jw_string(w, "source", have_hello ? hello.source : NULL);
			jw_uint_opt(w, "mig_flags", have_hello, hello.mig_flags);
			jw_uint_opt(w, "state_size", have_hello, hello.state_size);
			jw_end_object(w);
		} else {
			jw_null(w, "frames");
		}
		jw_end_record(w);
	}
	if (fd >= 0)
		close(fd);
	free(buf);
	free(x.img);
	return ret;
}
