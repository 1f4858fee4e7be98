// SPDX-License-Identifier: MIT
/*
 * vfio-pci interrupts (vfio_pci_intrs.c semantics): VFIO_DEVICE_SET_IRQS
 * and the host interrupt handlers that turn a function's interrupts into
 * eventfd signals.
 *
 * The host side plays the kernel's interrupt subsystem for the function:
 *  - INTx: masking uses the function's DisINTx bit (PCI 2.3).  The handler
 *    masks the line and signals the trigger (AUTOMASKED); the user unmasks
 *    with ACTION_UNMASK or an unmask eventfd; an unmask while the line is
 *    still asserted signals again instead of unmasking.  The user's virtual
 *    DisINTx masks too.
 *  - MSI/MSI-X: enabling programs the capability with every vector masked;
 *    giving a vector an eventfd unmasks it (a message pending meanwhile is
 *    sent at once), taking it away (-1) masks it again.  MSI-X vectors are
 *    allocated on demand (dynamic MSI-X: no NORESIZE).
 *  - ERR and REQ are single eventfds: AER errors and device requests.
 * DATA_NONE/DATA_BOOL with ACTION_TRIGGER fire an assigned eventfd from
 * software (loopback).  MSI/MSI-X masking from the user (ACTION_MASK and
 * ACTION_UNMASK) is not supported: -ENOTTY, as in the kernel.
 *
 * Eventfds named by the user arrive as host fds we own (caller_fget_raw);
 * they must be eventfds (-EINVAL otherwise, -EBADF for a bad fd) and are
 * closed on de-assign, disable and close_device.
 *
 * Locking: igate serialises setup (SET_IRQS, config writes that mask);
 * irqlock protects what the handlers read (irq_type, triggers, the INTx
 * masked flag, virq_disabled) and is held while signalling, so a trigger
 * is never closed under a handler.  Handlers run with no PCI lock held;
 * calls into the function that may deliver (unmasking) run without
 * irqlock.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include "vfio_pci.h"
#include "../base/log.h"
#include "../mm/caller.h"

#define MSI_ADDRESS_BASE	0xfee00000u

/* ---- eventfds ----------------------------------------------------------- */

static bool fd_is_eventfd(int fd)
{
	char path[64], target[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	return !strcmp(target, "anon_inode:[eventfd]");
}

/* eventfd_ctx_fdget: a host fd we own, -EBADF or -EINVAL. */
int vfio_pci_eventfd_get(struct uvf_caller *c, int fd)
{
	int raw = caller_fget_raw(c, fd);

	if (raw < 0)
		return -EBADF;
	if (!fd_is_eventfd(raw)) {
		close(raw);
		return -EINVAL;
	}
	return raw;
}

int vfio_irq_set_eventfd_trigger(struct uvf_caller *c, uint64_t arg, int *trigger)
{
	int32_t fd;
	int efd = -1;

	if (copy_from_user(c, &fd, arg + offsetofend(struct vfio_irq_set, count), sizeof(fd)))
		return -EFAULT;
	if (fd < -1)
		return -EINVAL;
	if (fd >= 0) {
		efd = vfio_pci_eventfd_get(c, fd);
		if (efd < 0)
			return efd;
	}
	vfio_pci_eventfd_put(*trigger);
	*trigger = efd;
	return 0;
}

void vfio_pci_eventfd_signal(int fd)
{
	uint64_t one = 1;

	if (fd >= 0 && write(fd, &one, sizeof(one)) != sizeof(one))
		uvf_dbg("vfio-pci", "eventfd %d: signal lost", fd);
}

void vfio_pci_eventfd_put(int fd)
{
	if (fd >= 0)
		close(fd);
}

/*
 * ---- virqfd: an eventfd that calls back into us when signalled ----------
 *
 * Deviation: the thread polls our own duplicate of the user's eventfd, so
 * it never sees the user close it.  The kernel's virqfd hears EPOLLHUP
 * when the eventfd's last file reference goes and drops the registration
 * (QEMU relies on that when it tears down its KVM resample eventfd); here
 * the registration stays until the user de-assigns it (-1), disables INTx
 * or closes the device, and a new unmask eventfd meanwhile is -EBUSY.
 * Seeing the close would need the client's file table (our duplicate
 * holds the file open), which neither transport has.
 */

struct virqfd {
	struct vfio_pci_device *v;
	int fd;
	int stop;
	pthread_t thread;
};

static void intx_unmask_from_user(struct vfio_pci_device *v);

static void *virqfd_thread(void *arg)
{
	struct virqfd *q = arg;
	struct pollfd p[2] = { { .fd = q->fd, .events = POLLIN },
			       { .fd = q->stop, .events = POLLIN } };

	for (;;) {
		uint64_t cnt;

		if (poll(p, 2, -1) < 0)
			continue;
		if (p[1].revents)
			break;
		if ((p[0].revents & POLLIN) && read(q->fd, &cnt, sizeof(cnt)) == sizeof(cnt))
			intx_unmask_from_user(q->v);
		if (p[0].revents & (POLLERR | POLLHUP | POLLNVAL))
			break;
	}
	return NULL;
}

/* Takes over 'fd'. */
static int virqfd_enable(struct vfio_pci_device *v, int fd, struct virqfd **out)
{
	struct virqfd *q = calloc(1, sizeof(*q));

	if (!q) {
		vfio_pci_eventfd_put(fd);
		return -ENOMEM;
	}
	q->v = v;
	q->fd = fd;
	q->stop = eventfd(0, EFD_CLOEXEC);
	if (q->stop < 0 || pthread_create(&q->thread, NULL, virqfd_thread, q)) {
		vfio_pci_eventfd_put(q->stop);
		vfio_pci_eventfd_put(fd);
		free(q);
		return -ENOMEM;
	}
	*out = q;
	return 0;
}

static void virqfd_disable(struct virqfd **pq)
{
	struct virqfd *q = *pq;

	if (!q)
		return;
	*pq = NULL;
	vfio_pci_eventfd_signal(q->stop);
	pthread_join(q->thread, NULL);
	vfio_pci_eventfd_put(q->stop);
	vfio_pci_eventfd_put(q->fd);
	free(q);
}

/* ---- per-device state ---------------------------------------------------- */

int vfio_pci_irq_init(struct vfio_pci_device *v)
{
	const struct pci_model_desc *d = &v->pdev->desc;
	unsigned int n = uvf_max(1u, uvf_max(d->msi_vectors, d->msix_vectors));

	v->ctx = calloc(n, sizeof(*v->ctx));
	if (!v->ctx)
		return -ENOMEM;
	v->num_ctx = n;
	for (unsigned int i = 0; i < n; i++)
		v->ctx[i].trigger = -1;
	v->err_trigger = -1;
	v->req_trigger = -1;
	v->irq_type = VFIO_PCI_NUM_IRQS;
	uvf_mutex_init(&v->igate);
	uvf_mutex_init(&v->irqlock);
	return 0;
}

void vfio_pci_irq_free(struct vfio_pci_device *v)
{
	free(v->ctx);
	v->ctx = NULL;
	uvf_mutex_destroy(&v->igate);
	uvf_mutex_destroy(&v->irqlock);
}

static bool is_intx(const struct vfio_pci_device *v)
{
	return v->irq_type == VFIO_PCI_INTX_IRQ_INDEX;
}

static bool is_irq_none(const struct vfio_pci_device *v)
{
	return v->irq_type != VFIO_PCI_INTX_IRQ_INDEX && v->irq_type != VFIO_PCI_MSI_IRQ_INDEX &&
	       v->irq_type != VFIO_PCI_MSIX_IRQ_INDEX;
}

/* ---- the host handlers (the function's sink) ------------------------------ */

/* irqlock held */
static void send_intx_eventfd_locked(struct vfio_pci_device *v)
{
	if (is_intx(v) && !v->virq_disabled)
		vfio_pci_eventfd_signal(v->ctx[0].trigger);
}

static void send_intx_eventfd(struct vfio_pci_device *v)
{
	uvf_mutex_lock(&v->irqlock);
	send_intx_eventfd_locked(v);
	uvf_mutex_unlock(&v->irqlock);
}

/* The line went active: mask it if it is ours and tell the user. */
static void vfio_intx_handler(void *priv)
{
	struct vfio_pci_device *v = priv;

	uvf_mutex_lock(&v->irqlock);
	if (is_intx(v) && !v->ctx[0].masked && pci_check_and_mask_intx(v->pdev)) {
		v->ctx[0].masked = true;
		send_intx_eventfd_locked(v);
	}
	uvf_mutex_unlock(&v->irqlock);
}

static void vfio_msi_handler(void *priv, unsigned int vector)
{
	struct vfio_pci_device *v = priv;

	uvf_mutex_lock(&v->irqlock);
	if ((v->irq_type == VFIO_PCI_MSI_IRQ_INDEX || v->irq_type == VFIO_PCI_MSIX_IRQ_INDEX) &&
	    vector < v->num_ctx && v->ctx[vector].active)
		vfio_pci_eventfd_signal(v->ctx[vector].trigger);
	uvf_mutex_unlock(&v->irqlock);
}

static void vfio_err_handler(void *priv)
{
	struct vfio_pci_device *v = priv;

	uvf_mutex_lock(&v->irqlock);
	vfio_pci_eventfd_signal(v->err_trigger);
	uvf_mutex_unlock(&v->irqlock);
}

const struct pci_irq_sink vfio_pci_irq_sink = {
	.intx = vfio_intx_handler,
	.msi = vfio_msi_handler,
	.error = vfio_err_handler,
};

void vfio_pci_signal_req(struct vfio_pci_device *v)
{
	uvf_mutex_lock(&v->irqlock);
	vfio_pci_eventfd_signal(v->req_trigger);
	uvf_mutex_unlock(&v->irqlock);
}

/* ---- INTx ------------------------------------------------------------------ */

/* igate held.  Masking never delivers, so DisINTx is set under irqlock.
 * Returns whether this masked INTx (false: not in use or already masked). */
static bool __intx_mask(struct vfio_pci_device *v)
{
	bool changed = false;

	uvf_mutex_lock(&v->irqlock);
	if (!is_intx(v)) {
		pci_intx(v->pdev, false);	/* the function follows the virtual bit */
	} else if (!v->ctx[0].masked) {
		pci_intx(v->pdev, false);
		v->ctx[0].masked = true;
		changed = true;
	}
	uvf_mutex_unlock(&v->irqlock);
	return changed;
}

/* > 0: an interrupt is still pending, signal it instead of unmasking. */
static int intx_unmask_handler(struct vfio_pci_device *v)
{
	int ret = 0;

	uvf_mutex_lock(&v->irqlock);
	if (!is_intx(v)) {
		uvf_mutex_unlock(&v->irqlock);
		pci_intx(v->pdev, true);
		return 0;
	}
	if (v->ctx[0].masked && !v->virq_disabled) {
		if (!pci_check_and_unmask_intx(v->pdev))
			ret = 1;
		v->ctx[0].masked = ret > 0;
	}
	uvf_mutex_unlock(&v->irqlock);
	return ret;
}

static void intx_unmask_from_user(struct vfio_pci_device *v)
{
	if (intx_unmask_handler(v) > 0)
		send_intx_eventfd(v);
}

/* For runtime suspend: only INTx in use is masked (irq_type is stable
 * under igate). */
bool vfio_pci_intx_mask(struct vfio_pci_device *v)
{
	bool changed = false;

	uvf_mutex_lock(&v->igate);
	if (is_intx(v))
		changed = __intx_mask(v);
	uvf_mutex_unlock(&v->igate);
	return changed;
}

void vfio_pci_intx_unmask(struct vfio_pci_device *v)
{
	uvf_mutex_lock(&v->igate);
	intx_unmask_from_user(v);
	uvf_mutex_unlock(&v->igate);
}

/* The user's virtual DisINTx (config_lock held): set, mask; clear, unmask. */
void vfio_pci_intx_set_virq_disabled(struct vfio_pci_device *v, bool disabled)
{
	uvf_mutex_lock(&v->igate);
	uvf_mutex_lock(&v->irqlock);
	v->virq_disabled = disabled;
	uvf_mutex_unlock(&v->irqlock);
	if (disabled)
		__intx_mask(v);
	else
		intx_unmask_from_user(v);
	uvf_mutex_unlock(&v->igate);
}

/* Takes over 'trigger' on success. */
static int intx_enable(struct vfio_pci_device *v, int trigger)
{
	bool masked;

	if (!is_irq_none(v))
		return -EINVAL;
	if (!v->pdev->irq)
		return -ENODEV;
	uvf_mutex_lock(&v->irqlock);
	v->ctx[0].trigger = trigger;
	v->ctx[0].active = true;
	v->ctx[0].masked = masked = v->virq_disabled;
	v->irq_type = VFIO_PCI_INTX_IRQ_INDEX;
	uvf_mutex_unlock(&v->irqlock);
	pci_intx(v->pdev, !masked);
	/* A level already asserted fires as soon as the handler is in place. */
	vfio_intx_handler(v);
	return 0;
}

static void intx_set_signal(struct vfio_pci_device *v, int trigger)
{
	int old;

	uvf_mutex_lock(&v->irqlock);
	old = v->ctx[0].trigger;
	v->ctx[0].trigger = trigger;
	uvf_mutex_unlock(&v->irqlock);
	vfio_pci_eventfd_put(old);
}

static void intx_disable(struct vfio_pci_device *v)
{
	int old;

	virqfd_disable(&v->ctx[0].unmask);
	uvf_mutex_lock(&v->irqlock);
	old = v->ctx[0].trigger;
	v->ctx[0].trigger = -1;
	v->ctx[0].active = false;
	v->ctx[0].masked = false;
	v->irq_type = VFIO_PCI_NUM_IRQS;
	uvf_mutex_unlock(&v->irqlock);
	vfio_pci_eventfd_put(old);
}

/* ---- MSI / MSI-X --------------------------------------------------------- */

static void msi_mask_vector(struct vfio_pci_device *v, unsigned int vector, bool msix,
			    bool masked)
{
	if (msix)
		pci_msix_mask_vector(v->pdev, vector, masked);
	else
		pci_msi_mask_vector(v->pdev, vector, masked);
}

/* pci_alloc_irq_vectors: the capability on, every vector masked. */
static void msi_program(struct vfio_pci_device *v, unsigned int nvec, bool msix)
{
	struct pci_dev *pdev = v->pdev;

	pci_intx(pdev, false);
	if (msix) {
		unsigned int pos = pdev->msix_cap + PCI_MSIX_FLAGS;

		for (unsigned int i = 0; i < pci_msix_table_size(pdev); i++)
			pci_msix_mask_vector(pdev, i, true);
		pci_cfg_write(pdev, pos, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
		pci_cfg_write(pdev, pos, 2, PCI_MSIX_FLAGS_ENABLE);
		return;
	}
	for (unsigned int i = 0; i < pdev->desc.msi_vectors; i++)
		pci_msi_mask_vector(pdev, i, true);
	pci_cfg_write(pdev, pdev->msi_cap + PCI_MSI_ADDRESS_LO, 4, MSI_ADDRESS_BASE);
	pci_cfg_write(pdev, pdev->msi_cap + PCI_MSI_FLAGS, 2,
		      PCI_MSI_FLAGS_ENABLE | ((unsigned int)__builtin_ctz(nvec) << 4));
}

/*
 * pci_alloc_irq_vectors(pdev, 1, nvec): the host's answers before anything
 * is programmed.  No vector asked for is -ERANGE (max < min); a function
 * outside D0 is -EINVAL, checked before the range for MSI and after it
 * for MSI-X, as __pci_enable_msi_range/__pci_enable_msix_range order them.
 */
static int msi_alloc_check(struct vfio_pci_device *v, unsigned int nvec, bool msix)
{
	bool d0 = pci_get_power_state(v->pdev) == PCI_D0;

	if (!msix && !d0)
		return -EINVAL;
	if (nvec < 1)
		return -ERANGE;
	return d0 ? 0 : -EINVAL;
}

static int msi_enable(struct vfio_pci_device *v, unsigned int nvec, bool msix)
{
	unsigned int alloc = nvec;
	int ret;

	if (!is_irq_none(v))
		return -EINVAL;
	ret = msi_alloc_check(v, nvec, msix);
	if (ret)
		return ret;
	if (!msix)	/* MSI grants a power of two */
		while (alloc & (alloc - 1))
			alloc++;
	msi_program(v, alloc, msix);
	uvf_mutex_lock(&v->irqlock);
	v->irq_type = msix ? VFIO_PCI_MSIX_IRQ_INDEX : VFIO_PCI_MSI_IRQ_INDEX;
	uvf_mutex_unlock(&v->irqlock);
	v->msi_nvec = nvec;
	if (!msix)
		v->msi_qmax = (uint8_t)__builtin_ctz(alloc);
	return 0;
}

/*
 * vfio_msi_alloc_irq: an MSI vector needs a host interrupt, and MSI has
 * exactly the nvec asked for at enable (nvec_used, not the power of two
 * the function grants); beyond them -EINVAL.  MSI-X allocates any vector
 * of the table on demand (dynamic MSI-X).
 */
static int msi_vector_allocated(struct vfio_pci_device *v, unsigned int vector, bool msix)
{
	return msix || vector < v->msi_nvec ? 0 : -EINVAL;
}

static int msi_set_vector_signal(struct vfio_pci_device *v, struct uvf_caller *c,
				 unsigned int vector, int fd, bool msix)
{
	struct vfio_pci_irq_ctx *ctx = &v->ctx[vector];
	int trigger, old = -1, ret;

	if (ctx->active) {
		msi_mask_vector(v, vector, msix, true);		/* free_irq */
		uvf_mutex_lock(&v->irqlock);
		old = ctx->trigger;
		ctx->trigger = -1;
		ctx->active = false;
		uvf_mutex_unlock(&v->irqlock);
		vfio_pci_eventfd_put(old);
	}
	if (fd < 0)
		return 0;
	ret = msi_vector_allocated(v, vector, msix);
	if (ret)
		return ret;
	trigger = vfio_pci_eventfd_get(c, fd);
	if (trigger < 0)
		return trigger;
	uvf_mutex_lock(&v->irqlock);
	ctx->trigger = trigger;
	ctx->active = true;
	uvf_mutex_unlock(&v->irqlock);
	msi_mask_vector(v, vector, msix, false);		/* request_irq */
	return 0;
}

static int msi_set_block(struct vfio_pci_device *v, struct uvf_caller *c, unsigned int start,
			 unsigned int count, const int32_t *fds, bool msix)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; i < count && !ret; i++)
		ret = msi_set_vector_signal(v, c, start + i, fds ? fds[i] : -1, msix);
	if (ret)
		for (unsigned int j = start; j < start + i; j++)
			msi_set_vector_signal(v, c, j, -1, msix);
	return ret;
}

static void msi_disable(struct vfio_pci_device *v, struct uvf_caller *c, bool msix)
{
	struct pci_dev *pdev = v->pdev;

	for (unsigned int i = 0; i < v->num_ctx; i++)
		if (v->ctx[i].active)
			msi_set_vector_signal(v, c, i, -1, msix);
	if (msix)
		pci_cfg_write(pdev, pdev->msix_cap + PCI_MSIX_FLAGS, 2, 0);
	else
		pci_cfg_write(pdev, pdev->msi_cap + PCI_MSI_FLAGS, 2, 0);
	uvf_mutex_lock(&v->irqlock);
	v->irq_type = VFIO_PCI_NUM_IRQS;
	uvf_mutex_unlock(&v->irqlock);
	v->msi_nvec = 0;
	pci_intx(pdev, true);
}

/* ---- SET_IRQS actions ----------------------------------------------------- */

static int set_intx_unmask(struct vfio_pci_device *v, struct uvf_caller *c,
			   unsigned int start, unsigned int count, uint32_t flags, void *data)
{
	if (!is_intx(v) || start != 0 || count != 1)
		return -EINVAL;
	if (flags & VFIO_IRQ_SET_DATA_NONE) {
		intx_unmask_from_user(v);
	} else if (flags & VFIO_IRQ_SET_DATA_BOOL) {
		if (*(uint8_t *)data)
			intx_unmask_from_user(v);
	} else if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
		int32_t fd = *(int32_t *)data;
		int efd;

		if (fd < 0) {
			virqfd_disable(&v->ctx[0].unmask);
			return 0;
		}
		/* vfio_virqfd_enable: the fd is checked first; one in place
		 * is kept, a second is -EBUSY (de-assign with -1 first). */
		efd = vfio_pci_eventfd_get(c, fd);
		if (efd < 0)
			return efd;
		if (v->ctx[0].unmask) {
			vfio_pci_eventfd_put(efd);
			return -EBUSY;
		}
		return virqfd_enable(v, efd, &v->ctx[0].unmask);
	}
	return 0;
}

static int set_intx_mask(struct vfio_pci_device *v, struct uvf_caller *c, unsigned int start,
			 unsigned int count, uint32_t flags, void *data)
{
	if (!is_intx(v) || start != 0 || count != 1)
		return -EINVAL;
	if (flags & VFIO_IRQ_SET_DATA_NONE) {
		__intx_mask(v);
	} else if (flags & VFIO_IRQ_SET_DATA_BOOL) {
		if (*(uint8_t *)data)
			__intx_mask(v);
	} else if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
		return -ENOTTY;		/* as the kernel: not implemented */
	}
	return 0;
}

static int set_intx_trigger(struct vfio_pci_device *v, struct uvf_caller *c,
			    unsigned int start, unsigned int count, uint32_t flags, void *data)
{
	if (is_intx(v) && !count && (flags & VFIO_IRQ_SET_DATA_NONE)) {
		intx_disable(v);
		return 0;
	}
	if (!(is_intx(v) || is_irq_none(v)) || start != 0 || count != 1)
		return -EINVAL;
	if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
		int32_t fd = *(int32_t *)data;
		int trigger = -1, ret = 0;

		if (fd >= 0) {
			trigger = vfio_pci_eventfd_get(c, fd);
			if (trigger < 0)
				return trigger;
		}
		if (is_intx(v))
			intx_set_signal(v, trigger);
		else
			ret = intx_enable(v, trigger);
		if (ret)
			vfio_pci_eventfd_put(trigger);
		return ret;
	}
	if (!is_intx(v))
		return -EINVAL;
	if ((flags & VFIO_IRQ_SET_DATA_NONE) ||
	    ((flags & VFIO_IRQ_SET_DATA_BOOL) && *(uint8_t *)data))
		send_intx_eventfd(v);
	return 0;
}

static int set_msi_trigger(struct vfio_pci_device *v, struct uvf_caller *c, unsigned int index,
			   unsigned int start, unsigned int count, uint32_t flags, void *data)
{
	bool msix = index == VFIO_PCI_MSIX_IRQ_INDEX;

	if (v->irq_type == (int)index && !count && (flags & VFIO_IRQ_SET_DATA_NONE)) {
		msi_disable(v, c, msix);
		return 0;
	}
	if (!(v->irq_type == (int)index || is_irq_none(v)))
		return -EINVAL;
	if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
		int ret;

		if (v->irq_type == (int)index)
			return msi_set_block(v, c, start, count, data, msix);
		ret = msi_enable(v, start + count, msix);
		if (ret)
			return ret;
		ret = msi_set_block(v, c, start, count, data, msix);
		if (ret)
			msi_disable(v, c, msix);
		return ret;
	}
	if (v->irq_type != (int)index)
		return -EINVAL;
	uvf_mutex_lock(&v->irqlock);
	for (unsigned int i = start; i < start + count; i++) {
		if (!v->ctx[i].active)
			continue;
		if ((flags & VFIO_IRQ_SET_DATA_NONE) ||
		    ((flags & VFIO_IRQ_SET_DATA_BOOL) && ((uint8_t *)data)[i - start]))
			vfio_pci_eventfd_signal(v->ctx[i].trigger);
	}
	uvf_mutex_unlock(&v->irqlock);
	return 0;
}

static void replace_trigger(struct vfio_pci_device *v, int *slot, int trigger)
{
	int old;

	uvf_mutex_lock(&v->irqlock);
	old = *slot;
	*slot = trigger;
	uvf_mutex_unlock(&v->irqlock);
	vfio_pci_eventfd_put(old);
}

/* ERR and REQ: one eventfd each; NONE/BOOL loop back, NONE with count 0
 * de-assigns. */
static int set_ctx_trigger_single(struct vfio_pci_device *v, struct uvf_caller *c, int *slot,
				  unsigned int count, uint32_t flags, void *data)
{
	if (flags & VFIO_IRQ_SET_DATA_NONE) {
		if (*slot < 0)
			return -EINVAL;
		if (count) {
			uvf_mutex_lock(&v->irqlock);
			vfio_pci_eventfd_signal(*slot);
			uvf_mutex_unlock(&v->irqlock);
			return 0;
		}
		replace_trigger(v, slot, -1);
		return 0;
	}
	if (flags & VFIO_IRQ_SET_DATA_BOOL) {
		if (!count)
			return -EINVAL;
		if (*(uint8_t *)data) {
			uvf_mutex_lock(&v->irqlock);
			vfio_pci_eventfd_signal(*slot);
			uvf_mutex_unlock(&v->irqlock);
		}
		return 0;
	}
	if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
		int32_t fd;
		int trigger;

		if (!count)
			return -EINVAL;
		fd = *(int32_t *)data;
		if (fd == -1) {
			replace_trigger(v, slot, -1);
			return 0;
		}
		if (fd < 0)
			return -EINVAL;
		trigger = vfio_pci_eventfd_get(c, fd);
		if (trigger < 0)
			return trigger;
		replace_trigger(v, slot, trigger);
		return 0;
	}
	return -EINVAL;
}

void vfio_pci_release_ctx_triggers(struct vfio_pci_device *v)
{
	uvf_mutex_lock(&v->igate);
	replace_trigger(v, &v->err_trigger, -1);
	replace_trigger(v, &v->req_trigger, -1);
	uvf_mutex_lock(&v->irqlock);
	v->virq_disabled = false;
	uvf_mutex_unlock(&v->irqlock);
	uvf_mutex_unlock(&v->igate);
}

/* igate held by the caller. */
int vfio_pci_set_irqs_ioctl(struct vfio_pci_device *v, struct uvf_caller *c, uint32_t flags,
			    unsigned int index, unsigned int start, unsigned int count,
			    void *data)
{
	uint32_t action = flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;

	switch (index) {
	case VFIO_PCI_INTX_IRQ_INDEX:
		if (action == VFIO_IRQ_SET_ACTION_MASK)
			return set_intx_mask(v, c, start, count, flags, data);
		if (action == VFIO_IRQ_SET_ACTION_UNMASK)
			return set_intx_unmask(v, c, start, count, flags, data);
		if (action == VFIO_IRQ_SET_ACTION_TRIGGER)
			return set_intx_trigger(v, c, start, count, flags, data);
		break;
	case VFIO_PCI_MSI_IRQ_INDEX:
	case VFIO_PCI_MSIX_IRQ_INDEX:
		if (action == VFIO_IRQ_SET_ACTION_TRIGGER)
			return set_msi_trigger(v, c, index, start, count, flags, data);
		break;
	case VFIO_PCI_ERR_IRQ_INDEX:
		if (action == VFIO_IRQ_SET_ACTION_TRIGGER && pci_is_pcie(v->pdev)) {
			if (start != 0 || count > 1)
				return -EINVAL;
			return set_ctx_trigger_single(v, c, &v->err_trigger, count, flags, data);
		}
		break;
	case VFIO_PCI_REQ_IRQ_INDEX:
		if (action == VFIO_IRQ_SET_ACTION_TRIGGER) {
			if (start != 0 || count > 1)
				return -EINVAL;
			return set_ctx_trigger_single(v, c, &v->req_trigger, count, flags, data);
		}
		break;
	}
	return -ENOTTY;
}
