/* The gate every GPU entry point passes: the first caller takes the GPU lock
 * (through the lock core), everyone after that pays one atomic load. */
#ifndef GL_GATE_H
#define GL_GATE_H

#include "gl_lock_settings.h"
#include "gl_gpu.h"

#include <stdatomic.h>
#include <stdbool.h>

extern atomic_bool gl_gate_open_flag;

static inline bool gl_gate_open(void)
{
	return atomic_load_explicit(&gl_gate_open_flag, memory_order_acquire);
}

/* Settings, read from the environment on first use; NULL only when out of
 * memory. */
const struct gl_lock_settings *gl_gate_config(void);

/* Take the lock for this process (once; concurrent callers wait for the
 * first). point is the entry point, how says how the program reached it. */
enum gl_gpu_result gl_gate_enter(const char *point, const char *how);

#endif
