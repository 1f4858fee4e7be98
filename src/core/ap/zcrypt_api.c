// SPDX-License-Identifier: MIT
/*
 * zcrypt (drivers/s390/crypto/zcrypt_api.c, zcrypt_card.c,
 * zcrypt_queue.c): the crypto cards and queues of the default drivers,
 * their 'online' and 'load' attributes, the request distributor and the
 * /dev/z90crypt device node.
 *
 * ICARSAMODEXPO / ICARSACRT: the struct is read with copy_from_user
 * (-EFAULT), outputdatalength must be at least inputdatalength (-EINVAL)
 * and becomes inputdatalength, inputdatalength 0 is -EINVAL; then the
 * least loaded online queue of an online accelerator card whose modulus
 * range holds the length, and whose APID and APQI /dev/z90crypt may use
 * (apmask/aqmask), gets the request.  No such queue: -ENODEV (so is a
 * modulus above the largest an accelerator takes, 512 bytes).  -EAGAIN
 * from a queue (it went away, or a retryable error reply) retries up to
 * 10 times, preferring other cards and queues, then -EIO.  On success
 * outputdatalength is written back with put_user.
 * Not done: the kernel's rescan-and-retry after -ENODEV (a rescan only
 * happens here when the machine changes), the speed ratings that weight
 * cards (all weigh the same: load decides, then request counts), the
 * CPRB ioctls (ZSECSENDCPRB, ZSENDEP11CPRB) and the device status matrix
 * (ZCRYPT_DEVICE_STATUS, ZDEVICESTATUS): -ENOTTY.
 *
 * Lock order: zcrypt->list_lock -> aq->lock.  Requests wait with no lock
 * held, holding references on their card and queue.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "zcrypt.h"
#include "../base/compiler.h"
#include "../host/file.h"
#include "../host/host.h"
#include "../mm/caller.h"
#include "../sysfs/sysfs.h"

#define Z90CRYPT_MINOR 62	/* a dynamic misc minor in the kernel */

/* ---- cards and queues ----------------------------------------------------- */

void zcrypt_card_put(struct zcrypt_card *zc)
{
	if (zc && uvf_ref_put(&zc->ref))
		free(zc);
}

void zcrypt_queue_put(struct zcrypt_queue *zq)
{
	if (!zq || !uvf_ref_put(&zq->ref))
		return;
	ap_release_apmsg(&zq->reply);
	ap_queue_put(zq->queue);
	zcrypt_card_put(zq->zcard);
	free(zq);
}

void zcrypt_card_register(struct zcrypt *z, struct zcrypt_card *zc)
{
	uvf_mutex_lock(&z->list_lock);
	list_add_tail(&zc->list, &z->cards);
	uvf_mutex_unlock(&z->list_lock);
}

/* The list's reference goes; requests in flight keep theirs. */
void zcrypt_card_unregister(struct zcrypt *z, struct zcrypt_card *zc)
{
	uvf_mutex_lock(&z->list_lock);
	list_del_init(&zc->list);
	uvf_mutex_unlock(&z->list_lock);
	zcrypt_card_put(zc);
}

void zcrypt_queue_register(struct zcrypt *z, struct zcrypt_queue *zq)
{
	uvf_mutex_lock(&z->list_lock);
	list_add_tail(&zq->list, &zq->zcard->zqueues);
	uvf_mutex_unlock(&z->list_lock);
}

void zcrypt_queue_unregister(struct zcrypt *z, struct zcrypt_queue *zq)
{
	uvf_mutex_lock(&z->list_lock);
	list_del_init(&zq->list);
	uvf_mutex_unlock(&z->list_lock);
	zcrypt_queue_put(zq);
}

static bool zc_online(struct zcrypt_card *zc)
{
	return __atomic_load_n(&zc->online, __ATOMIC_RELAXED);
}

static bool zq_online(struct zcrypt_queue *zq)
{
	return __atomic_load_n(&zq->online, __ATOMIC_RELAXED);
}

/* ---- sysfs: type, online, load -------------------------------------------- */

static ssize_t card_type_show(struct sysfs_node *attr, char *buf)
{
	struct zcrypt_card *zc = sysfs_priv(attr);

	return sysfs_emit(buf, "%s\n", zc->type_string);
}

static ssize_t card_online_show(struct sysfs_node *attr, char *buf)
{
	struct zcrypt_card *zc = sysfs_priv(attr);
	struct ap_card *ac = zc->card;
	bool online = __atomic_load_n(&ac->config, __ATOMIC_RELAXED) &&
		      !__atomic_load_n(&ac->chkstop, __ATOMIC_RELAXED) && zc_online(zc);

	return sysfs_emit(buf, "%d\n", online ? 1 : 0);
}

/* The queue and its card are configured and not checkstopped. */
static bool zq_configured(struct zcrypt_queue *zq)
{
	struct ap_queue *aq = zq->queue;
	bool ret;

	uvf_mutex_lock(&aq->lock);
	ret = aq->config && !aq->chkstop &&
	      __atomic_load_n(&aq->card->config, __ATOMIC_RELAXED) &&
	      !__atomic_load_n(&aq->card->chkstop, __ATOMIC_RELAXED);
	uvf_mutex_unlock(&aq->lock);
	return ret;
}

/* A queue taken offline loses its requests (they fail with -EAGAIN). */
static bool zcrypt_queue_force_online(struct zcrypt_queue *zq, bool online)
{
	struct ap_queue *aq = zq->queue;

	if (online && !zq_configured(zq))
		return false;
	__atomic_store_n(&zq->online, online, __ATOMIC_RELAXED);
	if (!online)
		ap_flush_queue(aq);
	return true;
}

/* sscanf("%d\n"): 0 or 1. */
static int parse_online(const char *buf, bool *online)
{
	int v;

	if (sscanf(buf, "%d", &v) != 1 || v < 0 || v > 1)
		return -EINVAL;
	*online = v == 1;
	return 0;
}

static ssize_t card_online_store(struct sysfs_node *attr, const char *buf, size_t len)
{
	struct zcrypt_card *zc = sysfs_priv(attr);
	struct ap_card *ac = zc->card;
	struct zcrypt_queue *zq;
	bool online;

	if (parse_online(buf, &online))
		return -EINVAL;
	if (online && (!__atomic_load_n(&ac->config, __ATOMIC_RELAXED) ||
		       __atomic_load_n(&ac->chkstop, __ATOMIC_RELAXED)))
		return -ENODEV;
	__atomic_store_n(&zc->online, online, __ATOMIC_RELAXED);
	uvf_mutex_lock(&zc->zcrypt->list_lock);
	list_for_each_entry(zq, &zc->zqueues, list)
		zcrypt_queue_force_online(zq, online);
	uvf_mutex_unlock(&zc->zcrypt->list_lock);
	return (ssize_t)len;
}

static ssize_t card_load_show(struct sysfs_node *attr, char *buf)
{
	struct zcrypt_card *zc = sysfs_priv(attr);

	return sysfs_emit(buf, "%d\n", atomic_load(&zc->load));
}

static ssize_t queue_online_show(struct sysfs_node *attr, char *buf)
{
	struct zcrypt_queue *zq = sysfs_priv(attr);
	struct ap_queue *aq = zq->queue;
	bool online;

	uvf_mutex_lock(&aq->lock);
	online = aq->config && !aq->chkstop && zq_online(zq);
	uvf_mutex_unlock(&aq->lock);
	return sysfs_emit(buf, "%d\n", online ? 1 : 0);
}

static ssize_t queue_online_store(struct sysfs_node *attr, const char *buf, size_t len)
{
	struct zcrypt_queue *zq = sysfs_priv(attr);
	bool online;

	if (parse_online(buf, &online))
		return -EINVAL;
	if (online && !zq_configured(zq))
		return -ENODEV;
	if (online && !zc_online(zq->zcard))
		return -EINVAL;
	zcrypt_queue_force_online(zq, online);
	return (ssize_t)len;
}

static ssize_t queue_load_show(struct sysfs_node *attr, char *buf)
{
	struct zcrypt_queue *zq = sysfs_priv(attr);

	return sysfs_emit(buf, "%d\n", atomic_load(&zq->load));
}

static const struct sysfs_attr_ops card_type_ops = { .show = card_type_show };
static const struct sysfs_attr_ops card_online_ops = {
	.show = card_online_show, .store = card_online_store };
static const struct sysfs_attr_ops card_load_ops = { .show = card_load_show };
static const struct sysfs_attr_ops queue_online_ops = {
	.show = queue_online_show, .store = queue_online_store };
static const struct sysfs_attr_ops queue_load_ops = { .show = queue_load_show };

int zcrypt_sysfs_card_add(struct zcrypt_card *zc)
{
	struct sysfs_node *dir = zc->card->ap_dev.dev.sysfs_dir;

	zc->attrs[0] = sysfs_add_attr(dir, "type", 0444, &card_type_ops, zc);
	zc->attrs[1] = sysfs_add_attr(dir, "online", 0644, &card_online_ops, zc);
	zc->attrs[2] = sysfs_add_attr(dir, "load", 0444, &card_load_ops, zc);
	return zc->attrs[0] && zc->attrs[1] && zc->attrs[2] ? 0 : -ENOMEM;
}

int zcrypt_sysfs_queue_add(struct zcrypt_queue *zq)
{
	struct sysfs_node *dir = zq->queue->ap_dev.dev.sysfs_dir;

	zq->attrs[0] = sysfs_add_attr(dir, "online", 0644, &queue_online_ops, zq);
	zq->attrs[1] = sysfs_add_attr(dir, "load", 0444, &queue_load_ops, zq);
	return zq->attrs[0] && zq->attrs[1] ? 0 : -ENOMEM;
}

void zcrypt_sysfs_remove(struct sysfs_node **attrs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		sysfs_remove(attrs[i]);
		attrs[i] = NULL;
	}
}

/* ---- the request distributor ---------------------------------------------- */

struct zcrypt_track {
	int again_counter;
	ap_qid_t last_qid;
	bool has_last;
};

/* What a request needs of a queue. */
struct zcrypt_want {
	unsigned int len;		/* modulus length */
	bool crt;
	unsigned long apm[AP_MASK_LONGS], aqm[AP_MASK_LONGS];	/* the node's perms */
};

static bool card_eligible(struct zcrypt_card *zc, const struct zcrypt_want *w)
{
	struct ap_card *ac = zc->card;

	if (!zc_online(zc) || !__atomic_load_n(&ac->config, __ATOMIC_RELAXED) ||
	    __atomic_load_n(&ac->chkstop, __ATOMIC_RELAXED) ||
	    !(ac->hwinfo.accel || ac->hwinfo.cca))
		return false;
	if (zc->min_mod_size > (int)w->len || zc->max_mod_size < (int)w->len)
		return false;
	return test_bit_inv((unsigned int)ac->id, w->apm);
}

static bool queue_eligible(struct zcrypt_queue *zq, const struct zcrypt_want *w)
{
	bool has_op = w->crt ? zq->ops->rsa_modexpo_crt != NULL : zq->ops->rsa_modexpo != NULL;

	return zq_online(zq) && has_op && ap_queue_usable(zq->queue) &&
	       test_bit_inv(AP_QID_QUEUE(zq->queue->qid), w->aqm);
}

/* A retry avoids the card and queue that just failed. */
static long penalty(const struct zcrypt_track *tr, bool same, long weight)
{
	return tr->again_counter && tr->has_last && same ? weight : 0;
}

static uint64_t queue_requests(struct zcrypt_queue *zq)
{
	return __atomic_load_n(&zq->queue->total_request_count, __ATOMIC_RELAXED);
}

/* The least loaded eligible queue, referenced, its load raised. */
static struct zcrypt_queue *zcrypt_pick_queue(struct zcrypt *z, const struct zcrypt_want *w,
					      const struct zcrypt_track *tr)
{
	struct zcrypt_queue *zq, *pref = NULL;
	struct zcrypt_card *zc;
	long best = 0;

	uvf_mutex_lock(&z->list_lock);
	list_for_each_entry(zc, &z->cards, list) {
		long cw;

		if (!card_eligible(zc, w))
			continue;
		cw = atomic_load(&zc->load) +
		     penalty(tr, AP_QID_CARD(tr->last_qid) == (unsigned int)zc->card->id,
			     TRACK_AGAIN_CARD_WEIGHT_PENALTY);
		list_for_each_entry(zq, &zc->zqueues, list) {
			long qw;

			if (!queue_eligible(zq, w))
				continue;
			qw = cw + atomic_load(&zq->load) +
			     penalty(tr, tr->last_qid == zq->queue->qid,
				     TRACK_AGAIN_QUEUE_WEIGHT_PENALTY);
			if (pref && (qw > best ||
				     (qw == best && queue_requests(zq) >= queue_requests(pref))))
				continue;
			pref = zq;
			best = qw;
		}
	}
	if (pref) {
		uvf_ref_get(&pref->ref);
		atomic_fetch_add(&pref->zcard->load, 1);
		atomic_fetch_add(&pref->load, 1);
		pref->request_count++;
	}
	uvf_mutex_unlock(&z->list_lock);
	return pref;
}

static void zcrypt_drop_queue(struct zcrypt *z, struct zcrypt_queue *zq)
{
	uvf_mutex_lock(&z->list_lock);
	zq->request_count--;
	atomic_fetch_sub(&zq->zcard->load, 1);
	atomic_fetch_sub(&zq->load, 1);
	uvf_mutex_unlock(&z->list_lock);
	zcrypt_queue_put(zq);
}

/* One attempt of a modexpo (crt == NULL) or CRT request. */
static long zcrypt_rsa(struct zcrypt *z, struct uvf_caller *c, struct zcrypt_track *tr,
		       struct ica_rsa_modexpo *mex, struct ica_rsa_modexpo_crt *crt)
{
	struct zcrypt_want w = { .crt = crt != NULL };
	struct ap_message msg;
	struct zcrypt_queue *zq;
	long rc;

	w.len = crt ? crt->inputdatalength : mex->inputdatalength;
	ap_perms_get(z->bus, w.apm, w.aqm);
	rc = ap_init_apmsg(&msg, AP_DEFAULT_MAX_MSG_SIZE);
	if (rc)
		return rc;
	zq = zcrypt_pick_queue(z, &w, tr);
	if (!zq) {
		ap_release_apmsg(&msg);
		return -ENODEV;
	}
	rc = crt ? zq->ops->rsa_modexpo_crt(zq, c, crt, &msg) :
		   zq->ops->rsa_modexpo(zq, c, mex, &msg);
	tr->last_qid = zq->queue->qid;
	tr->has_last = true;
	zcrypt_drop_queue(z, zq);
	ap_release_apmsg(&msg);
	return rc;
}

/* The length checks, then attempts while the answer is -EAGAIN. */
static long zcrypt_rsa_retry(struct zcrypt *z, struct uvf_caller *c, struct ica_rsa_modexpo *mex,
			     struct ica_rsa_modexpo_crt *crt)
{
	uint32_t *inlen = crt ? &crt->inputdatalength : &mex->inputdatalength;
	uint32_t *outlen = crt ? &crt->outputdatalength : &mex->outputdatalength;
	struct zcrypt_track tr = { 0 };
	long rc;

	if (*outlen < *inlen)
		return -EINVAL;
	*outlen = *inlen;	/* the bytes that will be written */
	if (!*inlen)
		return -EINVAL;
	do {
		rc = zcrypt_rsa(z, c, &tr, mex, crt);
	} while (rc == -EAGAIN && ++tr.again_counter < TRACK_AGAIN_MAX);
	if (rc == -EAGAIN && tr.again_counter >= TRACK_AGAIN_MAX)
		rc = -EIO;
	return rc;
}

static long icarsamodexpo_ioctl(struct zcrypt *z, struct uvf_caller *c, uint64_t arg)
{
	struct ica_rsa_modexpo mex;
	long rc;

	if (copy_from_user(c, &mex, arg, sizeof(mex)))
		return -EFAULT;
	rc = zcrypt_rsa_retry(z, c, &mex, NULL);
	if (rc)
		return rc;
	return copy_to_user(c, arg + offsetof(struct ica_rsa_modexpo, outputdatalength),
			    &mex.outputdatalength, sizeof(mex.outputdatalength));
}

static long icarsacrt_ioctl(struct zcrypt *z, struct uvf_caller *c, uint64_t arg)
{
	struct ica_rsa_modexpo_crt crt;
	long rc;

	if (copy_from_user(c, &crt, arg, sizeof(crt)))
		return -EFAULT;
	rc = zcrypt_rsa_retry(z, c, NULL, &crt);
	if (rc)
		return rc;
	return copy_to_user(c, arg + offsetof(struct ica_rsa_modexpo_crt, outputdatalength),
			    &crt.outputdatalength, sizeof(crt.outputdatalength));
}

/* ---- status ioctls -------------------------------------------------------- */

enum zcrypt_stat { STAT_TYPE, STAT_QDEPTH, STAT_REQCNT, STAT_REQUESTQ, STAT_PENDINGQ };

/* A per-card array (status, depth, request count) of the default
 * domain's queues, or a sum over them. */
static long zcrypt_stat(struct zcrypt *z, enum zcrypt_stat what, void *out, size_t ncards)
{
	int dom = ap_domain_index(z->bus);
	struct zcrypt_queue *zq;
	struct zcrypt_card *zc;
	long sum = 0;

	uvf_mutex_lock(&z->list_lock);
	list_for_each_entry(zc, &z->cards, list) {
		list_for_each_entry(zq, &zc->zqueues, list) {
			struct ap_queue *aq = zq->queue;
			unsigned int card = AP_QID_CARD(aq->qid);

			/* ncards 0: a sum, every card counts */
			if ((int)AP_QID_QUEUE(aq->qid) != dom || (ncards && card >= ncards))
				continue;
			uvf_mutex_lock(&aq->lock);
			if (what == STAT_TYPE)
				((uint8_t *)out)[card] = (uint8_t)(zc_online(zc) ? zc->user_space_type :
									 ZCRYPT_DISABLED);
			else if (what == STAT_QDEPTH)
				((uint8_t *)out)[card] =
					(uint8_t)(aq->pendingq_count + aq->requestq_count);
			else if (what == STAT_REQCNT)
				((uint32_t *)out)[card] = queue_requests(zq) < UINT32_MAX ?
					(uint32_t)queue_requests(zq) : UINT32_MAX;
			else
				sum += what == STAT_REQUESTQ ? aq->requestq_count :
							       aq->pendingq_count;
			uvf_mutex_unlock(&aq->lock);
		}
	}
	uvf_mutex_unlock(&z->list_lock);
	return sum;
}

static long stat_array_ioctl(struct zcrypt *z, struct uvf_caller *c, uint64_t arg,
			     enum zcrypt_stat what, size_t ncards)
{
	uint32_t buf[MAX_ZDEV_CARDIDS_EXT];
	size_t elem = what == STAT_REQCNT ? sizeof(uint32_t) : 1;

	memset(buf, 0, sizeof(buf));
	zcrypt_stat(z, what, buf, ncards);
	return copy_to_user(c, arg, buf, elem * ncards);
}

static long put_int(struct uvf_caller *c, uint64_t arg, int v)
{
	return copy_to_user(c, arg, &v, sizeof(v));
}

/* The ioctl numbers /dev/z90crypt may use: all (ap_perms.ioctlm is full),
 * but nr 0 and nr >= 256 are refused, as zcrypt_check_ioctl does. */
static int zcrypt_check_ioctl(unsigned int cmd)
{
	unsigned int nr = _IOC_NR(cmd);

	return nr > 0 && nr < 256 ? 0 : -EPERM;
}

static long zcrypt_ioctl(struct uvf_file *f, struct uvf_caller *c, unsigned int cmd,
			 uint64_t arg)
{
	struct zcrypt *z = f->private_data;
	int rc = zcrypt_check_ioctl(cmd);

	if (rc)
		return rc;
	switch (cmd) {
	case ICARSAMODEXPO:
		return icarsamodexpo_ioctl(z, c, arg);
	case ICARSACRT:
		return icarsacrt_ioctl(z, c, arg);
	case ZCRYPT_STATUS_MASK:
		return stat_array_ioctl(z, c, arg, STAT_TYPE, MAX_ZDEV_CARDIDS_EXT);
	case ZCRYPT_QDEPTH_MASK:
		return stat_array_ioctl(z, c, arg, STAT_QDEPTH, MAX_ZDEV_CARDIDS_EXT);
	case ZCRYPT_PERDEV_REQCNT:
		return stat_array_ioctl(z, c, arg, STAT_REQCNT, MAX_ZDEV_CARDIDS_EXT);
	case Z90STAT_STATUS_MASK:
		return stat_array_ioctl(z, c, arg, STAT_TYPE, MAX_ZDEV_CARDIDS);
	case Z90STAT_QDEPTH_MASK:
		return stat_array_ioctl(z, c, arg, STAT_QDEPTH, MAX_ZDEV_CARDIDS);
	case Z90STAT_PERDEV_REQCNT:
		return stat_array_ioctl(z, c, arg, STAT_REQCNT, MAX_ZDEV_CARDIDS);
	case Z90STAT_REQUESTQ_COUNT:
		return put_int(c, arg, (int)zcrypt_stat(z, STAT_REQUESTQ, NULL, 0));
	case Z90STAT_PENDINGQ_COUNT:
		return put_int(c, arg, (int)zcrypt_stat(z, STAT_PENDINGQ, NULL, 0));
	case Z90STAT_TOTALOPEN_COUNT:
		return put_int(c, arg, atomic_load(&z->open_count));
	case Z90STAT_DOMAIN_INDEX:
		return put_int(c, arg, ap_domain_index(z->bus));
	default:
		return -ENOTTY;
	}
}

static void zcrypt_release(struct uvf_file *f)
{
	struct zcrypt *z = f->private_data;

	atomic_fetch_sub(&z->open_count, 1);
}

static const struct uvf_file_ops zcrypt_fops = {
	.name = "z90crypt",
	.ioctl = zcrypt_ioctl,
	.release = zcrypt_release,
};

static int zcrypt_devnode_open(struct uvf_devnode *dn, struct uvf_caller *c, int flags,
			       struct uvf_file **out)
{
	struct zcrypt *z = dn->priv;

	*out = file_alloc(z->bus->host, &zcrypt_fops, z, flags, c);
	if (!*out)
		return -ENOMEM;
	atomic_fetch_add(&z->open_count, 1);
	return 0;
}

static const struct uvf_devnode_ops zcrypt_devnode_ops = {
	.open = zcrypt_devnode_open,
};

int zcrypt_init(struct ap_bus *bus)
{
	struct zcrypt *z = calloc(1, sizeof(*z));
	int ret;

	if (!z)
		return -ENOMEM;
	z->bus = bus;
	uvf_mutex_init(&z->list_lock);
	list_init(&z->cards);
	list_init(&z->card_driver.link);
	list_init(&z->queue_driver.link);
	bus->zcrypt = z;
	ret = zcrypt_cex4_init(z);
	if (ret)
		return ret;
	snprintf(z->devnode.path, sizeof(z->devnode.path), "/dev/z90crypt");
	z->devnode.mode = 0666;
	z->devnode.major = 10;
	z->devnode.minor = Z90CRYPT_MINOR;
	z->devnode.ops = &zcrypt_devnode_ops;
	z->devnode.priv = z;
	ret = devnode_add(bus->host, &z->devnode);
	z->devnode_added = ret == 0;
	return ret;
}

/* No file of the node may be open any more (host teardown). */
void zcrypt_exit(struct ap_bus *bus)
{
	struct zcrypt *z = bus->zcrypt;

	if (!z)
		return;
	if (z->devnode_added)
		devnode_del(bus->host, &z->devnode);
	zcrypt_cex4_exit(z);
	uvf_mutex_destroy(&z->list_lock);
	free(z);
	bus->zcrypt = NULL;
}
