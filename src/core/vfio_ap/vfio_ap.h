/* SPDX-License-Identifier: MIT */
/*
 * vfio_ap (drivers/s390/crypto/vfio_ap_*): AP queues passed through to
 * KVM guests as mediated devices of the matrix device
 * /sys/devices/vfio_ap/matrix, type vfio_ap-passthrough.  What other layers
 * call: the host's load and free, and a consistent view of every mdev for
 * the CLI and the tests (vfio_ap_private.h has the driver's own objects).
 *
 * Masks in this API use the AP bit order of src/core/ap/ap.h
 * (test_bit_inv: ID 0 is the leftmost bit of word 0).
 */
#ifndef UVF_VFIO_AP_H
#define UVF_VFIO_AP_H

#include <stdbool.h>
#include <stddef.h>
#include "../ap/ap.h"
#include "../mdev/mdev.h"

struct uvf_host;

/* After ap_bus_init: the matrix device, the AP queue driver "vfio_ap" and
 * the mdev parent.  0 without an AP bus (nothing to pass through). */
int vfio_ap_init(struct uvf_host *h);
/* Before ap_bus_exit: removes every mdev (waiting for its users). */
void vfio_ap_exit(struct uvf_host *h);

/* One mdev as the driver sees it. */
struct vfio_ap_mdev_info {
	char uuid[MDEV_UUID_STRING_LEN + 1];
	/* assigned: the 'matrix' and 'control_domains' attributes */
	unsigned long apm[AP_MASK_LONGS], aqm[AP_MASK_LONGS], adm[AP_MASK_LONGS];
	/* the shadow APCB: 'guest_matrix', what the guest has or will have */
	unsigned long shadow_apm[AP_MASK_LONGS], shadow_aqm[AP_MASK_LONGS];
	unsigned long shadow_adm[AP_MASK_LONGS];
	bool attached;			/* opened with a KVM: the APCB is the shadow */
	unsigned int kvm_id;		/* that VM's id (struct kvm.id) */
	unsigned int queues;		/* bound queues linked to the mdev */
};

/*
 * Every mdev at one instant (taken under guests_lock and mdevs_lock):
 * up to max entries into out; returns how many mdevs there are, or
 * -ENODEV on a host without vfio_ap.
 */
int vfio_ap_mdevs_snapshot(struct uvf_host *h, struct vfio_ap_mdev_info *out, unsigned int max);

/*
 * Check, at one instant (ap_perms_mutex, guests_lock and mdevs_lock
 * held), what vfio_ap promises; 0, or -EINVAL with 'why' describing the
 * first violation:
 *  - no APQN is assigned to two mdevs;
 *  - no assigned APQN is reserved for the default drivers (apmask x aqmask);
 *  - each shadow is within its matrix and the host's configuration, and
 *    every APQN of it is a queue bound to vfio_ap and linked to the mdev
 *    (so never one the host's drivers can use);
 *  - the APCB of every attached VM equals its mdev's shadow, and the VM
 *    has vfio_ap's PQAP hook.
 * -ENODEV on a host without vfio_ap.
 */
int vfio_ap_check_invariants(struct uvf_host *h, char *why, size_t len);

#endif
