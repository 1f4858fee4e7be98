// SPDX-License-Identifier: MIT
/*
 * The default AP drivers (drivers/s390/crypto/zcrypt_cex4.c): cex4card
 * binds every CEX4..CEX8 card, cex4queue every CEX4..CEX8 queue reserved
 * for the default drivers by apmask/aqmask.  Both carry
 * AP_DRIVER_FLAG_DEFAULT.
 *
 * An accelerator queue gets the message type 50 operations (RSA ME and
 * CRT through /dev/z90crypt).  CCA and EP11 queues get message type 6 in
 * the kernel (CPRBs to the coprocessor firmware), which is not modelled:
 * their ops have no RSA functions, so the distributor never picks them
 * for ICARSAMODEXPO/ICARSACRT (the kernel would also use CCA cards).  The
 * CCA/EP11 specific sysfs attributes (serialnr, mkvps, op_modes, ...)
 * need that firmware too and are absent.
 *
 * Locks: probe and remove run under bus->lock and take zcrypt's list
 * lock; a remove waits (in sysfs_remove) for the online/load attributes'
 * calls, which never take bus->lock.
 */
#include <errno.h>
#include <stdlib.h>
#include "zcrypt.h"
#include "../sysfs/sysfs.h"

/* Message type 6: CCA and EP11 CPRBs, not modelled (no RSA operations). */
static const struct zcrypt_ops zcrypt_msgtype6_ops = {
	.name = "zcrypt_msgtype6",
};

static struct zcrypt *drv_zcrypt(struct ap_device *ap_dev, bool card)
{
	struct ap_driver *drv = to_ap_drv(ap_dev->dev.driver);

	return card ? container_of(drv, struct zcrypt, card_driver) :
		      container_of(drv, struct zcrypt, queue_driver);
}

/* CEX<n><A|C|P>: the generation from the type, the mode letter. */
static const char *const cex_names[3][5] = {
	{ "CEX4A", "CEX5A", "CEX6A", "CEX7A", "CEX8A" },
	{ "CEX4C", "CEX5C", "CEX6C", "CEX7C", "CEX8C" },
	{ "CEX4P", "CEX5P", "CEX6P", "CEX7P", "CEX8P" },
};

/* user_space_type: as the kernel reports it, CEX7/8 as CEX6, CCA as CEX3C. */
static int cex_user_space_type(int type, bool cca)
{
	if (cca)
		return ZCRYPT_CEX3C;
	if (type == AP_DEVICE_TYPE_CEX4)
		return ZCRYPT_CEX4;
	if (type == AP_DEVICE_TYPE_CEX5)
		return ZCRYPT_CEX5;
	return ZCRYPT_CEX6;
}

static int zcrypt_cex4_card_probe(struct ap_device *ap_dev)
{
	struct ap_card *ac = to_ap_card(ap_dev);
	struct zcrypt *z = drv_zcrypt(ap_dev, true);
	int gen = ap_dev->device_type - AP_DEVICE_TYPE_CEX4, mode;
	struct zcrypt_card *zc;
	int ret;

	if (ac->hwinfo.accel)
		mode = 0;
	else if (ac->hwinfo.cca)
		mode = 1;
	else if (ac->hwinfo.ep11)
		mode = 2;
	else
		return -ENODEV;
	zc = calloc(1, sizeof(*zc));
	if (!zc)
		return -ENOMEM;
	uvf_ref_init(&zc->ref);
	list_init(&zc->list);
	list_init(&zc->zqueues);
	zc->zcrypt = z;
	zc->card = ac;
	zc->type_string = cex_names[mode][gen];
	zc->user_space_type = cex_user_space_type(ap_dev->device_type, mode == 1);
	if (mode == 0) {
		zc->min_mod_size = CEX4A_MIN_MOD_SIZE;
		zc->max_mod_size = ac->hwinfo.mex4k && ac->hwinfo.crt4k ?
				   CEX4A_MAX_MOD_SIZE_4K : CEX4A_MAX_MOD_SIZE_2K;
	} else {
		zc->min_mod_size = CEX4C_MIN_MOD_SIZE;
		zc->max_mod_size = CEX4C_MAX_MOD_SIZE;
	}
	zc->online = true;
	ap_dev->dev.driver_data = zc;
	ret = zcrypt_sysfs_card_add(zc);
	if (ret) {
		zcrypt_sysfs_remove(zc->attrs, 3);
		zcrypt_card_put(zc);
		return ret;
	}
	zcrypt_card_register(z, zc);
	return 0;
}

static void zcrypt_cex4_card_remove(struct ap_device *ap_dev)
{
	struct zcrypt_card *zc = ap_dev->dev.driver_data;

	zcrypt_sysfs_remove(zc->attrs, 3);
	zcrypt_card_unregister(zc->zcrypt, zc);
}

static int zcrypt_cex4_queue_probe(struct ap_device *ap_dev)
{
	struct ap_queue *aq = to_ap_queue(ap_dev);
	struct zcrypt *z = drv_zcrypt(ap_dev, false);
	struct zcrypt_card *zc = aq->card->ap_dev.dev.driver_data;
	struct zcrypt_queue *zq;
	int ret;

	/* the card is bound to cex4card: it binds every CEX4..CEX8 card */
	if (!zc || aq->card->ap_dev.dev.driver != &z->card_driver.driver)
		return -ENODEV;
	zq = calloc(1, sizeof(*zq));
	if (!zq)
		return -ENOMEM;
	uvf_ref_init(&zq->ref);
	list_init(&zq->list);
	ret = ap_init_apmsg(&zq->reply, aq->card->maxmsgsize);
	if (ret) {
		free(zq);
		return ret;
	}
	zq->ops = aq->card->hwinfo.accel ? &zcrypt_msgtype50_ops : &zcrypt_msgtype6_ops;
	ap_queue_get(aq);
	zq->queue = aq;
	uvf_ref_get(&zc->ref);
	zq->zcard = zc;
	zq->online = true;
	ap_dev->dev.driver_data = zq;
	ret = zcrypt_sysfs_queue_add(zq);
	if (ret) {
		zcrypt_sysfs_remove(zq->attrs, 2);
		zcrypt_queue_put(zq);
		return ret;
	}
	ap_queue_init_state(aq);
	ap_queue_init_reply(aq, &zq->reply);
	zcrypt_queue_register(z, zq);
	return 0;
}

static void zcrypt_cex4_queue_remove(struct ap_device *ap_dev)
{
	struct zcrypt_queue *zq = ap_dev->dev.driver_data;

	zcrypt_sysfs_remove(zq->attrs, 2);
	zcrypt_queue_unregister(zq->zcard->zcrypt, zq);
}

int zcrypt_cex4_init(struct zcrypt *z)
{
	int ret;

	z->card_driver = (struct ap_driver){
		.flags = AP_DRIVER_FLAG_DEFAULT,
		.cards = true,
		.types = AP_TYPES_CEX4_CEX8,
		.probe = zcrypt_cex4_card_probe,
		.remove = zcrypt_cex4_card_remove,
	};
	z->queue_driver = (struct ap_driver){
		.flags = AP_DRIVER_FLAG_DEFAULT,
		.types = AP_TYPES_CEX4_CEX8,
		.probe = zcrypt_cex4_queue_probe,
		.remove = zcrypt_cex4_queue_remove,
	};
	ret = ap_driver_register(z->bus, &z->card_driver, "cex4card");
	if (ret)
		return ret;
	ret = ap_driver_register(z->bus, &z->queue_driver, "cex4queue");
	if (ret)
		ap_driver_unregister(z->bus, &z->card_driver);
	return ret;
}

void zcrypt_cex4_exit(struct zcrypt *z)
{
	ap_driver_unregister(z->bus, &z->queue_driver);
	ap_driver_unregister(z->bus, &z->card_driver);
}
