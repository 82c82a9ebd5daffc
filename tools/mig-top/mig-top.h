/* SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause */
#ifndef MIG_TOP_H
#define MIG_TOP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "json_out.h"
#include "mig_attach.h"
#include "mig_events.h"
#include "generic.h"
#include "prom.h"

#define MT_MAX_ROWS	MIG_MAX_DEVS
#define MT_KEEP_MAX	32

enum mt_out { MT_TUI, MT_TEXT, MT_JSON, MT_QUIET };
enum mt_sort { MT_SORT_DEV, MT_SORT_STATE, MT_SORT_RATE, MT_SORT_MIG,
	       MT_SORT_NR };

/* One displayed device: model state + live counters + interval deltas. */
struct mt_row {
	uint32_t dev;
	struct mig_dev *md;		/* never NULL for a shown row */
	struct mig_devstats st;		/* zero if not in the map */
	bool have_st;
	bool have_rate;			/* a previous sample to compare with */
	double read_rate, write_rate;	/* bytes per second, last interval */
	double eta_s;			/* < 0: unknown */
	double progress;		/* < 0: n/a */
};

struct mt_opts {
	enum mt_out out;
	double interval;
	long count;			/* intervals, 0 = forever */
	long migrations;		/* exit after N migrations, 0 = never */
	long long dev_filter;
	const char *force_mode;
	const char *replay;
	int keep;
	bool verbose;
	bool noclear;
	bool arcs;			/* -a: JSON line per state arc */
	bool no_vmm;			/* --no-vmm: no VMM view */
	struct generic_opts gen;	/* -g MODULE: generic mode */
	const char *prom_file;		/* --prom-file: textfile for node_exporter */
	const char *prom_listen;	/* --prom-listen: /metrics address */
};

/*
 * What the files of mig-top share (mig-top.c has the file map).
 */

/* mig-top.c: options and the loops */
extern struct mt_opts opts;
extern struct jw jw;			/* JSON lines on stdout */
extern volatile sig_atomic_t exiting;

/* sample.c: the tracer, events, devices, sampling into rows */
extern struct vfmig_tracer tracer;
extern struct generic_tracer gtracer;	/* -g: generic mode */
extern bool generic;
extern struct mig_model model;
extern unsigned long long replay_drops;	/* "# drops" lines of the event file */
extern struct mt_row rows[MT_MAX_ROWS];	/* what the views show, sorted */
extern int nrows;
extern enum mt_sort sort_key;
extern bool sort_rev;
extern char filt[64];			/* TUI filter, "" = none */
const char *t_mode(void);
const char *t_why(void);
const struct mig_bpf *live_bpf(void);
uint64_t t_drops(void);
uint64_t view_now(void);
const char *dev_uuid(uint32_t dev, char buf[37]);
const char *dev_name(uint32_t dev, char *buf, size_t len);
void owner_of(uint32_t dev, struct mig_owner *o);
void feed(const struct mig_event *e);
int on_event(void *ctx, void *data, size_t sz);	/* ring buffer callback */
void sample(void);
void rows_from_model(void);

/* migrations.c: completed migrations */
extern struct mig_result done[MT_KEEP_MAX];	/* the last ones, oldest first */
extern int ndone;
extern long total_done;
extern int npending;			/* waiting for the VMM view */
void on_migration(const struct mig_result *res, void *arg);
void on_side(const struct mig_side *s, void *arg);
void flush_pending(bool all);
void vmm_event(const struct mig_event *e);

/* output.c: JSON, text, metrics */
extern struct prom prom;
extern const char *const HDR;		/* the table's header line */
int prom_output(const char *mode, uint64_t drops);
int prom_start(void);
void print_json_rows(void);
void print_summary(unsigned long long drops, const char *mode);
void print_text(void);
void row_line(char *out, size_t n, const struct mt_row *r);
bool expected_line(char *b, size_t n, const struct mig_dev *d);
void fmt_ns(char *b, size_t n, double ns);

/* tui.c: the ncurses view */
void tui_init(void);
bool tui_keys(void);			/* true: redraw now */
void draw_tui(void);

#endif
