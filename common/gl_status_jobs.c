#include "gl_status_jobs.h"
#include "gl_proc_locks.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* A job's file name: job.<uid>.<pid>.<start> or group.<uid>.<name>. */
static bool parse_key(const char *name, struct gl_status_job *j)
{
	unsigned uid;
	int pid, at = 0;
	unsigned long long start;

	memset(j, 0, sizeof *j);
	if (sscanf(name, "job.%u.%d.%llu%n", &uid, &pid, &start, &at) == 3 && name[at] == '\0' &&
	    pid > 0) {
		j->uid = (uid_t)uid;
		j->launcher = pid;
		j->start = start;
		return true;
	}
	if (sscanf(name, "group.%u.%n", &uid, &at) == 1 && at > 0 && name[at] &&
	    strlen(name + at) < sizeof j->group) {
		j->uid = (uid_t)uid;
		snprintf(j->group, sizeof j->group, "%s", name + at);
		return true;
	}
	return false;
}

static void collect(const struct gl_lock_entry *e, void *arg)
{
	struct gl_status_jobs *jobs = arg;

	if (e->waiting || e->pid <= 0)
		return;
	for (size_t i = 0; i < jobs->n; i++) {
		struct gl_status_job *j = &jobs->job[i];
		bool seen = false;

		if (e->maj != j->maj || e->min != j->min || e->ino != j->ino)
			continue;
		for (size_t k = 0; k < j->nranks && !seen; k++)
			seen = j->rank[k] == e->pid; /* a line read twice */
		if (!seen && j->nranks < GL_STATUS_MAX_RANKS)
			j->rank[j->nranks++] = e->pid;
		return;
	}
}

int gl_status_jobs_read(const char *gpu_dir, struct gl_status_jobs *jobs)
{
	DIR *d = opendir(gpu_dir);
	struct dirent *e;
	size_t kept = 0;
	int r;

	jobs->n = 0;
	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL && jobs->n < GL_STATUS_MAX_JOBS) {
		struct gl_status_job *j = &jobs->job[jobs->n];
		struct stat st;

		if (!parse_key(e->d_name, j) ||
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
		    st.st_uid != j->uid)
			continue;
		j->maj = major(st.st_dev);
		j->min = minor(st.st_dev);
		j->ino = st.st_ino;
		jobs->n++;
	}
	closedir(d);
	if ((r = gl_proc_locks_scan("/proc/locks", collect, jobs)) < 0) {
		jobs->n = 0;
		return r;
	}
	/* files of jobs that have ended: nobody holds them */
	for (size_t i = 0; i < jobs->n; i++)
		if (jobs->job[i].nranks)
			jobs->job[kept++] = jobs->job[i];
	jobs->n = kept;
	return 0;
}

const struct gl_status_job *gl_status_job_of(const struct gl_status_jobs *jobs, pid_t pid)
{
	for (size_t i = 0; jobs && i < jobs->n; i++)
		for (size_t k = 0; k < jobs->job[i].nranks; k++)
			if (jobs->job[i].rank[k] == pid)
				return &jobs->job[i];
	return NULL;
}
