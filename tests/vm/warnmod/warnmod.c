// SPDX-License-Identifier: GPL-2.0
/*
 * warnmod - test-only module that WARNs on request.
 *
 * tests/run-check boots a guest that loads it and triggers a WARN, to prove
 * that tests/vm/vm-run fails a run whose kernel log holds a splat.
 *
 *   insmod warnmod.ko warn_on_load=1       WARN while loading
 *   echo 1 > /sys/kernel/debug/warnmod/warn   WARN on each write
 */
#include <linux/bug.h>
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/module.h>

static bool warn_on_load;
module_param(warn_on_load, bool, 0444);
MODULE_PARM_DESC(warn_on_load, "WARN once while the module loads");

static struct dentry *warnmod_dir;

static ssize_t warnmod_write(struct file *file, const char __user *buf,
			     size_t count, loff_t *ppos)
{
	WARN(1, "warnmod: WARN requested through debugfs\n");
	return count;
}

static const struct file_operations warnmod_fops = {
	.owner = THIS_MODULE,
	.write = warnmod_write,
};

static int __init warnmod_init(void)
{
	warnmod_dir = debugfs_create_dir("warnmod", NULL);
	debugfs_create_file("warn", 0200, warnmod_dir, NULL, &warnmod_fops);
	WARN(warn_on_load, "warnmod: WARN requested at load\n");
	return 0;
}

static void __exit warnmod_exit(void)
{
	debugfs_remove(warnmod_dir);
}

module_init(warnmod_init);
module_exit(warnmod_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Test-only module that WARNs on request (vfmig VM self-test)");
