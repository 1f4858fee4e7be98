// SPDX-License-Identifier: MIT
/*
 * vfio-pci interrupts: GET_IRQ_INFO, the SET_IRQS validation rules, INTx
 * with automasking and unmask (ioctl, eventfd, virtual DisINTx), MSI and
 * MSI-X eventfds with loopback triggers, de-assign and disable, MSI-X
 * pending bits while a vector is masked, and the ERR and REQ eventfds.
 * Interrupts are raised from the model side with pci_irq_raise(), as the
 * device would.
 */
#include "harness.h"
#include "pci_test.h"
#include <pthread.h>
#include "core/pci/vfio_pci.h"

#define BDF "0000:00:03.0"
#define TRIGGER VFIO_IRQ_SET_ACTION_TRIGGER
#define NONE VFIO_IRQ_SET_DATA_NONE
#define BOOL VFIO_IRQ_SET_DATA_BOOL
#define EVENTFD VFIO_IRQ_SET_DATA_EVENTFD

struct fixture {
	struct uvf_host *h;
	struct uvf_proc *p;
	struct pci_open o;
	struct pci_dev *pdev;
	int efd[4];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->h = test_host_default();
	f->p = proc_new_root(f->h);
	f->o = pci_open_device(f->p, 3, BDF);
	f->pdev = test_pdev(f->h, BDF);
	for (int i = 0; i < 4; i++)
		f->efd[i] = efd_new();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	proc_free(f->p);
	host_free(f->h);
	for (int i = 0; i < 4; i++)
		close(f->efd[i]);
	free(f);
	return 0;
}

static long irqs(struct fixture *f, uint32_t flags, uint32_t index, uint32_t start,
		 uint32_t count, const void *data, size_t len)
{
	return set_irqs(f->p, f->o.dfd, flags, index, start, count, data, len);
}

/* ---- GET_IRQ_INFO ------------------------------------------------------------ */

static void test_irq_info(void **state)
{
	struct fixture *f = *state;
	static const struct { uint32_t flags, count; } want[VFIO_PCI_NUM_IRQS] = {
		[VFIO_PCI_INTX_IRQ_INDEX] = { VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE |
					      VFIO_IRQ_INFO_AUTOMASKED, 1 },
		[VFIO_PCI_MSI_IRQ_INDEX] = { VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE, 2 },
		[VFIO_PCI_MSIX_IRQ_INDEX] = { VFIO_IRQ_INFO_EVENTFD, 4 },
		[VFIO_PCI_ERR_IRQ_INDEX] = { VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE, 1 },
		[VFIO_PCI_REQ_IRQ_INDEX] = { VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE, 1 },
	};
	struct vfio_irq_info info;

	for (uint32_t i = 0; i < VFIO_PCI_NUM_IRQS; i++) {
		info = (struct vfio_irq_info){ .argsz = sizeof(info), .index = i };
		assert_errno(proc_ioctl(f->p, f->o.dfd, VFIO_DEVICE_GET_IRQ_INFO, &info), 0);
		assert_int_equal(info.flags, want[i].flags);
		assert_int_equal(info.count, want[i].count);
	}
	info = (struct vfio_irq_info){ .argsz = sizeof(info), .index = VFIO_PCI_NUM_IRQS };
	assert_errno(proc_ioctl(f->p, f->o.dfd, VFIO_DEVICE_GET_IRQ_INFO, &info), -EINVAL);
	info = (struct vfio_irq_info){ .argsz = sizeof(info) - 1, .index = 0 };
	assert_errno(proc_ioctl(f->p, f->o.dfd, VFIO_DEVICE_GET_IRQ_INFO, &info), -EINVAL);
}

/* The msix_vectors parameter sizes the MSI-X table and the count. */
static void test_irq_info_msix_param(void **state)
{
	struct uvf_host *h = test_host_from_json(
		"{\"pci\":[{\"bdf\":\"0000:00:09.0\",\"model\":\"uvfio-test\",\"iommu_group\":9,"
		"\"params\":{\"msix_vectors\":128}}]}");
	struct uvf_proc *p = proc_new_root(h);
	struct pci_open o = pci_open_device(p, 9, "0000:00:09.0");
	struct vfio_irq_info info = { .argsz = sizeof(info), .index = VFIO_PCI_MSIX_IRQ_INDEX };

	assert_errno(proc_ioctl(p, o.dfd, VFIO_DEVICE_GET_IRQ_INFO, &info), 0);
	assert_int_equal(info.count, 128);
	proc_free(p);
	host_free(h);
	(void)state;
}

/* ---- SET_IRQS validation -------------------------------------------------------- */

static void test_set_irqs_validation(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[sizeof(struct vfio_irq_set) + 16];
	struct vfio_irq_set *s = (struct vfio_irq_set *)buf;
	int32_t fds[4] = { f->efd[0], f->efd[1], f->efd[2], f->efd[3] };

	/* argsz below the header */
	memset(buf, 0, sizeof(buf));
	s->argsz = sizeof(*s) - 1;
	s->flags = NONE | TRIGGER;
	s->index = VFIO_PCI_REQ_IRQ_INDEX;
	s->count = 1;
	assert_errno(proc_ioctl(f->p, f->o.dfd, VFIO_DEVICE_SET_IRQS, s), -EINVAL);
	/* index out of range */
	assert_errno(irqs(f, NONE | TRIGGER, VFIO_PCI_NUM_IRQS, 0, 1, NULL, 0), -EINVAL);
	/* count so large start + count wraps */
	assert_errno(irqs(f, NONE | TRIGGER, VFIO_PCI_MSIX_IRQ_INDEX, 1, UINT32_MAX - 1, NULL, 0),
		     -EINVAL);
	/* unknown flag bits */
	assert_errno(irqs(f, NONE | TRIGGER | (1u << 6), VFIO_PCI_REQ_IRQ_INDEX, 0, 1, NULL, 0),
		     -EINVAL);
	/* start beyond the vectors, start + count beyond them */
	assert_errno(irqs(f, NONE | TRIGGER, VFIO_PCI_INTX_IRQ_INDEX, 1, 0, NULL, 0), -EINVAL);
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_MSIX_IRQ_INDEX, 3, 2, fds), -EINVAL);
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_MSI_IRQ_INDEX, 0, 3, fds), -EINVAL);
	/* the data type must be exactly one */
	assert_errno(irqs(f, NONE | BOOL | TRIGGER, VFIO_PCI_REQ_IRQ_INDEX, 0, 1, "\1", 1),
		     -EINVAL);
	assert_errno(irqs(f, TRIGGER, VFIO_PCI_REQ_IRQ_INDEX, 0, 1, NULL, 0), -EINVAL);
	/* payload shorter than count elements */
	assert_errno(irqs(f, EVENTFD | TRIGGER, VFIO_PCI_MSIX_IRQ_INDEX, 0, 2, fds, 7), -EINVAL);
	assert_errno(irqs(f, BOOL | TRIGGER, VFIO_PCI_MSIX_IRQ_INDEX, 0, 2, "\1", 1), -EINVAL);
	/* Past validation, vfio-pci refuses actions it does not have. */
	assert_errno(irqs(f, NONE, VFIO_PCI_REQ_IRQ_INDEX, 0, 1, NULL, 0), -ENOTTY);
	assert_errno(irqs(f, NONE | TRIGGER | VFIO_IRQ_SET_ACTION_MASK, VFIO_PCI_INTX_IRQ_INDEX, 0,
			  1, NULL, 0), -ENOTTY);
	assert_errno(irqs(f, NONE | VFIO_IRQ_SET_ACTION_MASK, VFIO_PCI_MSIX_IRQ_INDEX, 0, 1, NULL,
			  0), -ENOTTY);
	assert_errno(irqs(f, NONE | VFIO_IRQ_SET_ACTION_UNMASK, VFIO_PCI_MSI_IRQ_INDEX, 0, 1, NULL,
			  0), -ENOTTY);
	assert_errno(irqs(f, NONE | VFIO_IRQ_SET_ACTION_MASK, VFIO_PCI_ERR_IRQ_INDEX, 0, 1, NULL,
			  0), -ENOTTY);
	/* A bad user pointer for the payload. */
	s->argsz = sizeof(*s) + 4;
	s->flags = EVENTFD | TRIGGER;
	s->index = VFIO_PCI_REQ_IRQ_INDEX;
	s->start = 0;
	s->count = 1;
	assert_errno(proc_ioctl(f->p, f->o.dfd, VFIO_DEVICE_SET_IRQS, (void *)16), -EFAULT);
}

static void test_bad_eventfds(void **state)
{
	struct fixture *f = *state;
	int pipefd[2];
	int32_t fd;

	assert_int_equal(pipe(pipefd), 0);
	fd = pipefd[0];
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_MSIX_IRQ_INDEX, 0, 1, &fd), -EINVAL);
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, &fd), -EINVAL);
	fd = 4000;	/* not open */
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_MSI_IRQ_INDEX, 0, 1, &fd), -EBADF);
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_REQ_IRQ_INDEX, 0, 1, &fd), -EBADF);
	fd = -2;
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_REQ_IRQ_INDEX, 0, 1, &fd), -EINVAL);
	/* Nothing was left half enabled: INTx can still be chosen. */
	fd = f->efd[0];
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, &fd), 0);
	close(pipefd[0]);
	close(pipefd[1]);
}

/* ---- INTx ------------------------------------------------------------------------ */

static void intx_on(struct fixture *f)
{
	int32_t fd = f->efd[0];

	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, &fd), 0);
}

static void test_intx_automask(void **state)
{
	struct fixture *f = *state;

	intx_on(f);
	assert_int_equal(pci_irq_raise(f->pdev, 0), 0);
	assert_int_equal(efd_take(f->efd[0]), 1);
	/* Masked by the handler: the function's DisINTx, STATUS.INTERRUPT set. */
	assert_true(pci_cfg_read(f->pdev, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE);
	assert_true(pci_cfg_read(f->pdev, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	assert_true(cfg_read(f->p, f->o.dfd, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	/* The user sees its own DisINTx, clear. */
	assert_false(cfg_read(f->p, f->o.dfd, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE);
	pci_irq_raise(f->pdev, 0);
	assert_int_equal(efd_take(f->efd[0]), 0);
	/* Unmask while still asserted: signalled again, still masked. */
	assert_errno(irqs(f, NONE | VFIO_IRQ_SET_ACTION_UNMASK, VFIO_PCI_INTX_IRQ_INDEX, 0, 1,
			  NULL, 0), 0);
	assert_int_equal(efd_take(f->efd[0]), 1);
	assert_true(pci_cfg_read(f->pdev, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE);
	/* The driver acknowledged the device; unmask really unmasks. */
	pci_irq_lower(f->pdev);
	assert_errno(irqs(f, BOOL | VFIO_IRQ_SET_ACTION_UNMASK, VFIO_PCI_INTX_IRQ_INDEX, 0, 1,
			  "\1", 1), 0);
	assert_int_equal(efd_take(f->efd[0]), 0);
	assert_false(pci_cfg_read(f->pdev, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE);
	pci_irq_raise(f->pdev, 0);
	assert_int_equal(efd_take(f->efd[0]), 1);
}

static void test_intx_mask_and_loopback(void **state)
{
	struct fixture *f = *state;

	intx_on(f);
	/* Loopback: NONE and BOOL fire the eventfd; BOOL 0 does not. */
	assert_errno(irqs(f, NONE | TRIGGER, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, NULL, 0), 0);
	assert_int_equal(efd_take(f->efd[0]), 1);
	assert_errno(irqs(f, BOOL | TRIGGER, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, "\0", 1), 0);
	assert_int_equal(efd_take(f->efd[0]), 0);
	assert_errno(irqs(f, BOOL | TRIGGER, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, "\1", 1), 0);
	assert_int_equal(efd_take(f->efd[0]), 1);
	/* MASK holds an interrupt back until UNMASK. */
	assert_errno(irqs(f, NONE | VFIO_IRQ_SET_ACTION_MASK, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, NULL,
			  0), 0);
	pci_irq_raise(f->pdev, 0);
	assert_int_equal(efd_take(f->efd[0]), 0);
	assert_errno(irqs(f, NONE | VFIO_IRQ_SET_ACTION_UNMASK, VFIO_PCI_INTX_IRQ_INDEX, 0, 1,
			  NULL, 0), 0);
	assert_int_equal(efd_take(f->efd[0]), 1);
	/* Masking with an eventfd is not implemented (the kernel's answer). */
	int32_t fd = f->efd[1];

	assert_errno(irqs(f, EVENTFD | VFIO_IRQ_SET_ACTION_MASK, VFIO_PCI_INTX_IRQ_INDEX, 0, 1,
			  &fd, 4), -ENOTTY);
	/* MASK/UNMASK need INTx enabled and exactly vector 0. */
	assert_errno(irqs(f, NONE | VFIO_IRQ_SET_ACTION_MASK, VFIO_PCI_INTX_IRQ_INDEX, 0, 0, NULL,
			  0), -EINVAL);
}

static void test_intx_virtual_disable(void **state)
{
	struct fixture *f = *state;

	intx_on(f);
	cfg_set_command(f->p, f->o.dfd, PCI_COMMAND_INTX_DISABLE);
	pci_irq_raise(f->pdev, 0);
	assert_int_equal(efd_take(f->efd[0]), 0);
	/* Loopback respects the user's DisINTx too. */
	assert_errno(irqs(f, NONE | TRIGGER, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, NULL, 0), 0);
	assert_int_equal(efd_take(f->efd[0]), 0);
	cfg_write(f->p, f->o.dfd, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(efd_take(f->efd[0]), 1);
}

static void test_intx_unmask_eventfd(void **state)
{
	struct fixture *f = *state;
	int32_t unmask = f->efd[1];
	uint64_t one = 1;

	intx_on(f);
	assert_errno(irqs(f, EVENTFD | VFIO_IRQ_SET_ACTION_UNMASK, VFIO_PCI_INTX_IRQ_INDEX, 0, 1,
			  &unmask, 4), 0);
	pci_irq_raise(f->pdev, 0);
	assert_int_equal(efd_wait(f->efd[0], 1000), 1);
	pci_irq_lower(f->pdev);
	pci_irq_raise(f->pdev, 0);
	assert_int_equal(efd_take(f->efd[0]), 0);	/* still masked */
	/* Signalling the unmask eventfd unmasks: still asserted, so it fires. */
	assert_int_equal(write(unmask, &one, 8), 8);
	assert_int_equal(efd_wait(f->efd[0], 2000), 1);
	/* -1 removes the unmask eventfd. */
	unmask = -1;
	assert_errno(irqs(f, EVENTFD | VFIO_IRQ_SET_ACTION_UNMASK, VFIO_PCI_INTX_IRQ_INDEX, 0, 1,
			  &unmask, 4), 0);
	pci_irq_lower(f->pdev);
	assert_int_equal(write(f->efd[1], &one, 8), 8);
	usleep(20000);
	assert_true(pci_cfg_read(f->pdev, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE);
}

/* One unmask eventfd at a time: a second is -EBUSY, a bad one leaves the
 * registered one working, -1 frees the slot. */
static void test_intx_unmask_eventfd_busy(void **state)
{
	struct fixture *f = *state;
	int32_t fd = f->efd[1];
	uint64_t one = 1;
	int pipefd[2];

	intx_on(f);
	assert_errno(irqs(f, EVENTFD | VFIO_IRQ_SET_ACTION_UNMASK, VFIO_PCI_INTX_IRQ_INDEX, 0, 1,
			  &fd, 4), 0);
	fd = f->efd[2];
	assert_errno(irqs(f, EVENTFD | VFIO_IRQ_SET_ACTION_UNMASK, VFIO_PCI_INTX_IRQ_INDEX, 0, 1,
			  &fd, 4), -EBUSY);
	fd = 4000;
	assert_errno(irqs(f, EVENTFD | VFIO_IRQ_SET_ACTION_UNMASK, VFIO_PCI_INTX_IRQ_INDEX, 0, 1,
			  &fd, 4), -EBADF);
	assert_int_equal(pipe(pipefd), 0);
	fd = pipefd[0];
	assert_errno(irqs(f, EVENTFD | VFIO_IRQ_SET_ACTION_UNMASK, VFIO_PCI_INTX_IRQ_INDEX, 0, 1,
			  &fd, 4), -EINVAL);
	close(pipefd[0]);
	close(pipefd[1]);
	/* The first one still unmasks. */
	pci_irq_raise(f->pdev, 0);
	assert_int_equal(efd_take(f->efd[0]), 1);
	assert_int_equal(write(f->efd[1], &one, 8), 8);
	assert_int_equal(efd_wait(f->efd[0], 2000), 1);
	/* The other eventfd was never registered. */
	pci_irq_lower(f->pdev);
	assert_int_equal(write(f->efd[2], &one, 8), 8);
	usleep(20000);
	assert_int_equal(efd_take(f->efd[0]), 0);
	assert_true(pci_cfg_read(f->pdev, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE);
	/* Freed with -1, the slot takes a new one. */
	fd = -1;
	assert_errno(irqs(f, EVENTFD | VFIO_IRQ_SET_ACTION_UNMASK, VFIO_PCI_INTX_IRQ_INDEX, 0, 1,
			  &fd, 4), 0);
	fd = f->efd[2];
	assert_errno(irqs(f, EVENTFD | VFIO_IRQ_SET_ACTION_UNMASK, VFIO_PCI_INTX_IRQ_INDEX, 0, 1,
			  &fd, 4), 0);
	usleep(20000);		/* the count left in efd[2] unmasks at once */
	assert_false(pci_cfg_read(f->pdev, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE);
}

static void test_intx_trigger_changes(void **state)
{
	struct fixture *f = *state;
	int32_t fd = f->efd[1];

	intx_on(f);
	/* A new eventfd replaces the old one. */
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, &fd), 0);
	pci_irq_raise(f->pdev, 0);
	assert_int_equal(efd_take(f->efd[0]), 0);
	assert_int_equal(efd_take(f->efd[1]), 1);
	/* -1 leaves INTx on with no eventfd: MSI cannot be enabled meanwhile. */
	fd = -1;
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, &fd), 0);
	fd = f->efd[2];
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_MSI_IRQ_INDEX, 0, 1, &fd), -EINVAL);
	/* count 0 with DATA_NONE disables INTx; then MSI can be chosen. */
	assert_errno(irqs(f, NONE | TRIGGER, VFIO_PCI_INTX_IRQ_INDEX, 0, 0, NULL, 0), 0);
	assert_errno(irqs(f, NONE | TRIGGER, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, NULL, 0), -EINVAL);
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_MSI_IRQ_INDEX, 0, 1, &fd), 0);
	assert_errno(irqs(f, NONE | TRIGGER, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, NULL, 0), -EINVAL);
}

/* A level asserted before INTx is set up fires once the handler is in. */
static void test_intx_pending_at_enable(void **state)
{
	struct fixture *f = *state;

	pci_irq_raise(f->pdev, 0);
	intx_on(f);
	assert_int_equal(efd_take(f->efd[0]), 1);
}

/* ---- MSI ------------------------------------------------------------------------ */

static void test_msi(void **state)
{
	struct fixture *f = *state;
	int32_t fds[2] = { f->efd[0], f->efd[1] };
	unsigned int msi = pci_find_capability(f->pdev, PCI_CAP_ID_MSI);
	unsigned int mask = msi + PCI_MSI_MASK_64;

	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_MSI_IRQ_INDEX, 0, 2, fds), 0);
	assert_int_equal(pci_cfg_read(f->pdev, mask, 4), 0);
	pci_irq_raise(f->pdev, 1);
	assert_int_equal(efd_take(f->efd[1]), 1);
	assert_int_equal(efd_take(f->efd[0]), 0);
	pci_irq_raise(f->pdev, 0);
	assert_int_equal(efd_take(f->efd[0]), 1);
	assert_int_equal(pci_irq_raise(f->pdev, 2), -EINVAL);
	/* MSI never asserts INTx. */
	assert_false(pci_cfg_read(f->pdev, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	/* Loopback: NONE fires every assigned vector, BOOL the chosen ones. */
	assert_errno(irqs(f, NONE | TRIGGER, VFIO_PCI_MSI_IRQ_INDEX, 0, 2, NULL, 0), 0);
	assert_int_equal(efd_take(f->efd[0]), 1);
	assert_int_equal(efd_take(f->efd[1]), 1);
	assert_errno(irqs(f, BOOL | TRIGGER, VFIO_PCI_MSI_IRQ_INDEX, 0, 2, "\0\1", 2), 0);
	assert_int_equal(efd_take(f->efd[0]), 0);
	assert_int_equal(efd_take(f->efd[1]), 1);
	/* De-assign vector 1: masked, a raise stays pending... */
	fds[0] = -1;
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_MSI_IRQ_INDEX, 1, 1, fds), 0);
	assert_int_equal(pci_cfg_read(f->pdev, mask, 4), 2);
	pci_irq_raise(f->pdev, 1);
	assert_int_equal(efd_take(f->efd[1]), 0);
	assert_int_equal(pci_cfg_read(f->pdev, mask + 4, 4), 2);
	/* ...and is delivered to the next eventfd of that vector. */
	fds[0] = f->efd[2];
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_MSI_IRQ_INDEX, 1, 1, fds), 0);
	assert_int_equal(efd_take(f->efd[2]), 1);
	assert_int_equal(pci_cfg_read(f->pdev, mask + 4, 4), 0);
	/* The user's mask bits reach the function (they are not virtual). */
	cfg_write(f->p, f->o.dfd, mask, 4, 1);
	pci_irq_raise(f->pdev, 0);
	assert_int_equal(efd_take(f->efd[0]), 0);
	assert_int_equal(cfg_read(f->p, f->o.dfd, mask + 4, 4), 1);
	cfg_write(f->p, f->o.dfd, mask, 4, 0);
	assert_int_equal(efd_take(f->efd[0]), 1);
	/* count 0 disables. */
	assert_errno(irqs(f, NONE | TRIGGER, VFIO_PCI_MSI_IRQ_INDEX, 0, 0, NULL, 0), 0);
	assert_int_equal(pci_cfg_read(f->pdev, msi + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_ENABLE, 0);
	assert_errno(irqs(f, NONE | TRIGGER, VFIO_PCI_MSI_IRQ_INDEX, 0, 1, NULL, 0), -EINVAL);
}

/* MSI has the vectors it was enabled with (not the power of two the
 * function grants): an eventfd for another is -EINVAL, before the fd is
 * even looked at. */
static void test_msi_vector_beyond_enabled(void **state)
{
	struct fixture *f = *state;
	int32_t fd = f->efd[0];

	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_MSI_IRQ_INDEX, 0, 1, &fd), 0);
	fd = f->efd[1];
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_MSI_IRQ_INDEX, 1, 1, &fd), -EINVAL);
	fd = 4000;
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_MSI_IRQ_INDEX, 1, 1, &fd), -EINVAL);
	/* De-assigning it is nothing to do. */
	fd = -1;
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_MSI_IRQ_INDEX, 1, 1, &fd), 0);
	/* Vector 0 still works; re-enabled with two, vector 1 is there. */
	pci_irq_raise(f->pdev, 0);
	assert_int_equal(efd_take(f->efd[0]), 1);
	assert_errno(irqs(f, NONE | TRIGGER, VFIO_PCI_MSI_IRQ_INDEX, 0, 0, NULL, 0), 0);
	fd = f->efd[1];
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_MSI_IRQ_INDEX, 1, 1, &fd), 0);
	pci_irq_raise(f->pdev, 1);
	assert_int_equal(efd_take(f->efd[1]), 1);
}

/* Enabling with no vector asks the host for 1..0 vectors: -ERANGE.  Out
 * of D0 the host refuses with -EINVAL (for MSI-X after the range). */
static void test_msi_enable_host_refusals(void **state)
{
	struct fixture *f = *state;
	unsigned int pm = pci_find_capability(f->pdev, PCI_CAP_ID_PM);
	int32_t fd = f->efd[0];

	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_MSI_IRQ_INDEX, 0, 0, NULL), -ERANGE);
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_MSIX_IRQ_INDEX, 0, 0, NULL), -ERANGE);
	cfg_write(f->p, f->o.dfd, pm + PCI_PM_CTRL, 2, PCI_D3hot);
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_MSI_IRQ_INDEX, 0, 0, NULL), -EINVAL);
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_MSIX_IRQ_INDEX, 0, 0, NULL), -ERANGE);
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_MSIX_IRQ_INDEX, 0, 1, &fd), -EINVAL);
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_MSI_IRQ_INDEX, 0, 1, &fd), -EINVAL);
	cfg_write(f->p, f->o.dfd, pm + PCI_PM_CTRL, 2, PCI_D0);
	/* Nothing was left enabled; once enabled, count 0 is a no-op. */
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_MSIX_IRQ_INDEX, 0, 1, &fd), 0);
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_MSIX_IRQ_INDEX, 0, 0, NULL), 0);
	pci_irq_raise(f->pdev, 0);
	assert_int_equal(efd_take(f->efd[0]), 1);
}

/* One vector granted: both device events alias onto it. */
static void test_msi_single_vector(void **state)
{
	struct fixture *f = *state;
	int32_t fd = f->efd[0];

	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_MSI_IRQ_INDEX, 0, 1, &fd), 0);
	pci_irq_raise(f->pdev, 1);
	assert_int_equal(efd_take(f->efd[0]), 1);
}

/* ---- MSI-X ---------------------------------------------------------------------- */

static uint64_t pba(struct fixture *f)
{
	return bar_read64(f->p, f->o.dfd, 2, 0x800);
}

static void test_msix(void **state)
{
	struct fixture *f = *state;
	int32_t fds[2] = { f->efd[0], f->efd[1] };
	unsigned int msix = pci_find_capability(f->pdev, PCI_CAP_ID_MSIX);

	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_MSIX_IRQ_INDEX, 0, 2, fds), 0);
	pci_irq_raise(f->pdev, 0);
	pci_irq_raise(f->pdev, 1);
	assert_int_equal(efd_take(f->efd[0]), 1);
	assert_int_equal(efd_take(f->efd[1]), 1);
	assert_int_equal(pci_irq_raise(f->pdev, 4), -EINVAL);
	/* A vector without an eventfd is masked: the PBA holds its raise. */
	pci_irq_raise(f->pdev, 2);
	assert_int_equal(pba(f), 1u << 2);
	/* Dynamic MSI-X: vector 2 joins while enabled, its message arrives. */
	fds[0] = f->efd[2];
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_MSIX_IRQ_INDEX, 2, 1, fds), 0);
	assert_int_equal(efd_take(f->efd[2]), 1);
	assert_int_equal(pba(f), 0);
	/* The function mask holds every vector back. */
	pci_cfg_write(f->pdev, msix + PCI_MSIX_FLAGS, 2,
		      PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	pci_irq_raise(f->pdev, 1);
	assert_int_equal(efd_take(f->efd[1]), 0);
	assert_int_equal(pba(f), 1u << 1);
	pci_cfg_write(f->pdev, msix + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(efd_take(f->efd[1]), 1);
	assert_int_equal(pba(f), 0);
	/* Loopback. */
	assert_errno(irqs(f, NONE | TRIGGER, VFIO_PCI_MSIX_IRQ_INDEX, 0, 3, NULL, 0), 0);
	assert_int_equal(efd_take(f->efd[0]), 1);
	assert_int_equal(efd_take(f->efd[1]), 1);
	assert_int_equal(efd_take(f->efd[2]), 1);
	assert_errno(irqs(f, BOOL | TRIGGER, VFIO_PCI_MSIX_IRQ_INDEX, 1, 2, "\1\0", 2), 0);
	assert_int_equal(efd_take(f->efd[1]), 1);
	assert_int_equal(efd_take(f->efd[2]), 0);
	/* count 0 disables: the function leaves MSI-X mode. */
	assert_errno(irqs(f, NONE | TRIGGER, VFIO_PCI_MSIX_IRQ_INDEX, 0, 0, NULL, 0), 0);
	assert_int_equal(pci_cfg_read(f->pdev, msix + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_ENABLE,
			 0);
	assert_true(pci_msix_vector_masked(f->pdev, 0));
}

static void test_msix_masked_vector_pba(void **state)
{
	struct fixture *f = *state;
	int32_t fd = f->efd[0];

	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_MSIX_IRQ_INDEX, 0, 1, &fd), 0);
	/* De-assign: the vector is masked again. */
	fd = -1;
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_MSIX_IRQ_INDEX, 0, 1, &fd), 0);
	assert_true(pci_msix_vector_masked(f->pdev, 0));
	pci_irq_raise(f->pdev, 0);
	assert_int_equal(efd_take(f->efd[0]), 0);
	assert_true(pci_msix_pending(f->pdev, 0));
	assert_int_equal(pba(f), 1);
	/* A new eventfd unmasks it and the pending message fires at once. */
	fd = f->efd[1];
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_MSIX_IRQ_INDEX, 0, 1, &fd), 0);
	assert_int_equal(efd_take(f->efd[1]), 1);
	assert_int_equal(efd_take(f->efd[0]), 0);
	assert_false(pci_msix_pending(f->pdev, 0));
	assert_int_equal(pba(f), 0);
	/* The masks as the hardware sees them: a table write by the host. */
	uint32_t ctrl = PCI_MSIX_ENTRY_CTRL_MASKBIT;

	assert_true(pci_msix_bar_write(f->pdev, 2, PCI_MSIX_ENTRY_VECTOR_CTRL, &ctrl, 4));
	pci_irq_raise(f->pdev, 0);
	assert_int_equal(efd_take(f->efd[1]), 0);
	ctrl = 0;
	assert_true(pci_msix_bar_write(f->pdev, 2, PCI_MSIX_ENTRY_VECTOR_CTRL, &ctrl, 4));
	assert_int_equal(efd_take(f->efd[1]), 1);
}

/* A failing eventfd in a block unwinds the block and, on first enable,
 * leaves MSI-X off. */
static void test_msix_block_unwind(void **state)
{
	struct fixture *f = *state;
	int32_t fds[3] = { f->efd[0], 4000, f->efd[2] };
	unsigned int msix = pci_find_capability(f->pdev, PCI_CAP_ID_MSIX);

	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_MSIX_IRQ_INDEX, 0, 3, fds), -EBADF);
	assert_int_equal(pci_cfg_read(f->pdev, msix + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_ENABLE,
			 0);
	fds[1] = f->efd[1];
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_MSIX_IRQ_INDEX, 0, 3, fds), 0);
	fds[0] = f->efd[3];
	fds[1] = 4000;
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_MSIX_IRQ_INDEX, 0, 2, fds), -EBADF);
	/* Still enabled; the unwound vectors are masked. */
	assert_true(pci_cfg_read(f->pdev, msix + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_ENABLE);
	assert_true(pci_msix_vector_masked(f->pdev, 0));
	pci_irq_raise(f->pdev, 2);
	assert_int_equal(efd_take(f->efd[2]), 1);
}

/* ---- ERR and REQ ------------------------------------------------------------------ */

static void test_err_irq(void **state)
{
	struct fixture *f = *state;
	unsigned int aer = pci_find_ext_capability(f->pdev, PCI_EXT_CAP_ID_ERR);
	int32_t fd = f->efd[0];

	/* Nothing to loop back yet. */
	assert_errno(irqs(f, NONE | TRIGGER, VFIO_PCI_ERR_IRQ_INDEX, 0, 1, NULL, 0), -EINVAL);
	assert_errno(irqs(f, EVENTFD | TRIGGER, VFIO_PCI_ERR_IRQ_INDEX, 0, 0, &fd, 0), -EINVAL);
	assert_errno(irqs(f, BOOL | TRIGGER, VFIO_PCI_ERR_IRQ_INDEX, 0, 0, NULL, 0), -EINVAL);
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_ERR_IRQ_INDEX, 0, 1, &fd), 0);
	assert_errno(irqs(f, NONE | TRIGGER, VFIO_PCI_ERR_IRQ_INDEX, 0, 1, NULL, 0), 0);
	assert_int_equal(efd_take(f->efd[0]), 1);
	assert_errno(irqs(f, BOOL | TRIGGER, VFIO_PCI_ERR_IRQ_INDEX, 0, 1, "\1", 1), 0);
	assert_int_equal(efd_take(f->efd[0]), 1);
	/* A device error reaches the eventfd and shows in AER status. */
	pci_report_error(f->pdev, PCI_ERR_UNC_COMP_ABORT, false);
	assert_int_equal(efd_take(f->efd[0]), 1);
	assert_int_equal(cfg_read(f->p, f->o.dfd, aer + PCI_ERR_UNCOR_STATUS, 4),
			 PCI_ERR_UNC_COMP_ABORT);
	/* NONE with count 0 de-assigns. */
	assert_errno(irqs(f, NONE | TRIGGER, VFIO_PCI_ERR_IRQ_INDEX, 0, 0, NULL, 0), 0);
	pci_report_error(f->pdev, PCI_ERR_UNC_COMP_ABORT, false);
	assert_int_equal(efd_take(f->efd[0]), 0);
	assert_errno(irqs(f, NONE | TRIGGER, VFIO_PCI_ERR_IRQ_INDEX, 0, 1, NULL, 0), -EINVAL);
	/* -1 de-assigns too. */
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_ERR_IRQ_INDEX, 0, 1, &fd), 0);
	fd = -1;
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_ERR_IRQ_INDEX, 0, 1, &fd), 0);
	pci_report_error(f->pdev, 0, true);
	assert_int_equal(efd_take(f->efd[0]), 0);
}

static void test_req_irq(void **state)
{
	struct fixture *f = *state;
	struct vfio_pci_device *v = f->pdev->dev.driver_data;
	int32_t fd = f->efd[1];

	assert_non_null(v);
	v->vdev.ops->request(&v->vdev, 0);	/* nobody listening: nothing happens */
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_REQ_IRQ_INDEX, 0, 1, &fd), 0);
	v->vdev.ops->request(&v->vdev, 1);
	assert_int_equal(efd_take(f->efd[1]), 1);
	assert_errno(irqs(f, NONE | TRIGGER, VFIO_PCI_REQ_IRQ_INDEX, 0, 1, NULL, 0), 0);
	assert_int_equal(efd_take(f->efd[1]), 1);
	assert_errno(irqs(f, NONE | TRIGGER, VFIO_PCI_REQ_IRQ_INDEX, 0, 0, NULL, 0), 0);
	v->vdev.ops->request(&v->vdev, 2);
	assert_int_equal(efd_take(f->efd[1]), 0);
}

/* Unregistering a device in use asks the user (REQ) until it lets go. */
struct unbind_arg {
	struct uvf_device *dev;
};

static void *unbind_thread(void *arg)
{
	device_unbind_driver(((struct unbind_arg *)arg)->dev);
	return NULL;
}

static void test_req_on_unbind(void **state)
{
	struct fixture *f = *state;
	struct unbind_arg a = { &f->pdev->dev };
	int32_t fd = f->efd[1];
	pthread_t t;

	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_REQ_IRQ_INDEX, 0, 1, &fd), 0);
	assert_int_equal(pthread_create(&t, NULL, unbind_thread, &a), 0);
	assert_true(efd_wait(f->efd[1], 5000) >= 1);
	pci_close_device(f->p, &f->o);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_null(f->pdev->dev.driver);
	assert_null(f->pdev->dev.driver_data);
}

/* ---- a reset drops what the model raises meanwhile ------------------------------ */

static unsigned int raising_resets;

static int raising_init(struct pci_dev *pdev, struct json_object *params,
			struct pci_model_desc *d, char *err, size_t errlen)
{
	d->vendor = 0x7576;
	d->device = 0x00fe;
	d->interrupt_pin = 1;
	d->pcie = true;
	d->flr = true;
	return 0;
}

/* The completion of work the reset discards lands during the reset. */
static void raising_reset(struct pci_dev *pdev)
{
	__atomic_add_fetch(&raising_resets, 1, __ATOMIC_RELAXED);
	pci_irq_raise(pdev, 0);
}

static const struct pci_model raising_model = {
	.name = "test-raise-in-reset",
	.init = raising_init,
	.reset = raising_reset,
};

static void test_reset_drops_interrupts(void **state)
{
	struct uvf_host *h;
	struct uvf_proc *p;
	struct pci_open o;
	struct pci_dev *pdev;
	int32_t fd = efd_new();
	unsigned int before;
	long ret = pci_model_register(&raising_model);

	assert_true(ret == 0 || ret == -EEXIST);
	h = test_host_from_json("{\"pci\":[{\"bdf\":\"0000:00:0a.0\","
				"\"model\":\"test-raise-in-reset\",\"iommu_group\":20}]}");
	p = proc_new_root(h);
	o = pci_open_device(p, 20, "0000:00:0a.0");
	pdev = test_pdev(h, "0000:00:0a.0");
	assert_errno(set_eventfds(p, o.dfd, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, &fd), 0);
	before = raising_resets;
	assert_errno(proc_ioctl(p, o.dfd, VFIO_DEVICE_RESET, NULL), 0);
	assert_int_equal(raising_resets, before + 1);
	assert_int_equal(efd_take(fd), 0);
	assert_false(pci_cfg_read(pdev, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	/* Nothing stale: the next interrupt is delivered. */
	assert_int_equal(pci_irq_raise(pdev, 0), 0);
	assert_int_equal(efd_take(fd), 1);
	proc_free(p);
	host_free(h);
	close(fd);
	(void)state;
}

/* Closing the device tears interrupts down. */
static void test_close_disables(void **state)
{
	struct fixture *f = *state;
	int32_t fd = f->efd[0];
	unsigned int msix = pci_find_capability(f->pdev, PCI_CAP_ID_MSIX);

	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_MSIX_IRQ_INDEX, 0, 1, &fd), 0);
	pci_close_device(f->p, &f->o);
	assert_int_equal(pci_cfg_read(f->pdev, msix + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_ENABLE,
			 0);
	pci_irq_raise(f->pdev, 0);
	assert_int_equal(efd_take(f->efd[0]), 0);
	f->o = pci_open_device(f->p, 3, BDF);
	/* A fresh open can pick INTx again. */
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, &fd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_irq_info, setup, teardown),
		cmocka_unit_test(test_irq_info_msix_param),
		cmocka_unit_test_setup_teardown(test_set_irqs_validation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_eventfds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx_automask, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx_mask_and_loopback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx_virtual_disable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx_unmask_eventfd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx_unmask_eventfd_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx_trigger_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx_pending_at_enable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msi_vector_beyond_enabled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msi_enable_host_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msi_single_vector, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msix_masked_vector_pba, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msix_block_unwind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_err_irq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_req_irq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_req_on_unbind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_disables, setup, teardown),
		cmocka_unit_test(test_reset_drops_interrupts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
