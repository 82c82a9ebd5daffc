// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/*
 * Unit test of the owners and the VMM view (tools/lib/mig_events.c,
 * tools/lib/mig_vmm.c): the task of the set_state events becomes the
 * device's owner and the migration's src/dst owner; MEV_VMM events are no
 * device's; the view's boundaries, parts and degradations; its JSON; and
 * QEMU device ids from command lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mig_events.h"
#include "json_out.h"
#include "mig_vmm.h"
#include "test_trace.h"

static struct mig_result res[4];
static int nres;

static void on_mig(const struct mig_result *r, void *arg)
{
	(void)arg;
	if (nres < 4)
		res[nres++] = *r;
}

/* Give every event of @dev the task @pid/@comm. */
static void set_task(struct tt_stream *s, uint32_t dev, uint32_t pid,
		     const char *comm)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->ev[i].dev != dev)
			continue;
		s->ev[i].pid = pid;
		snprintf(s->ev[i].comm, sizeof(s->ev[i].comm), "%s", comm);
	}
}

static void vmm_ev(struct mig_vmm_tracker *t, struct mig_model *m,
		   uint64_t ts, uint32_t pid, int probe, int ret)
{
	struct tt_stream one = { 0 };

	tt_ev(&one, ts, MEV_VMM, MIG_VMM_DEV, 0, 0, probe, ret, 0, 0, 0);
	one.ev[0].pid = pid;
	mig_vmm_feed(t, &one.ev[0]);
	mig_model_feed(m, &one.ev[0]);
	free(one.ev);
}

static void test_owner_and_view(void)
{
	struct tt_stream s = { 0 };
	struct mig_model *m = calloc(1, sizeof(*m));
	struct mig_vmm_tracker *t = calloc(1, sizeof(*t));
	const uint64_t b = 100000;
	struct mig_result r;
	struct mig_vmm v;
	char buf[2048];
	struct jw w;
	FILE *f;

	tt_migration(&s, 0, 1, 1, 2, b, 0);
	set_task(&s, 0, 4242, "live_migration");
	set_task(&s, 1, 4343, "qemu-system-x86");
	mig_model_init(m, on_mig, NULL);
	nres = 0;
	/* The source QEMU stops its VM around T0 (b + 2000). */
	vmm_ev(t, m, b + 1500, 4242, MVP_STOP_VM, 0);
	for (size_t i = 0; i < s.n; i++) {
		if (s.ev[i].ts == b + 2600) {	/* T3: in the save */
			vmm_ev(t, m, b + 2400, 4242, MVP_STOP_VM, 1);
			vmm_ev(t, m, b + 2650, 4242, MVP_SAVE_ITERABLE, 1);
			vmm_ev(t, m, b + 2700, 4242, MVP_SAVE_COMPLETE, 1);
		}
		if (s.ev[i].ts == b + 3000)	/* T4: in the target's vm_start */
			vmm_ev(t, m, b + 2900, 4343, MVP_VM_START, 0);
		mig_model_feed(m, &s.ev[i]);
	}
	CHECK(nres == 1);
	CHECK(mig_model_dev(m, MIG_VMM_DEV, false) == NULL);
	r = res[0];
	CHECK(r.src_owner.pid == 4242 && !strcmp(r.src_owner.comm, "live_migration"));
	CHECK(r.dst_owner.pid == 4343 && !strcmp(r.dst_owner.comm, "qemu-system-x86"));
	CHECK(!r.vmm.valid && !*r.vmm.note);	/* the model leaves it to mig-top */
	CHECK(mig_model_dev(m, 1, false)->owner.pid == 4343);

	/* At T5 the target's vm_start has not returned: not final, no view. */
	CHECK(!mig_vmm_view(t, &r, &v));
	CHECK(!v.valid && strstr(v.note, "vm_start"));
	vmm_ev(t, m, b + 3400, 4343, MVP_VM_START, 1);
	CHECK(mig_vmm_view(t, &r, &v));
	CHECK(v.valid && !*v.note);
	CHECK(v.src_pid == 4242 && v.dst_pid == 4343);
	CHECK(v.t[0] == b + 1500 && v.t[1] == b + 2400 && v.t[2] == b + 2650);
	CHECK(v.t[3] == b + 2700 && v.t[4] == b + 2900 && v.t[5] == b + 3400);
	CHECK(v.part_ns[MV_STOP_VM] == 900 && v.part_ns[MV_SAVE_ITERABLE] == 250);
	CHECK(v.part_ns[MV_SAVE_NON_ITERABLE] == 50 && v.part_ns[MV_TARGET_LOAD] == 200);
	CHECK(v.part_ns[MV_TARGET_START] == 500 && v.window_ns == 1900);
	/* The relations 60-qemu-migrate asserts, on this synthetic stream. */
	CHECK(v.t[0] <= r.t[0] && r.t[0] <= v.t[1]);
	CHECK(v.t[1] <= r.t[3] && r.t[3] <= v.t[2]);
	CHECK(v.t[4] <= r.t[4] && r.t[5] <= v.t[5]);

	r.vmm = v;
	r.src_owner.pid = 4242;
	snprintf(r.src_owner.qemu_id, sizeof(r.src_owner.qemu_id), "vf\"0");
	f = fmemopen(buf, sizeof(buf), "w");
	jw_init(&w, f);
	jw_record(&w, "migration");
	mig_result_json(&w, &r);
	CHECK(jw_end_record(&w) == 0);
	fclose(f);
	CHECK(strstr(buf, "\"src_owner\":{\"pid\":4242,\"comm\":\"live_migration\",\"qemu_id\":\"vf\\\"0\"}"));
	CHECK(strstr(buf, "\"dst_owner\":{\"pid\":4343,\"comm\":\"qemu-system-x86\",\"qemu_id\":null}"));
	CHECK(strstr(buf, "\"vmm\":{\"src_pid\":4242,\"dst_pid\":4343,\"window_ns\":1900,"));
	CHECK(strstr(buf, "\"stop_vm_ns\":900"));
	CHECK(strstr(buf, "\"switchover_ack\":null}},\"vmm_note\":null}"));

	/* Missing inner boundaries degrade: the next part takes their time. */
	memset(t, 0, sizeof(*t));
	vmm_ev(t, m, b + 1500, 4242, MVP_STOP_VM, 0);
	vmm_ev(t, m, b + 2400, 4242, MVP_STOP_VM, 1);
	vmm_ev(t, m, b + 2900, 4343, MVP_VM_START, 0);
	vmm_ev(t, m, b + 3400, 4343, MVP_VM_START, 1);
	vmm_ev(t, m, b + 1800, 4343, MVP_SWITCHOVER_ACK, 0);
	CHECK(mig_vmm_view(t, &r, &v) && v.valid);
	CHECK(v.part_ns[MV_SAVE_ITERABLE] == 0 && v.part_ns[MV_SAVE_NON_ITERABLE] == 0);
	CHECK(v.part_ns[MV_TARGET_LOAD] == 500 && v.window_ns == 1900);
	CHECK(v.t_ack == b + 1800);
	CHECK(strstr(v.note, "save_iterable_exit") && strstr(v.note, "save_complete_exit"));

	/* No source stop seen: no view, and why. */
	memset(t, 0, sizeof(*t));
	vmm_ev(t, m, b + 2900, 4343, MVP_VM_START, 0);
	vmm_ev(t, m, b + 3400, 4343, MVP_VM_START, 1);
	CHECK(mig_vmm_view(t, &r, &v) && !v.valid);
	CHECK(strstr(v.note, "vm_stop_force_state"));
	f = fmemopen(buf, sizeof(buf), "w");
	jw_init(&w, f);
	jw_record(&w, "t");
	mig_vmm_json(&w, &v);
	jw_end_record(&w);
	fclose(f);
	CHECK(strstr(buf, ",\"vmm\":null,\"vmm_note\":\"no VMM view") != NULL);
	free(t);
	free(m);
	free(s.ev);
}

static void test_cmdline(void)
{
	static const char u[] = "6b1c6b8e-3ba5-4a1b-9d4b-0d8f8a7c2e11";
	char id[64];
	char cl[1024];
	size_t n = 0;

#define ARG(a) do { memcpy(cl + n, a, sizeof(a)); n += sizeof(a); } while (0)
	ARG("/opt/q/qemu-system-x86_64");
	ARG("-device");
	ARG("virtio-net-pci,id=net0");
	ARG("-device");
	ARG("vfio-pci,sysfsdev=/sys/bus/mdev/devices/6B1C6B8E-3BA5-4A1B-9D4B-0D8F8A7C2E11,enable-migration=on,id=vfmig-src");
	ARG("-device");
	ARG("vfio-pci,host=0000:03:00.1,id=gpu,,x");
	ARG("-device");
	ARG("{\"driver\": \"vfio-pci\", \"sysfsdev\": \"/sys/bus/pci/devices/0000:05:00.0/\", \"id\": \"js0\"}");
	ARG("-name");
	ARG("id=notadevice");
#undef ARG
	CHECK(!mig_qemu_dev_id(cl, n, u, id, sizeof(id)) && !strcmp(id, "vfmig-src"));
	CHECK(!mig_qemu_dev_id(cl, n, "03:00.1", id, sizeof(id)) && !strcmp(id, "gpu,x"));
	CHECK(!mig_qemu_dev_id(cl, n, "0000:03:00.1", id, sizeof(id)) && !strcmp(id, "gpu,x"));
	CHECK(!mig_qemu_dev_id(cl, n, "0000:05:00.0", id, sizeof(id)) && !strcmp(id, "js0"));
	CHECK(mig_qemu_dev_id(cl, n, "0000:06:00.0", id, sizeof(id)) == -1);
	CHECK(mig_qemu_dev_id(cl, n, "", id, sizeof(id)) == -1);
	/* A last argument without its NUL (a cut read) is not used. */
	{
		static const char cut[] = "q\0-device\0vfio-pci,host=07:00.0,id=cut";

		CHECK(mig_qemu_dev_id(cut, sizeof(cut), "07:00.0", id, sizeof(id)) == 0);
		CHECK(mig_qemu_dev_id(cut, sizeof(cut) - 1, "07:00.0", id, sizeof(id)) == -1);
	}
	CHECK(!strcmp(mig_vmm_symbol(MVP_STOP_VM), "vm_stop_force_state"));
	CHECK(mig_vmm_core(MVP_STOP_VM) && mig_vmm_core(MVP_VM_START));
	CHECK(!mig_vmm_has_return(MVP_SWITCHOVER_ACK));
	CHECK(!strcmp(mig_vmm_part_name(MV_TARGET_START), "target_start"));
}

int main(void)
{
	test_owner_and_view();
	test_cmdline();
	return tt_report("test_vmm");
}
