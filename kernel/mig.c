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

void vfmig_mig_init(struct vfmig_dev *mdev)
{
	mutex_init(&mdev->state_mutex);
	spin_lock_init(&mdev->reset_lock);
	mdev->mig_state = VFIO_DEVICE_STATE_RUNNING;
	mdev->tdev.state = mdev->mig_state;
	mdev->vdev.migration_flags = VFIO_MIGRATION_STOP_COPY |
				     VFIO_MIGRATION_P2P |
				     VFIO_MIGRATION_PRE_COPY;
	mdev->vdev.mig_ops = &vfmig_migration_ops;
}

static void vfmig_set_mig_state(struct vfmig_dev *mdev,
				enum vfio_device_mig_state state)
{
	mdev->mig_state = state;
	mdev->tdev.state = state;
}

static void vfmig_disable_fds(struct vfmig_dev *mdev)
{
	if (mdev->saving_migf) {
		vfmig_save_file_disable(mdev->saving_migf);
		mdev->saving_migf = NULL;
	}
	if (mdev->resuming_migf) {
		vfmig_resume_file_disable(mdev->resuming_migf);
		mdev->resuming_migf = NULL;
	}
}

/* Back to RUNNING, as after a function reset. state_mutex held. */
static void vfmig_reset_locked(struct vfmig_dev *mdev)
{
	vfmig_disable_fds(mdev);
	mdev->fw.suspended_initiator = false;
	mdev->fw.suspended_responder = false;
	if (mdev->opened)
		vfmig_workload_start(&mdev->st);
	vfmig_set_mig_state(mdev, VFIO_DEVICE_STATE_RUNNING);
	trace_vfmig_device(&mdev->tdev, VFMIG_DEV_RESET);
}

/*
 * Every state_mutex holder unlocks through here, so a reset that found the
 * mutex taken is carried out by the holder before it lets go (mlx5's
 * deferred reset: the reset path never waits for state_mutex).
 */
void vfmig_state_mutex_unlock(struct vfmig_dev *mdev)
{
again:
	spin_lock(&mdev->reset_lock);
	if (mdev->deferred_reset) {
		mdev->deferred_reset = false;
		spin_unlock(&mdev->reset_lock);
		vfmig_reset_locked(mdev);
		goto again;
	}
	mutex_unlock(&mdev->state_mutex);
	spin_unlock(&mdev->reset_lock);
}

void vfmig_reset_done(struct vfmig_dev *mdev)
{
	spin_lock(&mdev->reset_lock);
	mdev->deferred_reset = true;
	if (!mutex_trylock(&mdev->state_mutex)) {
		spin_unlock(&mdev->reset_lock);
		return;
	}
	spin_unlock(&mdev->reset_lock);
	vfmig_state_mutex_unlock(mdev);
}

void vfmig_mig_open(struct vfmig_dev *mdev)
{
	mutex_lock(&mdev->state_mutex);
	mdev->opened = true;
	mdev->fw.suspended_initiator = false;
	mdev->fw.suspended_responder = false;
	vfmig_set_mig_state(mdev, VFIO_DEVICE_STATE_RUNNING);
	vfmig_workload_start(&mdev->st);
	trace_vfmig_device(&mdev->tdev, VFMIG_DEV_OPEN);
	vfmig_state_mutex_unlock(mdev);
}

void vfmig_mig_close(struct vfmig_dev *mdev)
{
	mutex_lock(&mdev->state_mutex);
	vfmig_disable_fds(mdev);
	vfmig_workload_stop(&mdev->st);
	mdev->opened = false;
	vfmig_set_mig_state(mdev, VFIO_DEVICE_STATE_RUNNING);
	trace_vfmig_device(&mdev->tdev, VFMIG_DEV_CLOSE);
	vfmig_state_mutex_unlock(mdev);
}

static struct file *vfmig_open_save(struct vfmig_dev *mdev, bool precopy)
{
	struct vfmig_save_file *migf = vfmig_save_file_create(mdev, precopy);

	if (IS_ERR(migf))
		return ERR_CAST(migf);
	mdev->saving_migf = migf;
	return vfmig_save_file_get(migf);
}

/*
 * Carry out one arc. Returns the new data file, NULL, or an ERR_PTR; sets
 * *broken when the device is left in an unknown state (-> ERROR).
 */
static struct file *vfmig_step(struct vfmig_dev *mdev,
			       enum vfio_device_mig_state new, bool *broken)
{
	enum vfio_device_mig_state cur = mdev->mig_state;
	struct vfmig_fw *fw = &mdev->fw;
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
	if ((cur == VFIO_DEVICE_STATE_RUNNING &&
	     new == VFIO_DEVICE_STATE_PRE_COPY) ||
	    (cur == VFIO_DEVICE_STATE_RUNNING_P2P &&
	     new == VFIO_DEVICE_STATE_PRE_COPY_P2P))
		return vfmig_open_save(mdev, true);
	if (cur == VFIO_DEVICE_STATE_STOP &&
	    new == VFIO_DEVICE_STATE_STOP_COPY)
		return vfmig_open_save(mdev, false);
	if (cur == VFIO_DEVICE_STATE_PRE_COPY_P2P &&
	    new == VFIO_DEVICE_STATE_STOP_COPY) {
		ret = vfmig_fw_suspend(fw, VFMIG_FW_OPMOD_RESPONDER);
		if (!ret)
			ret = vfmig_save_file_stop_copy(mdev->saving_migf);
		goto out_fw;
	}
	if ((cur == VFIO_DEVICE_STATE_STOP_COPY &&
	     new == VFIO_DEVICE_STATE_STOP) ||
	    (cur == VFIO_DEVICE_STATE_PRE_COPY &&
	     new == VFIO_DEVICE_STATE_RUNNING) ||
	    (cur == VFIO_DEVICE_STATE_PRE_COPY_P2P &&
	     new == VFIO_DEVICE_STATE_RUNNING_P2P)) {
		vfmig_disable_fds(mdev);
		return NULL;
	}
	if (cur == VFIO_DEVICE_STATE_STOP &&
	    new == VFIO_DEVICE_STATE_RESUMING) {
		rmigf = vfmig_resume_file_create(mdev);
		if (IS_ERR(rmigf))
			return ERR_CAST(rmigf);
		mdev->resuming_migf = rmigf;
		return vfmig_resume_file_get(rmigf);
	}
	if (cur == VFIO_DEVICE_STATE_RESUMING &&
	    new == VFIO_DEVICE_STATE_STOP) {
		/* A stream cut short leaves the device half loaded. */
		ret = vfmig_resume_file_finish(mdev->resuming_migf);
		if (ret) {
			trace_vfmig_error(&mdev->tdev, VFMIG_ERR_LOAD, ret, 0);
			*broken = true;
			return ERR_PTR(ret);
		}
		vfmig_disable_fds(mdev);
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
	struct vfmig_dev *mdev = to_vfmig(vdev);
	enum vfio_device_mig_state from, next;
	struct file *res = NULL;
	u64 start, t0;
	bool broken = false;
	int ret;

	mutex_lock(&mdev->state_mutex);
	from = mdev->mig_state;
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

	while (new_state != mdev->mig_state) {
		ret = vfio_mig_get_next_state(vdev, mdev->mig_state, new_state,
					      &next);
		if (ret) {
			res = ERR_PTR(ret);
			break;
		}
		t0 = ktime_get_ns();
		res = vfmig_step(mdev, next, &broken);
		trace_vfmig_state_step(&mdev->tdev, mdev->mig_state, next,
				       PTR_ERR_OR_ZERO(res),
				       ktime_get_ns() - t0);
		if (IS_ERR(res))
			break;
		vfmig_set_mig_state(mdev, next);
		/* A file can only be the result of the last arc. */
		if (res && new_state != next) {
			fput(res);
			res = ERR_PTR(-EINVAL);
			break;
		}
	}
out:
	if (broken) {
		vfmig_disable_fds(mdev);
		vfmig_set_mig_state(mdev, VFIO_DEVICE_STATE_ERROR);
	}
	if (IS_ERR(res))
		trace_vfmig_error(&mdev->tdev, VFMIG_ERR_SET_STATE,
				  PTR_ERR(res), 0);
	trace_vfmig_set_state(&mdev->tdev, from, new_state, mdev->mig_state,
			      PTR_ERR_OR_ZERO(res), ktime_get_ns() - start);
	vfmig_state_mutex_unlock(mdev);
	return res;
}

static int vfmig_get_device_state(struct vfio_device *vdev,
				  enum vfio_device_mig_state *curr_state)
{
	struct vfmig_dev *mdev = to_vfmig(vdev);

	mutex_lock(&mdev->state_mutex);
	*curr_state = mdev->mig_state;
	vfmig_state_mutex_unlock(mdev);
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
	struct vfmig_dev *mdev = to_vfmig(vdev);
	u64 bytes = 0;
	int ret;

	mutex_lock(&mdev->state_mutex);
	if (mdev->saving_migf &&
	    (mdev->mig_state == VFIO_DEVICE_STATE_PRE_COPY ||
	     mdev->mig_state == VFIO_DEVICE_STATE_PRE_COPY_P2P) &&
	    vfmig_save_file_final_inc(mdev->saving_migf)) {
		ret = vfmig_fw_query_size(&mdev->fw, VFMIG_FW_QUERY_INC |
						     VFMIG_FW_QUERY_FINAL,
					  &bytes);
	} else {
		ret = vfmig_fw_query_size(&mdev->fw, 0, &bytes);
		bytes += VFMIG_RECORD_HEADER_SIZE + sizeof(__le64);
	}
	vfmig_state_mutex_unlock(mdev);
	*stop_copy_length = bytes;
	return ret;
}

const struct vfio_migration_ops vfmig_migration_ops = {
	.migration_set_state = vfmig_set_device_state,
	.migration_get_state = vfmig_get_device_state,
	.migration_get_data_size = vfmig_get_data_size,
};
