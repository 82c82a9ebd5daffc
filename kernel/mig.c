// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfmig migration engine: the uAPI state machine, stepped one arc at a time
 * with vfio_mig_get_next_state() under state_mutex, each arc mapped onto
 * firmware commands and data files the way mlx5 does it. The data files
 * (mig_save.c, mig_resume.c) sit below it and never call into it.
 */
#include <linux/file.h>
#include <linux/ktime.h>

#include "vfmig.h"
#include "trace.h"

static atomic64_t vfmig_mig_ids = ATOMIC64_INIT(0);

/* A new migration starts with each data file: give it an id. */
static void vfmig_new_migration(struct vfmig_dev *vmdev)
{
	lockdep_assert_held(&vmdev->state_mutex);
	vmdev->tdev.mig_id = atomic64_inc_return(&vfmig_mig_ids);
	vmdev->mig_peak_bytes = 0;
}

static void vfmig_reset_work(struct work_struct *work);

void vfmig_mig_init(struct vfmig_dev *vmdev)
{
	mutex_init(&vmdev->state_mutex);
	spin_lock_init(&vmdev->reset_lock);
	INIT_WORK(&vmdev->reset_work, vfmig_reset_work);
	vmdev->mig_state = VFIO_DEVICE_STATE_RUNNING;
	vmdev->tdev.state = vmdev->mig_state;
	vmdev->vdev.migration_flags = VFIO_MIGRATION_STOP_COPY |
				     VFIO_MIGRATION_P2P |
				     VFIO_MIGRATION_PRE_COPY;
	vmdev->vdev.mig_ops = &vfmig_migration_ops;
}

/* Lockless readers (sysfs, tracing of the data files) use READ_ONCE(). */
static void vfmig_set_mig_state(struct vfmig_dev *vmdev,
				enum vfio_device_mig_state state)
{
	lockdep_assert_held(&vmdev->state_mutex);
	WRITE_ONCE(vmdev->mig_state, state);
	vmdev->tdev.state = state;
}

/* A move outside the FSM's arcs (open, close, reset, ERROR). */
static void vfmig_change_state(struct vfmig_dev *vmdev,
			       enum vfio_device_mig_state state, u32 cause)
{
	enum vfio_device_mig_state from = vmdev->mig_state;

	vfmig_set_mig_state(vmdev, state);
	trace_vfmig_state_change(&vmdev->tdev, from, state, cause);
}

static void vfmig_disable_fds(struct vfmig_dev *vmdev)
{
	lockdep_assert_held(&vmdev->state_mutex);
	if (vmdev->saving_migf) {
		vfmig_save_file_disable(vmdev->saving_migf);
		vmdev->saving_migf = NULL;
	}
	if (vmdev->resuming_migf) {
		vfmig_resume_file_disable(vmdev->resuming_migf);
		vmdev->resuming_migf = NULL;
	}
}

/* Back to RUNNING, as after a function reset. */
static void vfmig_reset_locked(struct vfmig_dev *vmdev)
{
	lockdep_assert_held(&vmdev->state_mutex);
	vfmig_disable_fds(vmdev);
	if (vmdev->opened) {
		vfmig_fw_device_start(&vmdev->fw);
	} else {
		vmdev->fw.suspended_initiator = false;
		vmdev->fw.suspended_responder = false;
	}
	vfmig_change_state(vmdev, VFIO_DEVICE_STATE_RUNNING, VFMIG_CAUSE_RESET);
	trace_vfmig_device(&vmdev->tdev, VFMIG_DEV_RESET);
}

/* Carry out a reset that found state_mutex taken; state_mutex held. */
static void vfmig_reset_pending(struct vfmig_dev *vmdev)
{
	bool pending;

	lockdep_assert_held(&vmdev->state_mutex);
	spin_lock(&vmdev->reset_lock);
	pending = vmdev->deferred_reset;
	vmdev->deferred_reset = false;
	spin_unlock(&vmdev->reset_lock);
	if (pending)
		vfmig_reset_locked(vmdev);
}

/*
 * The lock and unlock of the FSM and of the knobs that check for migration
 * files: a reset that found the mutex taken (mlx5's deferred reset: the
 * reset path never waits for state_mutex) is carried out by the next
 * holder, on lock or before it lets go. The data files
 * unlock with vfmig_data_unlock(), which leaves it to vfmig_reset_work().
 */
void vfmig_state_mutex_lock(struct vfmig_dev *vmdev)
{
	mutex_lock(&vmdev->state_mutex);
	vfmig_reset_pending(vmdev);
}

void vfmig_state_mutex_unlock(struct vfmig_dev *vmdev)
{
again:
	spin_lock(&vmdev->reset_lock);
	if (vmdev->deferred_reset) {
		vmdev->deferred_reset = false;
		spin_unlock(&vmdev->reset_lock);
		vfmig_reset_locked(vmdev);
		goto again;
	}
	mutex_unlock(&vmdev->state_mutex);
	spin_unlock(&vmdev->reset_lock);
}

static void vfmig_reset_work(struct work_struct *work)
{
	struct vfmig_dev *vmdev = container_of(work, struct vfmig_dev,
					       reset_work);

	vfmig_state_mutex_lock(vmdev);
	vfmig_state_mutex_unlock(vmdev);
}

void vfmig_reset_done(struct vfmig_dev *vmdev)
{
	spin_lock(&vmdev->reset_lock);
	vmdev->deferred_reset = true;
	if (!mutex_trylock(&vmdev->state_mutex)) {
		spin_unlock(&vmdev->reset_lock);
		/* A holder may be in a long firmware delay: cut it short. */
		vfmig_fw_interrupt(&vmdev->fw);
		return;
	}
	spin_unlock(&vmdev->reset_lock);
	vfmig_state_mutex_unlock(vmdev);
}

void vfmig_mig_open(struct vfmig_dev *vmdev)
{
	vfmig_state_mutex_lock(vmdev);
	vmdev->opened = true;
	vfmig_fw_device_start(&vmdev->fw);
	vfmig_change_state(vmdev, VFIO_DEVICE_STATE_RUNNING, VFMIG_CAUSE_OPEN);
	trace_vfmig_device(&vmdev->tdev, VFMIG_DEV_OPEN);
	vfmig_state_mutex_unlock(vmdev);
}

void vfmig_mig_close(struct vfmig_dev *vmdev)
{
	vfmig_fw_interrupt(&vmdev->fw);
	vfmig_state_mutex_lock(vmdev);
	vfmig_disable_fds(vmdev);
	vfmig_fw_device_stop(&vmdev->fw);
	vmdev->opened = false;
	vfmig_change_state(vmdev, VFIO_DEVICE_STATE_RUNNING, VFMIG_CAUSE_CLOSE);
	trace_vfmig_device(&vmdev->tdev, VFMIG_DEV_CLOSE);
	vfmig_state_mutex_unlock(vmdev);
	/* Nothing may run on the device once it is closed. */
	cancel_work_sync(&vmdev->reset_work);
}

static struct file *vfmig_open_save(struct vfmig_dev *vmdev, bool precopy)
{
	struct vfmig_save_file *migf;

	vfmig_new_migration(vmdev);
	migf = vfmig_save_file_create(vmdev, precopy);

	if (IS_ERR(migf))
		return ERR_CAST(migf);
	vmdev->saving_migf = migf;
	return vfmig_save_file_get(migf);
}

/*
 * Carry out one arc. Returns the new data file, NULL, or an ERR_PTR; sets
 * *broken when the device is left in an unknown state (-> ERROR).
 */
static struct file *vfmig_step(struct vfmig_dev *vmdev,
			       enum vfio_device_mig_state new, bool *broken)
{
	enum vfio_device_mig_state cur = vmdev->mig_state;
	struct vfmig_fw *fw = &vmdev->fw;
	struct vfmig_resume_file *rmigf;
	int ret;

	lockdep_assert_held(&vmdev->state_mutex);
	if ((cur == VFIO_DEVICE_STATE_RUNNING &&
	     new == VFIO_DEVICE_STATE_RUNNING_P2P) ||
	    (cur == VFIO_DEVICE_STATE_PRE_COPY &&
	     new == VFIO_DEVICE_STATE_PRE_COPY_P2P)) {
		ret = vfmig_fw_suspend(fw, VFMIG_FW_OPMOD_INITIATOR);
		goto out_fw;
	}
	if ((cur == VFIO_DEVICE_STATE_RUNNING_P2P &&
	     new == VFIO_DEVICE_STATE_RUNNING) ||
	    (cur == VFIO_DEVICE_STATE_PRE_COPY_P2P &&
	     new == VFIO_DEVICE_STATE_PRE_COPY)) {
		ret = vfmig_fw_resume(fw, VFMIG_FW_OPMOD_INITIATOR);
		goto out_fw;
	}
	if (cur == VFIO_DEVICE_STATE_RUNNING_P2P &&
	    new == VFIO_DEVICE_STATE_STOP) {
		ret = vfmig_fw_suspend(fw, VFMIG_FW_OPMOD_RESPONDER);
		goto out_fw;
	}
	if (cur == VFIO_DEVICE_STATE_STOP &&
	    new == VFIO_DEVICE_STATE_RUNNING_P2P) {
		ret = vfmig_fw_resume(fw, VFMIG_FW_OPMOD_RESPONDER);
		goto out_fw;
	}
	/* Without P2P (the p2p knob) the core skips the P2P states. */
	if (cur == VFIO_DEVICE_STATE_RUNNING &&
	    new == VFIO_DEVICE_STATE_STOP) {
		ret = vfmig_fw_suspend(fw, VFMIG_FW_OPMOD_INITIATOR) ?:
		      vfmig_fw_suspend(fw, VFMIG_FW_OPMOD_RESPONDER);
		goto out_fw;
	}
	if (cur == VFIO_DEVICE_STATE_STOP &&
	    new == VFIO_DEVICE_STATE_RUNNING) {
		ret = vfmig_fw_resume(fw, VFMIG_FW_OPMOD_RESPONDER) ?:
		      vfmig_fw_resume(fw, VFMIG_FW_OPMOD_INITIATOR);
		goto out_fw;
	}
	if (cur == VFIO_DEVICE_STATE_PRE_COPY &&
	    new == VFIO_DEVICE_STATE_STOP_COPY) {
		ret = vfmig_fw_suspend(fw, VFMIG_FW_OPMOD_INITIATOR) ?:
		      vfmig_fw_suspend(fw, VFMIG_FW_OPMOD_RESPONDER) ?:
		      vfmig_save_file_stop_copy(vmdev->saving_migf);
		goto out_fw;
	}
	if ((cur == VFIO_DEVICE_STATE_RUNNING &&
	     new == VFIO_DEVICE_STATE_PRE_COPY) ||
	    (cur == VFIO_DEVICE_STATE_RUNNING_P2P &&
	     new == VFIO_DEVICE_STATE_PRE_COPY_P2P))
		return vfmig_open_save(vmdev, true);
	if (cur == VFIO_DEVICE_STATE_STOP &&
	    new == VFIO_DEVICE_STATE_STOP_COPY)
		return vfmig_open_save(vmdev, false);
	if (cur == VFIO_DEVICE_STATE_PRE_COPY_P2P &&
	    new == VFIO_DEVICE_STATE_STOP_COPY) {
		ret = vfmig_fw_suspend(fw, VFMIG_FW_OPMOD_RESPONDER);
		if (!ret)
			ret = vfmig_save_file_stop_copy(vmdev->saving_migf);
		goto out_fw;
	}
	if ((cur == VFIO_DEVICE_STATE_STOP_COPY &&
	     new == VFIO_DEVICE_STATE_STOP) ||
	    (cur == VFIO_DEVICE_STATE_PRE_COPY &&
	     new == VFIO_DEVICE_STATE_RUNNING) ||
	    (cur == VFIO_DEVICE_STATE_PRE_COPY_P2P &&
	     new == VFIO_DEVICE_STATE_RUNNING_P2P)) {
		vfmig_disable_fds(vmdev);
		return NULL;
	}
	if (cur == VFIO_DEVICE_STATE_STOP &&
	    new == VFIO_DEVICE_STATE_RESUMING) {
		vfmig_new_migration(vmdev);
		rmigf = vfmig_resume_file_create(vmdev);
		if (IS_ERR(rmigf))
			return ERR_CAST(rmigf);
		vmdev->resuming_migf = rmigf;
		return vfmig_resume_file_get(rmigf);
	}
	if (cur == VFIO_DEVICE_STATE_RESUMING &&
	    new == VFIO_DEVICE_STATE_STOP) {
		/* A stream cut short leaves the device half loaded. */
		ret = vfmig_resume_file_finish(vmdev->resuming_migf);
		if (ret) {
			trace_vfmig_error(&vmdev->tdev, VFMIG_ERR_LOAD, ret, 0);
			*broken = true;
			return ERR_PTR(ret);
		}
		vfmig_disable_fds(vmdev);
		return NULL;
	}
	/* vfio_mig_get_next_state() only hands out the arcs above. */
	WARN_ON_ONCE(1);
	return ERR_PTR(-EINVAL);

out_fw:
	if (ret)
		*broken = true;
	return ret ? ERR_PTR(ret) : NULL;
}

static struct file *
vfmig_set_device_state(struct vfio_device *vdev,
		       enum vfio_device_mig_state new_state)
{
	struct vfmig_dev *vmdev = to_vfmig(vdev);
	enum vfio_device_mig_state from, next;
	struct file *res = NULL;
	u64 start = 0, t0 = 0;
	bool broken = false;
	int ret;

	vfmig_state_mutex_lock(vmdev);
	from = vmdev->mig_state;
	if (trace_vfmig_set_state_enabled())
		start = ktime_get_ns();
	/*
	 * ERROR is left only by VFIO_DEVICE_RESET, and the 6.12 core WARNs
	 * when asked for a path from ERROR: refuse it here. The core already
	 * refuses STOP_COPY -> PRE_COPY*; the check stays for older cores,
	 * whose loop on that blocked arc spun forever under this mutex.
	 */
	if (from == VFIO_DEVICE_STATE_ERROR ||
	    (from == VFIO_DEVICE_STATE_STOP_COPY &&
	     (new_state == VFIO_DEVICE_STATE_PRE_COPY ||
	      new_state == VFIO_DEVICE_STATE_PRE_COPY_P2P))) {
		res = ERR_PTR(-EINVAL);
		goto out;
	}

	while (new_state != vmdev->mig_state) {
		ret = vfio_mig_get_next_state(vdev, vmdev->mig_state, new_state,
					      &next);
		if (ret) {
			res = ERR_PTR(ret);
			break;
		}
		if (trace_vfmig_state_step_enabled())
			t0 = ktime_get_ns();
		res = vfmig_step(vmdev, next, &broken);
		trace_vfmig_state_step(&vmdev->tdev, vmdev->mig_state, next,
				       PTR_ERR_OR_ZERO(res),
				       t0 ? ktime_get_ns() - t0 : 0);
		if (IS_ERR(res))
			break;
		vfmig_set_mig_state(vmdev, next);
		/* A file can only be the result of the last arc. */
		if (WARN_ON_ONCE(res && new_state != next)) {
			fput(res);
			res = ERR_PTR(-EINVAL);
			break;
		}
	}
out:
	if (broken) {
		vfmig_disable_fds(vmdev);
		vfmig_change_state(vmdev, VFIO_DEVICE_STATE_ERROR,
				   VFMIG_CAUSE_ERROR);
	}
	if (IS_ERR(res))
		trace_vfmig_error(&vmdev->tdev, VFMIG_ERR_SET_STATE,
				  PTR_ERR(res), 0);
	trace_vfmig_set_state(&vmdev->tdev, from, new_state, vmdev->mig_state,
			      PTR_ERR_OR_ZERO(res),
			      start ? ktime_get_ns() - start : 0);
	vfmig_state_mutex_unlock(vmdev);
	return res;
}

static int vfmig_get_device_state(struct vfio_device *vdev,
				  enum vfio_device_mig_state *curr_state)
{
	struct vfmig_dev *vmdev = to_vfmig(vdev);

	vfmig_state_mutex_lock(vmdev);
	*curr_state = vmdev->mig_state;
	vfmig_state_mutex_unlock(vmdev);
	return 0;
}

/*
 * Bytes STOP_COPY will still produce: the final incremental image when
 * PRE_COPY is tracking, else (no PRE_COPY, or its fallback) a full image
 * and the MIG_UUID and STOP_COPY_SIZE records a new save file starts with.
 */
static int vfmig_get_data_size(struct vfio_device *vdev,
			       unsigned long *stop_copy_length)
{
	struct vfmig_dev *vmdev = to_vfmig(vdev);
	u64 bytes = 0, full = 0;
	int ret;

	vfmig_state_mutex_lock(vmdev);
	if (vmdev->saving_migf &&
	    (vmdev->mig_state == VFIO_DEVICE_STATE_PRE_COPY ||
	     vmdev->mig_state == VFIO_DEVICE_STATE_PRE_COPY_P2P) &&
	    vfmig_save_file_final_inc(vmdev->saving_migf)) {
		ret = vfmig_save_query_bytes(vmdev, VFMIG_FW_QUERY_INC |
						    VFMIG_FW_QUERY_FINAL,
					     &bytes, NULL);
	} else {
		ret = vfmig_save_query_bytes(vmdev, 0, &bytes, &full);
		bytes = full + VFMIG_MIG_UUID_RECORD_BYTES +
			VFMIG_RECORD_HEADER_SIZE + sizeof(__le64);
	}
	vfmig_state_mutex_unlock(vmdev);
	*stop_copy_length = bytes;
	return ret;
}

const struct vfio_migration_ops vfmig_migration_ops = {
	.migration_set_state = vfmig_set_device_state,
	.migration_get_state = vfmig_get_device_state,
	.migration_get_data_size = vfmig_get_data_size,
};
