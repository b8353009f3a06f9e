#include "gate.h"
#include "gl_log.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

atomic_bool gl_gate_open_flag;

static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
/* the held locks, or the ones being waited for */
static struct gl_gpu_hold hold = GL_GPU_HOLD_INIT;
/* On the heap, from the first GPU call on: a 4 KiB path in .bss would cost
 * every process an extra mmap at load time. */
static struct gl_lock_settings *config;
/* 0 unread, 1 being read, 2 read. Not pthread_once around the read: a
 * child forked in the middle would wait for a reader it does not have;
 * the fork handler (registered first, with a pthread_once, which glibc
 * starts over in a child) sets the state back to unread there. */
static atomic_int config_state;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static const char *env(const char *name)
{
	return getenv(name);
}

static void atfork_register(void);

const struct gl_lock_settings *gl_gate_config(void)
{
	int expect = 0;

	if (atomic_load_explicit(&config_state, memory_order_acquire) == 2)
		return config;
	/* Before the read: a fork in the middle of it must find the handler
	 * that resets the state in the child, or the child would wait for a
	 * reader that does not exist there. */
	pthread_once(&atfork_once, atfork_register);
	if (atomic_compare_exchange_strong(&config_state, &expect, 1)) {
		config = calloc(1, sizeof *config);
		if (config) {
			gl_lock_settings_load(config, env, gl_settings_warn_stderr);
			config->interruptible = true; /* Ctrl-C reaches a waiting host */
		}
		atomic_store_explicit(&config_state, 2, memory_order_release);
	}
	while (atomic_load_explicit(&config_state, memory_order_acquire) != 2)
		sched_yield(); /* another thread is reading a few variables */
	return config;
}

/* In a child forked while another thread of the parent was inside the gate,
 * that thread is gone and may have held the mutex: start over. A lock the
 * parent holds is shared with the child (flock belongs to the open file
 * description, which the child inherits). A wait in progress is inherited
 * too: the child's own first GPU call waits on that same description (see
 * gl_gpu_lock_take), so parent and child end up sharing the lock. */
static void atfork_child(void)
{
	pthread_mutex_init(&gate_mu, NULL);
	if (atomic_load(&config_state) == 1)
		atomic_store(&config_state, 0);
}

static void atfork_register(void)
{
	pthread_atfork(NULL, NULL, atfork_child);
}

enum gl_gpu_result gl_gate_enter(const char *point, const char *how)
{
	const struct gl_lock_settings *cfg = gl_gate_config();
	enum gl_gpu_result r = GL_GPU_LOCKED;

	if (!cfg) {
		gl_log("pid %d: %s: out of memory for the GPU lock settings", (int)getpid(), point);
		return GL_GPU_FAILED;
	}
	pthread_mutex_lock(&gate_mu);
	if (!gl_gate_open()) {
		if (cfg->debug)
			gl_log("pid %d: %s reached %s", (int)getpid(), point, how);
		r = gl_gpu_lock_take(cfg, point, &hold);
		if (gl_gpu_result_ok(r))
			atomic_store_explicit(&gl_gate_open_flag, true, memory_order_release);
	}
	pthread_mutex_unlock(&gate_mu);
	return r;
}
