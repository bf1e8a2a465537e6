/*
 * regions.c — an OMPT tool (OpenMP 5.0 tools interface, section 4.2) that
 * records which OpenMP parallel regions a process entered, and with how many
 * threads, so that tests/tsan/run.sh can show that every parallel region in
 * src/ ran with a team of two or more threads while ThreadSanitizer watched.
 * A region whose `if` clause was false, or that was entered inside another
 * region, runs with one thread: it is counted, but apart.
 *
 * Loaded by LLVM's OpenMP runtime through OMP_TOOL_LIBRARIES. It forwards
 * every event to the tool named in AD_OMPT_CLIENT (Archer, which tells
 * ThreadSanitizer about OpenMP's synchronisation), through LLVM's
 * header-only multiplexer <ompt-multiplex.h> (package libomp-*-dev).
 *
 * At the end of the process it appends one line per region to the file
 * named in AD_OMPT_REGIONS_OUT (nothing when unset):
 *
 *   MODULE OFFSET WMODULE WOFFSET TEAMS SERIAL MAXTEAM
 *
 * MODULE and OFFSET: the return address of the runtime call that opened the
 * region, as the file of the executable or library holding it and the
 * offset from its load address (hex; symbolize OFFSET - 1 with
 * llvm-symbolizer); WMODULE and WOFFSET the same for the start of the first
 * worksharing loop run in the region ("- 0x0" if none); TEAMS how many times
 * it ran with two or more threads, SERIAL how many times with one, MAXTEAM
 * the largest team.
 *
 * Built without sanitizers as a shared library by tests/tsan/run.sh:
 *   cc -shared -fPIC -O1 -I/usr/lib/llvm-N/include regions.c -o libregions.so
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <omp-tools.h>

#define CLIENT_TOOL_LIBRARIES_VAR "AD_OMPT_CLIENT"
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <ompt-multiplex.h>
#pragma GCC diagnostic pop

#define MAX_REGIONS 512

/*
 * A region is told apart by two code addresses: the return address of the
 * call that opened it (in the function holding the pragma, where the
 * compiler may give it the line of any statement nearby), and that of the
 * first worksharing loop run in it (in the region's own outlined function,
 * on the line of the pragma), none for a plain `parallel`.
 */
struct region {
	const void   *fork;      /* return address of the fork call */
	const void   *work;      /* of the first loop's start, or NULL */
	unsigned long teams;     /* entries with two or more threads */
	unsigned long serial;    /* entries with one thread */
	unsigned int  maxteam;
};

/* One entry of a region, hung on its parallel_data. */
struct entry {
	const void   *fork;
	const void   *work;      /* written by every thread of the team: atomic */
	unsigned int  team;
};

static struct region    regions[MAX_REGIONS];
static int              nregions;
static unsigned long    overflow;
static pthread_mutex_t  lock = PTHREAD_MUTEX_INITIALIZER;

static void
on_parallel_begin(ompt_data_t *encountering_task_data,
    const ompt_frame_t *encountering_task_frame, ompt_data_t *parallel_data,
    unsigned int requested_parallelism, int flags, const void *codeptr_ra)
{
	struct entry *en = calloc(1, sizeof *en);

	(void)encountering_task_data;
	(void)encountering_task_frame;
	(void)requested_parallelism;
	(void)flags;
	if (en != NULL)
		en->fork = codeptr_ra;
	parallel_data->ptr = en;
}

/* The primary thread's implicit task knows the actual team size. */
static void
on_implicit_task(ompt_scope_endpoint_t endpoint, ompt_data_t *parallel_data,
    ompt_data_t *task_data, unsigned int team_size, unsigned int thread_num, int flags)
{
	struct entry *en;

	(void)task_data;
	if (endpoint == ompt_scope_begin && (flags & ompt_task_implicit) && thread_num == 0 &&
	    parallel_data != NULL && (en = parallel_data->ptr) != NULL)
		en->team = team_size;
}

static void
on_work(ompt_work_t wstype, ompt_scope_endpoint_t endpoint, ompt_data_t *parallel_data,
    ompt_data_t *task_data, uint64_t count, const void *codeptr_ra)
{
	struct entry *en;
	const void   *none = NULL;

	(void)wstype;
	(void)task_data;
	(void)count;
	if (endpoint == ompt_scope_begin && parallel_data != NULL &&
	    (en = parallel_data->ptr) != NULL && codeptr_ra != NULL)
		__atomic_compare_exchange_n(&en->work, &none, codeptr_ra, 0, __ATOMIC_RELAXED,
		    __ATOMIC_RELAXED);
}

static void
on_parallel_end(ompt_data_t *parallel_data, ompt_data_t *encountering_task_data, int flags,
    const void *codeptr_ra)
{
	struct entry *en = parallel_data->ptr;
	const void   *work;
	int           i;

	(void)encountering_task_data;
	(void)flags;
	(void)codeptr_ra;
	if (en == NULL)
		return;
	parallel_data->ptr = NULL;
	work = __atomic_load_n(&en->work, __ATOMIC_RELAXED);
	pthread_mutex_lock(&lock);
	for (i = 0; i < nregions && (regions[i].fork != en->fork || regions[i].work != work); i++)
		;
	if (i == nregions && nregions == MAX_REGIONS) {
		overflow++;
	} else {
		if (i == nregions) {
			regions[i].fork = en->fork;
			regions[i].work = work;
			nregions++;
		}
		if (en->team >= 2)
			regions[i].teams++;
		else
			regions[i].serial++;
		if (en->team > regions[i].maxteam)
			regions[i].maxteam = en->team;
	}
	pthread_mutex_unlock(&lock);
	free(en);
}

/* Module and offset in it of a code address, as "MODULE 0xOFFSET". */
static size_t
where(char *buf, size_t size, const void *code)
{
	Dl_info     info;
	const char *name;
	char        exe[4096];
	ssize_t     n;

	if (code == NULL)
		return (size_t)snprintf(buf, size, "- 0x0");
	if (dladdr(code, &info) == 0 || info.dli_fname == NULL)
		return (size_t)snprintf(buf, size, "? %p", code);
	/* The program itself comes back under the name it was started by. */
	name = info.dli_fname;
	if (name[0] != '/' && (n = readlink("/proc/self/exe", exe, sizeof exe - 1)) > 0) {
		exe[n] = '\0';
		if (n > 10 && strcmp(exe + n - 10, " (deleted)") == 0)
			exe[n - 10] = '\0';   /* rebuilt while it ran */
		name = exe;
	}
	return (size_t)snprintf(buf, size, "%s 0x%lx", name,
	    (unsigned long)((uintptr_t)code - (uintptr_t)info.dli_fbase));
}

static int
tool_initialize(ompt_function_lookup_t lookup, int initial_device_num, ompt_data_t *tool_data)
{
	ompt_set_callback_t set_callback = (ompt_set_callback_t)lookup("ompt_set_callback");

	(void)initial_device_num;
	(void)tool_data;
	if (set_callback == NULL)
		return 0;
	set_callback(ompt_callback_parallel_begin, (ompt_callback_t)on_parallel_begin);
	set_callback(ompt_callback_implicit_task, (ompt_callback_t)on_implicit_task);
	set_callback(ompt_callback_work, (ompt_callback_t)on_work);
	set_callback(ompt_callback_parallel_end, (ompt_callback_t)on_parallel_end);
	return 1;
}

static void
tool_finalize(ompt_data_t *tool_data)
{
	const char *out = getenv("AD_OMPT_REGIONS_OUT");
	static char buf[1 << 20];
	size_t      len = 0;
	int         fd;

	(void)tool_data;
	if (out == NULL || *out == '\0')
		return;
	for (int i = 0; i < nregions && len + 9000 < sizeof buf; i++) {
		len += where(buf + len, sizeof buf - len, regions[i].fork);
		buf[len++] = ' ';
		len += where(buf + len, sizeof buf - len, regions[i].work);
		len += (size_t)snprintf(buf + len, sizeof buf - len, " %lu %lu %u\n",
		    regions[i].teams, regions[i].serial, regions[i].maxteam);
	}
	if (overflow > 0)
		len += (size_t)snprintf(buf + len, sizeof buf - len, "OVERFLOW %lu\n", overflow);
	/* One append per process: lines from concurrent processes do not mix. */
	if ((fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0666)) >= 0) {
		if (write(fd, buf, len) < 0)
			perror(out);
		close(fd);
	}
}

ompt_start_tool_result_t *
ompt_start_tool(unsigned int omp_version, const char *runtime_version)
{
	static ompt_start_tool_result_t result = { tool_initialize, tool_finalize, { 0 } };

	(void)omp_version;
	(void)runtime_version;
	return &result;
}
