// SPDX-License-Identifier: MIT
/*
 * The s390 crypto block of a VM (arch/s390/kvm/kvm-s390.c: the CRYCB and
 * kvm_arch_crypto_set_masks/clear_masks, priv.c: the PQAP hook).  vfio_ap
 * gives a guest AP adapters, usage domains and control domains by setting
 * these masks, and handles the guest's PQAP(AQIC) through the hook.
 *
 * Only APCB1 exists here (format 2, 256 bits per mask): the formats with
 * the smaller APCB0 are a property of older machines this host does not
 * model.  Setting the masks bumps a generation, so an observer (a test
 * playing the guest) can tell a change that left the masks equal.  The
 * kernel also stops and restarts every vCPU around a change; there are no
 * vCPUs.
 *
 * Locks: crypto.lock guards the masks (callers may hold kvm->lock; a guest's
 * AP instruction holds it while it runs, kvm_s390_ap.c, so setting the masks
 * waits for instructions in flight as the kernel blocks the vCPUs);
 * pqap_hook_rwsem guards the hook pointer, written by vfio_ap, read for
 * each PQAP, held across the hook call as the kernel holds it.
 */
#include <errno.h>
#include <string.h>
#include "kvm_priv.h"
#include "kvm_s390_ap.h"
#include "../base/bitmap.h"

void kvm_s390_crypto_init(struct kvm *kvm)
{
	struct kvm_s390_crypto *crypto = &kvm->arch.crypto;

	uvf_mutex_init(&crypto->lock);
	uvf_rwlock_init(&crypto->pqap_hook_rwsem);
	/* Without memory for it the VM has no AP interruptions (gisc -ENODEV). */
	kvm_s390_gisa_init(kvm);
}

void kvm_s390_crypto_exit(struct kvm *kvm)
{
	kvm_s390_gisa_destroy(kvm);
	uvf_rwlock_destroy(&kvm->arch.crypto.pqap_hook_rwsem);
	uvf_mutex_destroy(&kvm->arch.crypto.lock);
}

void kvm_arch_crypto_set_masks(struct kvm *kvm, const unsigned long *apm,
			       const unsigned long *aqm, const unsigned long *adm)
{
	struct kvm_s390_crypto *crypto = &kvm->arch.crypto;

	uvf_mutex_lock(&crypto->lock);
	memcpy(crypto->apm, apm, sizeof(crypto->apm));
	memcpy(crypto->aqm, aqm, sizeof(crypto->aqm));
	memcpy(crypto->adm, adm, sizeof(crypto->adm));
	crypto->generation++;
	uvf_mutex_unlock(&crypto->lock);
}

void kvm_arch_crypto_clear_masks(struct kvm *kvm)
{
	struct kvm_s390_crypto *crypto = &kvm->arch.crypto;

	uvf_mutex_lock(&crypto->lock);
	memset(crypto->apm, 0, sizeof(crypto->apm));
	memset(crypto->aqm, 0, sizeof(crypto->aqm));
	memset(crypto->adm, 0, sizeof(crypto->adm));
	crypto->generation++;
	uvf_mutex_unlock(&crypto->lock);
}

uint64_t kvm_s390_crypto_get_masks(struct kvm *kvm, unsigned long *apm, unsigned long *aqm,
				   unsigned long *adm)
{
	struct kvm_s390_crypto *crypto = &kvm->arch.crypto;
	uint64_t gen;

	uvf_mutex_lock(&crypto->lock);
	if (apm)
		memcpy(apm, crypto->apm, sizeof(crypto->apm));
	if (aqm)
		memcpy(aqm, crypto->aqm, sizeof(crypto->aqm));
	if (adm)
		memcpy(adm, crypto->adm, sizeof(crypto->adm));
	gen = crypto->generation;
	uvf_mutex_unlock(&crypto->lock);
	return gen;
}

/* Bit n of a set_bit() bitmap as the architecture numbers it: MSB first. */
static void kvm_s390_mask_encode(const unsigned long *mask, uint8_t out[32])
{
	memset(out, 0, 32);
	for (uint64_t n = find_next_bit(mask, KVM_S390_AP_BITS, 0); n < KVM_S390_AP_BITS;
	     n = find_next_bit(mask, KVM_S390_AP_BITS, n + 1))
		out[n / 8] |= (uint8_t)(0x80u >> (n % 8));
}

void kvm_s390_crypto_apcb1(struct kvm *kvm, struct kvm_s390_apcb1 *out)
{
	unsigned long apm[KVM_S390_AP_LONGS], aqm[KVM_S390_AP_LONGS], adm[KVM_S390_AP_LONGS];

	kvm_s390_crypto_get_masks(kvm, apm, aqm, adm);
	memset(out, 0, sizeof(*out));
	kvm_s390_mask_encode(apm, out->apm);
	kvm_s390_mask_encode(aqm, out->aqm);
	kvm_s390_mask_encode(adm, out->adm);
}

int kvm_s390_handle_pqap(struct kvm *kvm, struct kvm_s390_pqap_regs *regs)
{
	struct kvm_s390_crypto *crypto = &kvm->arch.crypto;
	int ret = -EOPNOTSUPP;

	uvf_read_lock(&crypto->pqap_hook_rwsem);
	if (crypto->pqap_hook)
		ret = (*crypto->pqap_hook)(kvm, regs);
	uvf_rw_unlock(&crypto->pqap_hook_rwsem);
	return ret;
}
