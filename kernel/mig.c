// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfmig migration engine: the uAPI state machine, stepped one arc at a time
 * with vfio_mig_get_next_state() under state_mutex, each arc mapped onto
 * firmware commands and data files the way mlx5 does it.
 */
#include <linux/file.h>
#include <linux/ktime.h>

#include "vfmig.h"
#include "trace.h"

static atomic64_t vfmig_mig_ids = ATOMIC64_INIT(0);

u64 vfmig_new_mig_id(void)
{
	return atomic64_inc_return(&vfmig_mig_ids);
}

void vfmig_mig_init(struct vfmig_dev *vmdev)
{
	mutex_init(&vmdev->state_mutex);
	spin_lock_init(&vmdev->reset_lock);
	vmdev->mig_state = VFIO_DEVICE_STATE_RUNNING;
	vmdev->tdev.state = vmdev->mig_state;
	vmdev->vdev.migration_flags = VFIO_MIGRATION_STOP_COPY |
				     VFIO_MIGRATION_P2P |
				     VFIO_MIGRATION_PRE_COPY;
	vmdev->vdev.mig_ops = &vfmig_migration_ops;
}

static void vfmig_set_mig_state(struct vfmig_dev *vmdev,
				enum vfio_device_mig_state state)
{
	vmdev->mig_state = state;
	vmdev->tdev.state = state;
}

static void vfmig_disable_fds(struct vfmig_dev *vmdev)
{
	if (vmdev->saving_migf) {
		vfmig_save_file_disable(vmdev->saving_migf);
		vmdev->saving_migf = NULL;
	}
	if (vmdev->resuming_migf) {
		vfmig_resume_file_disable(vmdev->resuming_migf);
		vmdev->resuming_migf = NULL;
	}
}

/* Back to RUNNING, as after a function reset. state_mutex held. */
static void vfmig_reset_locked(struct vfmig_dev *vmdev)
{
	vfmig_disable_fds(vmdev);
	vmdev->fw.suspended_initiator = false;
	vmdev->fw.suspended_responder = false;
	if (vmdev->opened)
		vfmig_workload_start(&vmdev->st);
	vfmig_set_mig_state(vmdev, VFIO_DEVICE_STATE_RUNNING);
	trace_vfmig_device(&vmdev->tdev, VFMIG_DEV_RESET);
}

/*
 * Every state_mutex holder unlocks through here, so a reset that found the
 * mutex taken is carried out by the holder before it lets go (mlx5's
 * deferred reset: the reset path never waits for state_mutex).
 */
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

void vfmig_reset_done(struct vfmig_dev *vmdev)
{
	spin_lock(&vmdev->reset_lock);
	vmdev->deferred_reset = true;
	if (!mutex_trylock(&vmdev->state_mutex)) {
		spin_unlock(&vmdev->reset_lock);
		return;
	}
	spin_unlock(&vmdev->reset_lock);
	vfmig_state_mutex_unlock(vmdev);
}

void vfmig_mig_open(struct vfmig_dev *vmdev)
{
	mutex_lock(&vmdev->state_mutex);
	vmdev->opened = true;
	vmdev->fw.suspended_initiator = false;
	vmdev->fw.suspended_responder = false;
	vfmig_set_mig_state(vmdev, VFIO_DEVICE_STATE_RUNNING);
	vfmig_workload_start(&vmdev->st);
	trace_vfmig_device(&vmdev->tdev, VFMIG_DEV_OPEN);
	vfmig_state_mutex_unlock(vmdev);
}

void vfmig_mig_close(struct vfmig_dev *vmdev)
{
	mutex_lock(&vmdev->state_mutex);
	vfmig_disable_fds(vmdev);
	vfmig_workload_stop(&vmdev->st);
	vmdev->opened = false;
	vfmig_set_mig_state(vmdev, VFIO_DEVICE_STATE_RUNNING);
	trace_vfmig_device(&vmdev->tdev, VFMIG_DEV_CLOSE);
	vfmig_state_mutex_unlock(vmdev);
}

static struct file *vfmig_open_save(struct vfmig_dev *vmdev, bool precopy)
{
	struct vfmig_save_file *migf = vfmig_save_file_create(vmdev, precopy);

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
	u64 start, t0;
	bool broken = false;
	int ret;

	mutex_lock(&vmdev->state_mutex);
	from = vmdev->mig_state;
	start = ktime_get_ns();
	/*
	 * ERROR is left only by VFIO_DEVICE_RESET; STOP_COPY -> PRE_COPY*
	 * is a blocked arc. Refuse both before the core's table is consulted
	 * (upstream's loop on a blocked arc spun forever under this mutex).
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
		t0 = ktime_get_ns();
		res = vfmig_step(vmdev, next, &broken);
		trace_vfmig_state_step(&vmdev->tdev, vmdev->mig_state, next,
				       PTR_ERR_OR_ZERO(res),
				       ktime_get_ns() - t0);
		if (IS_ERR(res))
			break;
		vfmig_set_mig_state(vmdev, next);
		/* A file can only be the result of the last arc. */
		if (res && new_state != next) {
			fput(res);
			res = ERR_PTR(-EINVAL);
			break;
		}
	}
out:
	if (broken) {
		vfmig_disable_fds(vmdev);
		vfmig_set_mig_state(vmdev, VFIO_DEVICE_STATE_ERROR);
	}
	if (IS_ERR(res))
		trace_vfmig_error(&vmdev->tdev, VFMIG_ERR_SET_STATE,
				  PTR_ERR(res), 0);
	trace_vfmig_set_state(&vmdev->tdev, from, new_state, vmdev->mig_state,
			      PTR_ERR_OR_ZERO(res), ktime_get_ns() - start);
	vfmig_state_mutex_unlock(vmdev);
	return res;
}

static int vfmig_get_device_state(struct vfio_device *vdev,
				  enum vfio_device_mig_state *curr_state)
{
	struct vfmig_dev *vmdev = to_vfmig(vdev);

	mutex_lock(&vmdev->state_mutex);
	*curr_state = vmdev->mig_state;
	vfmig_state_mutex_unlock(vmdev);
	return 0;
}

/*
 * Bytes STOP_COPY will still produce: the final incremental image when
 * PRE_COPY is tracking, else (no PRE_COPY, or its fallback) a full image
 * and its STOP_COPY_SIZE record.
 */
static int vfmig_get_data_size(struct vfio_device *vdev,
			       unsigned long *stop_copy_length)
{
	struct vfmig_dev *vmdev = to_vfmig(vdev);
	u64 bytes = 0;
	int ret;

	mutex_lock(&vmdev->state_mutex);
	if (vmdev->saving_migf &&
	    (vmdev->mig_state == VFIO_DEVICE_STATE_PRE_COPY ||
	     vmdev->mig_state == VFIO_DEVICE_STATE_PRE_COPY_P2P) &&
	    vfmig_save_file_final_inc(vmdev->saving_migf)) {
		ret = vfmig_fw_query_size(&vmdev->fw, VFMIG_FW_QUERY_INC |
						     VFMIG_FW_QUERY_FINAL,
					  &bytes);
	} else {
		ret = vfmig_fw_query_size(&vmdev->fw, 0, &bytes);
		bytes += VFMIG_RECORD_HEADER_SIZE + sizeof(__le64);
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
