/* The ranks of one multi-process job (torchrun, deepspeed, accelerate,
 * mpirun, srun, or processes that name a GPU_LOCK_GROUP): they share the
 * GPU lock instead of waiting for each other, which would deadlock them in
 * their first collective.
 *
 * How a job is recognised, exactly: a process is a rank when
 *   - its environment has a rank variable of a launcher: RANK or LOCAL_RANK
 *     (torch.distributed, deepspeed, accelerate), OMPI_COMM_WORLD_RANK or
 *     PMIX_RANK (Open MPI), PMI_RANK (MPICH's Hydra), or SLURM_PROCID
 *     with a numbered SLURM_STEP_ID (an srun step, not the batch script);
 *   - and one of its ancestors, found by walking up from its parent through
 *     processes of its own user, is a launcher, by its command line: a
 *     program (or Python script) named torchrun, deepspeed, accelerate,
 *     mpirun, mpiexec, mpiexec.hydra, orterun, prterun, orted, prted,
 *     hydra_pmi_proxy, or python -m torch.distributed.run,
 *     torch.distributed.launch, deepspeed.launcher.launch or
 *     accelerate.commands.launch; or Slurm's slurmstepd (root's). The
 *     nearest such ancestor is the job's launcher, named by its pid and
 *     start time.
 * Two ranks share when they have the same launcher, and the same user.
 * GPU_LOCK_GROUP=name puts every process of one user that sets the same
 * name in one group, launcher or not.
 *
 * A stray RANK in a shell's environment is not enough: the processes it
 * starts have no launcher above them, and take turns as ever. */
#ifndef GL_JOB_H
#define GL_JOB_H

#include "gl_lock_settings.h"

#include <stdbool.h>
#include <sys/types.h>

struct gl_job {
	pid_t launcher;      /* 0 for a GPU_LOCK_GROUP */
	char launcher_name[32]; /* "torchrun", ...; the group's name */
	char key[128];       /* the group's file name in the per-GPU lock directory */
};

/* Is this process a rank of a job, as cfg (GPU_LOCK_GROUP, the rank
 * variables) and its ancestors say? Reads /proc only when cfg names a
 * group or has a rank variable. */
bool gl_job_find(const struct gl_lock_settings *cfg, struct gl_job *job);

/* Is name a valid GPU_LOCK_GROUP: 1 to 64 of A-Z a-z 0-9 . _ - */
bool gl_job_group_name_ok(const char *name);

#endif
