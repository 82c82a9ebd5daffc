/* SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause */
/*
 * vfmig shared ABI: the one definition of everything that crosses the
 * kernel/userspace/BPF boundary.
 *
 *  - the migration stream: 16-byte record headers (same layout as upstream
 *    mlx5, so stream tools read both) and the firmware image chunk format
 *    carried in FW_DATA records;
 *  - the stable struct every vfmig tracepoint passes to BPF (tp_btf/raw_tp);
 *  - the enums the tracepoints print symbolically;
 *  - the emulated device's control interface (BAR0 registers, sysfs names).
 *
 * Included by kernel/ (with <linux/types.h>), bpf/ (after vmlinux.h) and
 * tools/ (after <linux/types.h>). Changing anything here is an ABI change:
 * bump VFMIG_ABI_VERSION and update docs/.
 */
#ifndef VFMIG_ABI_H
#define VFMIG_ABI_H

#define VFMIG_ABI_VERSION	4

/* ---------------------------------------------------------------------- */
/* Migration stream records                                                */
/* ---------------------------------------------------------------------- */

/*
 * struct vfmig_record_header - precedes every record in the data stream.
 * @size:  number of payload bytes that follow the header
 * @flags: VFMIG_RECORD_F_*
 * @tag:   VFMIG_RECORD_TAG_*
 *
 * All fields little endian. Identical to mlx5's struct
 * mlx5_vf_migration_header.
 */
struct vfmig_record_header {
	__le64 size;
	__le32 flags;
	__le32 tag;
};

#define VFMIG_RECORD_HEADER_SIZE	16

/* A loader must reject a record it does not know unless it is OPTIONAL. */
#define VFMIG_RECORD_F_MANDATORY	0
#define VFMIG_RECORD_F_OPTIONAL		(1u << 0)

#define VFMIG_RECORD_TAG_FW_DATA	0	/* firmware image chunk */
#define VFMIG_RECORD_TAG_STOP_COPY_SIZE	(1u << 0)	/* payload: __le64 */
#define VFMIG_RECORD_TAG_CHUNK_CRC	(1u << 1)	/* payload: vfmig_crc_record */
#define VFMIG_RECORD_TAG_MIG_UUID	(1u << 2)	/* payload: vfmig_mig_uuid_record */

/*
 * struct vfmig_crc_record - integrity of the FW_DATA record that follows.
 * @crc32c:  CRC-32C (Castagnoli, initial value ~0, final xor ~0: the
 *           kernel's ~__crc32c_le(~0, ...)) over the next FW_DATA record,
 *           its 16-byte header and its payload
 * @algo:    VFMIG_CRC_ALGO_CRC32C
 * @covered: bytes the CRC covers: 16 + the next record's payload size
 *
 * Sent as an OPTIONAL record (ABI version 2) right before every FW_DATA
 * record, so targets that do not know the tag skip it and still load the
 * stream. A target that knows it checks the chunk before loading anything
 * of it, and once a stream has carried one CRC record, every later FW_DATA
 * record must have its own; only records a target skips (unknown OPTIONAL
 * ones) may come between the two.
 */
struct vfmig_crc_record {
	__le32 crc32c;
	__le32 algo;
	__le64 covered;
};

#define VFMIG_CRC_ALGO_CRC32C		1
#define VFMIG_CRC_RECORD_BYTES		(VFMIG_RECORD_HEADER_SIZE + 16)

/*
 * struct vfmig_mig_uuid_record - the migration's identity.
 * @uuid: a random (RFC 4122 version 4) UUID, in RFC 4122 byte order, that
 *        the source's save file draws when it is created
 *
 * Sent as an OPTIONAL record (ABI version 3) at stream offset 0, the
 * stream's first record, so targets that do not know the tag skip it. Both
 * sides report it in the vfmig_mig_uuid tracepoint: the source when the
 * file is created, the target when its parser has read the record. Tools
 * join the two hosts' recordings of one migration by it.
 */
struct vfmig_mig_uuid_record {
	__u8 uuid[16];
};

#define VFMIG_MIG_UUID_RECORD_BYTES	(VFMIG_RECORD_HEADER_SIZE + 16)

/*
 * FW_DATA payload: one self-contained chunk of a device image.
 *
 *   struct vfmig_chunk_header
 *   __le64 page_index[npages]
 *   u8     page_data[npages][VFMIG_PAGE_SIZE]
 *
 * The page indexes of a chunk strictly increase.
 * An image is a run of chunks with the same image_seq, chunk_seq counting
 * from 0, the first flagged FIRST and the last flagged LAST. A FULL image
 * carries every page; an incremental one only the pages dirtied since the
 * previous image. Each chunk is loaded on its own (one LOAD per record), so
 * a target never needs more than one record in memory.
 */
struct vfmig_chunk_header {
	__le32 magic;		/* VFMIG_CHUNK_MAGIC */
	__le16 version;		/* VFMIG_CHUNK_VERSION */
	__le16 flags;		/* VFMIG_CHUNK_F_* */
	__le32 image_seq;	/* 0, 1, 2... within one migration */
	__le32 chunk_seq;	/* 0, 1, 2... within one image */
	__le64 generation;	/* device generation when the chunk was cut */
	__le64 state_size;	/* source device state size in bytes */
	__le32 npages;		/* pages carried by this chunk */
	__le32 reserved;	/* must be 0 */
};

#define VFMIG_CHUNK_MAGIC	0x676d6676u	/* "vfmg" */
#define VFMIG_CHUNK_VERSION	1
#define VFMIG_PAGE_SIZE		4096u
#define VFMIG_CHUNK_F_FULL	(1u << 0)	/* else incremental */
#define VFMIG_CHUNK_F_FIRST	(1u << 1)
#define VFMIG_CHUNK_F_LAST	(1u << 2)
/*
 * A chunk of the migration's last image (the one STOP_COPY cuts). A target
 * refuses RESUMING -> STOP until such an image has fully loaded, so a stream
 * cut at an image boundary cannot pass for a whole one.
 */
#define VFMIG_CHUNK_F_FINAL	(1u << 3)
#define VFMIG_CHUNK_F_ALL	0xfu

/* Bytes of one FW_DATA record (header included) carrying @npages pages. */
#define VFMIG_CHUNK_RECORD_BYTES(npages) \
	(VFMIG_RECORD_HEADER_SIZE + sizeof(struct vfmig_chunk_header) + \
	 (__u64)(npages) * (8 + VFMIG_PAGE_SIZE))

/* ---------------------------------------------------------------------- */
/* Tracepoint ABI                                                          */
/* ---------------------------------------------------------------------- */

/*
 * struct vfmig_trace_dev - first argument of every vfmig tracepoint.
 * BPF programs read it instead of driver-private structs.
 * @id:         device instance number (unique while the module is loaded)
 * @state:      enum vfio_device_mig_state of the device at event time
 * @mig_id:     migration session id; a new one starts each time a data file
 *              (save or resume) is created; 0 before the first
 * @state_size: device state size in bytes
 * @uuid:       mdev UUID, binary
 */
struct vfmig_trace_dev {
	__u32 id;
	__u32 state;
	__u64 mig_id;
	__u64 state_size;
	__u8 uuid[16];
};

/* Which image a chunk belongs to (vfmig_image_* events). */
enum vfmig_image_kind {
	VFMIG_IMAGE_INITIAL = 0,	/* full image on entering PRE_COPY */
	VFMIG_IMAGE_MIDDLE = 1,		/* incremental image during PRE_COPY */
	VFMIG_IMAGE_FINAL = 2,		/* image cut in STOP_COPY */
};

/* Firmware command opcodes (vfmig_fw_cmd_* events, fault injection). */
enum vfmig_fw_opcode {
	VFMIG_FW_QUERY_STATE_SIZE = 0,
	VFMIG_FW_SAVE = 1,
	VFMIG_FW_LOAD = 2,
	VFMIG_FW_SUSPEND = 3,
	VFMIG_FW_RESUME = 4,
	VFMIG_FW_NR_OPCODES = 5,
};

/* QUERY_STATE_SIZE modifiers */
#define VFMIG_FW_QUERY_INC	(1u << 0)	/* incremental size */
#define VFMIG_FW_QUERY_FINAL	(1u << 1)	/* size of the final image */
/* SAVE modifiers */
#define VFMIG_FW_SAVE_INC	(1u << 0)	/* only pages dirtied since last */
#define VFMIG_FW_SAVE_TRACK	(1u << 1)	/* keep dirty tracking on */
#define VFMIG_FW_SAVE_FINAL	(1u << 2)	/* the migration's last image */
/* SUSPEND/RESUME modifiers, as mlx5's op_mod */
#define VFMIG_FW_OPMOD_INITIATOR	0	/* stop/start initiating work */
#define VFMIG_FW_OPMOD_RESPONDER	1	/* stop/start responding */

/* Firmware completion status (mlx5-like). */
enum vfmig_fw_status {
	VFMIG_FW_STATUS_OK = 0x0,
	VFMIG_FW_STATUS_INTERNAL_ERR = 0x1,
	VFMIG_FW_STATUS_BAD_OPCODE = 0x2,
	VFMIG_FW_STATUS_BAD_PARAM = 0x3,
	VFMIG_FW_STATUS_BAD_SYS_STATE = 0x4,
	VFMIG_FW_STATUS_BAD_RESOURCE = 0x5,
	VFMIG_FW_STATUS_RESOURCE_BUSY = 0x6,
	/* the resource is in a state that forbids the command: PRE_COPY fallback */
	VFMIG_FW_STATUS_BAD_RES_STATE = 0x9,
	VFMIG_FW_STATUS_ABORTED = 0xff,	/* cancelled by the driver */
};

/* Where an error happened (vfmig_error event). */
enum vfmig_err_site {
	VFMIG_ERR_SET_STATE = 0,
	VFMIG_ERR_SAVE = 1,		/* firmware SAVE failed */
	VFMIG_ERR_SAVE_READ = 2,
	VFMIG_ERR_PRECOPY_INFO = 3,
	VFMIG_ERR_RESUME_WRITE = 4,
	VFMIG_ERR_LOAD = 5,
	VFMIG_ERR_PRECOPY_FALLBACK = 6,	/* switched to full STOP_COPY image */
	VFMIG_ERR_CHECKSUM = 7,		/* a chunk failed or lacked its CRC */
};

/* Why the state moved outside an FSM arc (vfmig_state_change event). */
enum vfmig_state_cause {
	VFMIG_CAUSE_OPEN = 0,		/* device opened: RUNNING */
	VFMIG_CAUSE_CLOSE = 1,		/* device closed: RUNNING */
	VFMIG_CAUSE_RESET = 2,		/* VFIO_DEVICE_RESET: RUNNING */
	VFMIG_CAUSE_ERROR = 3,		/* an arc failed: ERROR */
};

/* Device lifecycle (vfmig_device event). */
enum vfmig_dev_event {
	VFMIG_DEV_CREATE = 0,
	VFMIG_DEV_REMOVE = 1,
	VFMIG_DEV_OPEN = 2,
	VFMIG_DEV_CLOSE = 3,
	VFMIG_DEV_RESET = 4,
};

/* Migration data file kinds (vfmig_file event). */
enum vfmig_file_kind {
	VFMIG_FILE_SAVE = 0,
	VFMIG_FILE_RESUME = 1,
};

/* ---------------------------------------------------------------------- */
/* Emulated device control interface                                       */
/* ---------------------------------------------------------------------- */

#define VFMIG_PCI_VENDOR_ID	0x1b36	/* Red Hat, Inc. (QEMU test range) */
#define VFMIG_PCI_DEVICE_ID	0x10f7	/* vfmig emulated device */

/*
 * Regions follow vfio-pci's indexes (VFIO_PCI_*_REGION_INDEX); the file
 * offset of region i is i << VFMIG_REGION_SHIFT. Userspace should still use
 * VFIO_DEVICE_GET_REGION_INFO.
 */
#define VFMIG_REGION_SHIFT	40
#define VFMIG_BAR_REGS		0	/* BAR0: registers, 4 KiB */
#define VFMIG_BAR_STATE		2	/* BAR2: device state window (mmap) */
#define VFMIG_REGS_SIZE		4096u

/* BAR0 registers; 32-bit unless the name ends in _LO/_HI pairs (64-bit). */
#define VFMIG_REG_MAGIC		0x00	/* RO "VFMG" = 0x474d4656 */
#define VFMIG_REG_VERSION	0x04	/* RO VFMIG_ABI_VERSION */
#define VFMIG_REG_STATE_SIZE	0x08	/* RO 64-bit bytes */
#define VFMIG_REG_GENERATION	0x10	/* RO 64-bit, bumps on every change */
#define VFMIG_REG_DIGEST	0x18	/* RO crc32c of the state, on read */
#define VFMIG_REG_DIRTY_RATE	0x20	/* RW pages per second, 0 = off */
/* Largest DIRTY_RATE; larger writes clamp and the register reads it back. */
#define VFMIG_DIRTY_RATE_MAX	262144u
#define VFMIG_REG_DIRTY_PATTERN	0x24	/* RW enum vfmig_dirty_pattern */
#define VFMIG_REG_HOTSET_PAGES	0x28	/* RW size of the hot set */
#define VFMIG_REG_DIRTIED	0x30	/* RO 64-bit pages written by workload */
#define VFMIG_REGS_MAGIC_VALUE	0x474d4656u

enum vfmig_dirty_pattern {
	VFMIG_DIRTY_UNIFORM = 0,	/* uniform random pages */
	VFMIG_DIRTY_HOTSET = 1,		/* random pages within a small hot set */
};

#endif /* VFMIG_ABI_H */
