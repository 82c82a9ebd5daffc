// SPDX-License-Identifier: GPL-2.0
/*
 * debugmod - test-only module with deliberate kernel bugs on request.
 *
 * `make check-debug` boots its debug guest kernel, loads this module and
 * triggers each bug in a separate boot, to prove that tests/vm/vm-run fails a
 * run in which KASAN, lockdep or kmemleak reports something. Never load it
 * outside such a throwaway guest.
 *
 *   echo 1 > /sys/kernel/debug/debugmod/uaf    read a freed kmalloc object
 *   echo 1 > /sys/kernel/debug/debugmod/abba   take two mutexes in A-B, then
 *                                              B-A order (one task, no hang)
 *   echo 1 > /sys/kernel/debug/debugmod/leak   drop the last reference to a
 *                                              kmalloc object
 */
#include <linux/compiler.h>
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/printk.h>
#include <linux/slab.h>

static struct dentry *debugmod_dir;
static DEFINE_MUTEX(debugmod_lock_a);
static DEFINE_MUTEX(debugmod_lock_b);

struct debugmod_obj {
	int value;
	char pad[60];
};

static ssize_t debugmod_uaf_write(struct file *file, const char __user *buf,
				  size_t count, loff_t *ppos)
{
	struct debugmod_obj *obj;
	int v;

	obj = kmalloc(sizeof(*obj), GFP_KERNEL);
	if (!obj)
		return -ENOMEM;
	obj->value = 42;
	kfree(obj);
	v = READ_ONCE(obj->value);	/* the deliberate use-after-free */
	pr_info("debugmod: use-after-free read %d\n", v);
	return count;
}

static ssize_t debugmod_abba_write(struct file *file, const char __user *buf,
				   size_t count, loff_t *ppos)
{
	mutex_lock(&debugmod_lock_a);
	mutex_lock(&debugmod_lock_b);
	mutex_unlock(&debugmod_lock_b);
	mutex_unlock(&debugmod_lock_a);

	/* the deliberate inversion: lockdep reports it, nothing deadlocks */
	mutex_lock(&debugmod_lock_b);
	mutex_lock(&debugmod_lock_a);
	mutex_unlock(&debugmod_lock_a);
	mutex_unlock(&debugmod_lock_b);
	pr_info("debugmod: took locks A-B then B-A\n");
	return count;
}

static ssize_t debugmod_leak_write(struct file *file, const char __user *buf,
				   size_t count, loff_t *ppos)
{
	void *p;

	p = kmalloc(128, GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	memset(p, 0xa5, 128);
	pr_info("debugmod: leaked a 128-byte object\n");
	return count;	/* the deliberate leak: p is never freed */
}

static const struct file_operations debugmod_uaf_fops = {
	.owner = THIS_MODULE,
	.write = debugmod_uaf_write,
};

static const struct file_operations debugmod_abba_fops = {
	.owner = THIS_MODULE,
	.write = debugmod_abba_write,
};

static const struct file_operations debugmod_leak_fops = {
	.owner = THIS_MODULE,
	.write = debugmod_leak_write,
};

static int __init debugmod_init(void)
{
	debugmod_dir = debugfs_create_dir("debugmod", NULL);
	debugfs_create_file("uaf", 0200, debugmod_dir, NULL, &debugmod_uaf_fops);
	debugfs_create_file("abba", 0200, debugmod_dir, NULL, &debugmod_abba_fops);
	debugfs_create_file("leak", 0200, debugmod_dir, NULL, &debugmod_leak_fops);
	return 0;
}

static void __exit debugmod_exit(void)
{
	debugfs_remove(debugmod_dir);
}

module_init(debugmod_init);
module_exit(debugmod_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Test-only module with deliberate UAF, ABBA and leak bugs (vfmig debug-kernel self-test)");
