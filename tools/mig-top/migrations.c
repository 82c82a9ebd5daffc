// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/*
 * mig-top's completed migrations: the analysis model reports them
 * (on_migration, on_side); each is named with its owners, waits for the
 * VMM view when its VMM can give one (the target's vm_start returns after
 * the device's migration completes), then is kept for the views and
 * emitted (JSON, text, metrics).
 */
#include <stdio.h>
#include <string.h>

#include "json_out.h"
#include "mig-top.h"
#include "mig_vmm.h"
#include "owner.h"

struct mig_result done[MT_KEEP_MAX];
int ndone;
long total_done;
static struct mig_vmm_tracker vmmt;	/* the VMM view's probe hits */

/* Migrations waiting for the VMM view (the target's vm_start return). */
#define MT_PENDING	16
#define MT_VMM_WAIT_NS	(5ull * 1000000000ull)
static struct { struct mig_result r; uint64_t deadline; } pending[MT_PENDING];
int npending;

static void emit_migration(const struct mig_result *r)
{
	char u[37], v[37];

	if (ndone == MT_KEEP_MAX) {
		memmove(done, done + 1, sizeof(done[0]) * (MT_KEEP_MAX - 1));
		ndone--;
	}
	done[ndone++] = *r;
	total_done++;
	prom_migration(&prom, r);
	if (opts.out == MT_JSON) {
		jw_record(&jw, "migration");
		jw_string(&jw, "src_uuid", dev_uuid(r->src_dev, u));
		jw_string(&jw, "dst_uuid", dev_uuid(r->dst_dev, v));
		mig_result_json(&jw, r);
		jw_end_record(&jw);
	} else if (opts.out == MT_TEXT) {
		mig_result_text(stdout, r);
		fflush(stdout);
	}
}

/* One host's half of a migration: JSON lines only (mig-trace join). */
void on_side(const struct mig_side *s, void *arg)
{
	char u[37];

	(void)arg;
	if (opts.out != MT_JSON)
		return;
	jw_record(&jw, "side");
	jw_string(&jw, "uuid", dev_uuid(s->dev, u));
	mig_side_json(&jw, s);
	jw_end_record(&jw);
}

/* Emit the pending migrations whose VMM view is final, or all with @all. */
void flush_pending(bool all)
{
	uint64_t now = vfmig_now_ns();
	int i = 0;

	while (i < npending) {
		struct mig_result *r = &pending[i].r;
		bool final = mig_vmm_view(&vmmt, r, &r->vmm);

		if (!final && !all && now < pending[i].deadline) {
			i++;
			continue;
		}
		/*
		 * "%s" and a static array: a literal would be stored with
		 * immediate moves, and strings(1) (lintian's spelling check)
		 * then reads "did not retur" off the code.
		 */
		if (!final && !*r->vmm.note) {
			static const char why[] = "no VMM view: the target's vm_start did not return";

			snprintf(r->vmm.note, sizeof(r->vmm.note), "%s", why);
		}
		emit_migration(r);
		memmove(&pending[i], &pending[i + 1],
			sizeof(pending[0]) * (npending - i - 1));
		npending--;
	}
}

/*
 * A completed migration (the target reached RUNNING): name its owners,
 * then emit it, or, when both owners' binaries have the VMM view's probes,
 * wait for the view (the target's vm_start returns after this) for at most
 * MT_VMM_WAIT_NS.
 */
void on_migration(const struct mig_result *res, void *arg)
{
	struct mig_result r = *res;
	char note[sizeof(r.vmm.note)];

	(void)arg;
	if (opts.replay) {
		emit_migration(&r);
		return;
	}
	owner_of(r.src_dev, &r.src_owner);
	owner_of(r.dst_dev, &r.dst_owner);
	if (!owners_vmm_ready(r.src_owner.pid, note, sizeof(note)) ||
	    !owners_vmm_ready(r.dst_owner.pid, note, sizeof(note)) ||
	    npending == MT_PENDING) {
		snprintf(r.vmm.note, sizeof(r.vmm.note), "%s",
			 npending == MT_PENDING ? "no VMM view: too many migrations at once" : note);
		emit_migration(&r);
		return;
	}
	pending[npending].r = r;
	pending[npending].deadline = vfmig_now_ns() + MT_VMM_WAIT_NS;
	npending++;
	flush_pending(false);
}


/* A hit of the VMM view's uprobes (MEV_VMM). */
void vmm_event(const struct mig_event *e)
{
	mig_vmm_feed(&vmmt, e);
	if (npending)
		flush_pending(false);
}
