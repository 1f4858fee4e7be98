// SPDX-License-Identifier: MIT
/*
 * How the host drives its queues' state machines (the kernel's
 * ap_tasklet_fn, its high-resolution poll timer, the poll thread and the
 * adapter interruption handler): one thread per bus runs the state
 * machine of every bound queue when it is kicked (an AP interruption, or
 * the poll_thread mode) or when the armed timer expires.
 *
 * With interruptions (facility 65, ap_interrupts 1) a queue waiting for a
 * reply sleeps until the machine interrupts; without them the bus polls
 * every poll_timeout ns (250 us by default) while requests are pending,
 * and every 40 ms in the slow states (reset).
 *
 * Lock order: bus->queues_lock -> aq->lock -> poll.lock (a leaf; ap_wait
 * takes it under aq->lock).  The interruption handler runs on an
 * adapter's thread with no lock held and only kicks.
 */
#include <errno.h>
#include <time.h>
#include "ap_priv.h"
#include "../base/log.h"

#define AP_POLL_HIGH_TIMEOUT_NS	250000ull
#define AP_POLL_LOW_TIMEOUT_NS	40000000ull
#define AP_POLL_TIMEOUT_MAX_NS	120000000000ull

static void poll_kick(struct ap_poll *poll)
{
	uvf_mutex_lock(&poll->lock);
	poll->kick = true;
	pthread_cond_signal(&poll->cond);
	uvf_mutex_unlock(&poll->lock);
}

/* Arm the timer unless it is armed already. */
static void poll_arm(struct ap_poll *poll, uint64_t timeout_ns)
{
	uvf_mutex_lock(&poll->lock);
	if (!poll->deadline_ns) {
		poll->deadline_ns = ap_hw_now_ns() + timeout_ns;
		pthread_cond_signal(&poll->cond);
	}
	uvf_mutex_unlock(&poll->lock);
}

void ap_wait(struct ap_bus *bus, enum ap_sm_wait wait)
{
	struct ap_poll *poll = &bus->poll;
	uint64_t high;

	switch (wait) {
	case AP_SM_WAIT_AGAIN:
	case AP_SM_WAIT_INTERRUPT:
		if (bus->irq_flag)
			return;
		if (__atomic_load_n(&poll->thread_flag, __ATOMIC_RELAXED)) {
			poll_kick(poll);
			return;
		}
		/* no poll thread: poll soon */
		__attribute__((fallthrough));
	case AP_SM_WAIT_HIGH_TIMEOUT:
		high = __atomic_load_n(&poll->high_timeout_ns, __ATOMIC_RELAXED);
		poll_arm(poll, high);
		return;
	case AP_SM_WAIT_LOW_TIMEOUT:
		poll_arm(poll, AP_POLL_LOW_TIMEOUT_NS);
		return;
	case AP_SM_WAIT_NONE:
		return;
	}
}

void ap_airq_handler(void *priv, ap_qid_t qid, uint8_t isc, uint64_t nib)
{
	struct ap_bus *bus = priv;

	poll_kick(&bus->poll);
}

/* Every bound queue's state machine once; then wait as the slowest asks. */
static void ap_tasklet_fn(struct ap_bus *bus)
{
	enum ap_sm_wait wait = AP_SM_WAIT_NONE;
	struct ap_queue *aq;

	uvf_mutex_lock(&bus->queues_lock);
	list_for_each_entry(aq, &bus->bound_queues, hnode) {
		enum ap_sm_wait w;

		uvf_mutex_lock(&aq->lock);
		w = ap_sm_event_loop(aq, AP_SM_EVENT_POLL);
		uvf_mutex_unlock(&aq->lock);
		if (w < wait)
			wait = w;
	}
	uvf_mutex_unlock(&bus->queues_lock);
	ap_wait(bus, wait);
}

static bool poll_due(struct ap_poll *poll)
{
	if (poll->kick) {
		poll->kick = false;
		return true;
	}
	if (poll->deadline_ns && ap_hw_now_ns() >= poll->deadline_ns) {
		poll->deadline_ns = 0;
		return true;
	}
	return false;
}

static void *ap_poll_thread(void *arg)
{
	struct ap_bus *bus = arg;
	struct ap_poll *poll = &bus->poll;

	uvf_mutex_lock(&poll->lock);
	while (!poll->stop) {
		struct timespec ts;

		if (poll_due(poll)) {
			uvf_mutex_unlock(&poll->lock);
			ap_tasklet_fn(bus);
			uvf_mutex_lock(&poll->lock);
			continue;
		}
		if (!poll->deadline_ns) {
			pthread_cond_wait(&poll->cond, &poll->lock.m);
			continue;
		}
		ap_ns_to_timespec(poll->deadline_ns, &ts);
		pthread_cond_timedwait(&poll->cond, &poll->lock.m, &ts);
	}
	uvf_mutex_unlock(&poll->lock);
	return NULL;
}

/* The 'poll_thread' attribute: only without interruptions, as the kernel. */
int ap_poll_thread_set(struct ap_bus *bus, bool on)
{
	if (on && bus->irq_flag)
		return 0;
	__atomic_store_n(&bus->poll.thread_flag, on, __ATOMIC_RELAXED);
	if (on)
		poll_kick(&bus->poll);
	return 0;
}

int ap_poll_init(struct ap_bus *bus)
{
	struct ap_poll *poll = &bus->poll;
	int ret;

	uvf_mutex_init(&poll->lock);
	ap_cond_init_monotonic(&poll->cond);
	poll->high_timeout_ns = AP_POLL_HIGH_TIMEOUT_NS;
	if (ap_interrupts_available(bus->mach) && !bus->noirq) {
		ret = ap_airq_register(bus->mach, 0, ap_airq_handler, bus);
		bus->irq_flag = ret == 0;
	}
	if (pthread_create(&poll->thread, NULL, ap_poll_thread, bus))
		return -EAGAIN;
	poll->started = true;
	return 0;
}

void ap_poll_exit(struct ap_bus *bus)
{
	struct ap_poll *poll = &bus->poll;

	if (bus->irq_flag)
		ap_airq_unregister(bus->mach, 0);
	bus->irq_flag = false;
	if (!poll->started)
		return;
	uvf_mutex_lock(&poll->lock);
	poll->stop = true;
	pthread_cond_signal(&poll->cond);
	uvf_mutex_unlock(&poll->lock);
	pthread_join(poll->thread, NULL);
	poll->started = false;
	pthread_cond_destroy(&poll->cond);
	uvf_mutex_destroy(&poll->lock);
}

int ap_poll_timeout_set(struct ap_bus *bus, unsigned long long ns)
{
	if (ns > AP_POLL_TIMEOUT_MAX_NS)
		return -EINVAL;
	__atomic_store_n(&bus->poll.high_timeout_ns, (uint64_t)ns, __ATOMIC_RELAXED);
	return 0;
}
