#include "gate.h"
#include "gl_log.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

atomic_bool gl_gate_open_flag;

static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static int lock_fd = -1; /* the held lock, or the one being waited for */
static struct gl_gpu_config config;
static pthread_once_t config_once = PTHREAD_ONCE_INIT;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static const char *env(const char *name)
{
	return getenv(name);
}

static void config_load(void)
{
	gl_gpu_config_load(&config, env, gl_config_warn_stderr);
}

const struct gl_gpu_config *gl_gate_config(void)
{
	pthread_once(&config_once, config_load);
	return &config;
}

/* In a child forked while another thread of the parent waited for the lock,
 * that thread is gone and the mutex may be held by it: start over. A lock we
 * already hold stays shared with the child (flock belongs to the open file
 * description); a wait in progress is the parent's business, so the child
 * closes its copy of that fd. */
static void atfork_child(void)
{
	pthread_mutex_init(&gate_mu, NULL);
	if (!atomic_load(&gl_gate_open_flag) && lock_fd >= 0) {
		close(lock_fd);
		lock_fd = -1;
	}
}

static void atfork_register(void)
{
	pthread_atfork(NULL, NULL, atfork_child);
}

enum gl_gpu_result gl_gate_enter(const char *point, const char *how)
{
	const struct gl_gpu_config *cfg = gl_gate_config();
	enum gl_gpu_result r = GL_GPU_LOCKED;

	pthread_once(&atfork_once, atfork_register);
	pthread_mutex_lock(&gate_mu);
	if (!gl_gate_open()) {
		if (cfg->debug)
			gl_log("pid %d: %s reached %s", (int)getpid(), point, how);
		r = gl_gpu_lock_take(cfg, point, &lock_fd);
		if (gl_gpu_result_ok(r))
			atomic_store_explicit(&gl_gate_open_flag, true, memory_order_release);
	}
	pthread_mutex_unlock(&gate_mu);
	return r;
}
