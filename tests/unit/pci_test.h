/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the PCI tests: open a vfio-pci device through a type1v2
 * container, reach its regions as a user would (offsets from
 * GET_REGION_INFO), drive SET_IRQS, and watch eventfds.  Include after
 * harness.h.
 */
#ifndef UVF_TEST_PCI_H
#define UVF_TEST_PCI_H

#include <poll.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <linux/vfio.h>
#include <linux/pci_regs.h>
#include "core/host/device.h"
#include "core/pci/pci.h"

/* The uvfio-test register file (BAR0), see src/models/testdev.c. */
#define TD_MAGIC	0x00
#define TD_VERSION	0x04
#define TD_DMA_SRC	0x08
#define TD_DMA_DST	0x10
#define TD_DMA_LEN	0x18
#define TD_DOORBELL	0x1c
#define TD_STATUS	0x20
#define TD_INTR		0x24
#define TD_ERROR	0x28
#define TD_FAULT_IOVA	0x30
#define TD_COMPLETED	0x38
#define TD_SCRATCH	0x3c
#define TD_STATUS_BUSY	1u
#define TD_STATUS_DONE	2u
#define TD_STATUS_ERROR	4u
#define TD_ERR_DMA_READ	1u
#define TD_ERR_DMA_WRITE 2u
#define TD_ERR_BUS_MASTER 3u
#define TD_ERR_LENGTH	4u

struct pci_open {
	int cfd, gfd, dfd;
};

static inline struct pci_dev *test_pdev(struct uvf_host *h, const char *bdf)
{
	struct uvf_device *dev = device_find(h, "pci", bdf);

	assert_non_null(dev);
	return to_pci_dev(dev);
}

/* Container + group (+ type1v2) + device fd; asserts every step. */
static inline struct pci_open pci_open_device(struct uvf_proc *p, unsigned int group,
					      const char *bdf)
{
	struct pci_open o;
	char path[32];

	o.cfd = proc_open(p, "/dev/vfio/vfio", O_RDWR);
	assert_true(o.cfd >= 0);
	snprintf(path, sizeof(path), "/dev/vfio/%u", group);
	o.gfd = proc_open(p, path, O_RDWR);
	assert_true(o.gfd >= 0);
	assert_errno(proc_ioctl(p, o.gfd, VFIO_GROUP_SET_CONTAINER, &o.cfd), 0);
	assert_errno(proc_ioctl_val(p, o.cfd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	o.dfd = (int)proc_ioctl(p, o.gfd, VFIO_GROUP_GET_DEVICE_FD, bdf);
	assert_true(o.dfd >= 0);
	return o;
}

/*
 * The usual fixture: the default host, a root process, and the test
 * device at 0000:00:03.0 (group 3) opened through container and group.
 */
struct pci_fixture {
	struct uvf_host *h;
	struct uvf_proc *p;
	struct pci_open o;
	struct pci_dev *pdev;
};

static inline int pci_fixture_setup(void **state)
{
	struct pci_fixture *f = calloc(1, sizeof(*f));

	f->h = test_host_default();
	f->p = proc_new_root(f->h);
	f->o = pci_open_device(f->p, 3, "0000:00:03.0");
	f->pdev = test_pdev(f->h, "0000:00:03.0");
	*state = f;
	return 0;
}

static inline int pci_fixture_teardown(void **state)
{
	struct pci_fixture *f = *state;

	proc_free(f->p);
	host_free(f->h);
	free(f);
	return 0;
}

static inline void pci_close_device(struct uvf_proc *p, struct pci_open *o)
{
	proc_close(p, o->dfd);
	proc_close(p, o->gfd);
	proc_close(p, o->cfd);
}

static inline struct vfio_region_info region_info(struct uvf_proc *p, int dfd,
						  unsigned int index)
{
	struct vfio_region_info info = { .argsz = sizeof(info), .index = index };

	assert_errno(proc_ioctl(p, dfd, VFIO_DEVICE_GET_REGION_INFO, &info), 0);
	return info;
}

static inline uint64_t region_offset(struct uvf_proc *p, int dfd, unsigned int index)
{
	return region_info(p, dfd, index).offset;
}

static inline uint32_t cfg_read(struct uvf_proc *p, int dfd, unsigned int off, unsigned int len)
{
	uint32_t v = 0;

	assert_int_equal(proc_pread(p, dfd, &v, len,
				    region_offset(p, dfd, VFIO_PCI_CONFIG_REGION_INDEX) + off), len);
	return v;
}

static inline void cfg_write(struct uvf_proc *p, int dfd, unsigned int off, unsigned int len,
			     uint32_t v)
{
	assert_int_equal(proc_pwrite(p, dfd, &v, len,
				     region_offset(p, dfd, VFIO_PCI_CONFIG_REGION_INDEX) + off), len);
}

static inline uint32_t bar_read32(struct uvf_proc *p, int dfd, unsigned int bar, uint64_t off)
{
	uint32_t v = 0;

	assert_errno(proc_pread(p, dfd, &v, 4, region_offset(p, dfd, bar) + off), 4);
	return v;
}

static inline uint64_t bar_read64(struct uvf_proc *p, int dfd, unsigned int bar, uint64_t off)
{
	uint64_t v = 0;

	assert_errno(proc_pread(p, dfd, &v, 8, region_offset(p, dfd, bar) + off), 8);
	return v;
}

static inline void bar_write32(struct uvf_proc *p, int dfd, unsigned int bar, uint64_t off,
			       uint32_t v)
{
	assert_errno(proc_pwrite(p, dfd, &v, 4, region_offset(p, dfd, bar) + off), 4);
}

static inline void bar_write64(struct uvf_proc *p, int dfd, unsigned int bar, uint64_t off,
			       uint64_t v)
{
	assert_errno(proc_pwrite(p, dfd, &v, 8, region_offset(p, dfd, bar) + off), 8);
}

/* COMMAND |= bits through the user's config view. */
static inline void cfg_set_command(struct uvf_proc *p, int dfd, uint16_t bits)
{
	cfg_write(p, dfd, PCI_COMMAND, 2, cfg_read(p, dfd, PCI_COMMAND, 2) | bits);
}

/* VFIO_DEVICE_SET_IRQS with 'count' elements of 'elem' bytes at 'data'. */
static inline long set_irqs(struct uvf_proc *p, int dfd, uint32_t flags, uint32_t index,
			    uint32_t start, uint32_t count, const void *data, size_t datalen)
{
	uint8_t buf[sizeof(struct vfio_irq_set) + 1024];
	struct vfio_irq_set *s = (struct vfio_irq_set *)buf;

	assert_true(datalen <= 1024);
	s->argsz = (uint32_t)(sizeof(*s) + datalen);
	s->flags = flags;
	s->index = index;
	s->start = start;
	s->count = count;
	if (datalen)
		memcpy(s->data, data, datalen);
	return proc_ioctl(p, dfd, VFIO_DEVICE_SET_IRQS, s);
}

static inline long set_eventfds(struct uvf_proc *p, int dfd, uint32_t index, uint32_t start,
				uint32_t count, const int32_t *fds)
{
	return set_irqs(p, dfd, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index,
			start, count, fds, count * sizeof(int32_t));
}

static inline int efd_new(void)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

/* The eventfd's counter, consumed (0 if not signalled). */
static inline uint64_t efd_take(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

/* Wait up to ms for a signal; returns the consumed counter (0: timeout). */
static inline uint64_t efd_wait(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (poll(&pfd, 1, ms) != 1)
		return 0;
	return efd_take(fd);
}

/* Poll a BAR0 register until (value & mask) != 0, up to ~2 s. */
static inline uint32_t td_wait_status(struct uvf_proc *p, int dfd, uint32_t mask)
{
	uint32_t v = 0;

	for (int i = 0; i < 2000; i++) {
		v = bar_read32(p, dfd, 0, TD_STATUS);
		if (v & mask)
			return v;
		usleep(1000);
	}
	return v;
}

#endif
