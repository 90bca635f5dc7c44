/*
 * What the init tells the agent: a failure as one line on the status pipe (the agent's start fails
 * with that text), and, for a traced start, its step marks on the report pipe just before execve.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "init.h"

static const char *current_step = "boot";

void step(const char *name) {
  current_step = name;
}

void fail(int err, const char *format, ...) {
  char message[1024];
  va_list args;
  va_start(args, format);
  vsnprintf(message, sizeof message, format, args);
  va_end(args);
  /* The text the agent's start fails with (src/container/launch.ts): it names the step, what was
   * attempted on what, and the kernel's answer. */
  if (err != 0) dprintf(STATUS_FD, "container init, step %s: %s: %s", current_step, message, strerror(err));
  else dprintf(STATUS_FD, "container init, step %s: %s", current_step, message);
  _exit(127);
}

void agent_gone(void) {
  _exit(0);
}

size_t read_full(int fd, void *buffer, size_t size) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = read(fd, (char *)buffer + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(errno, "read fd %d", fd);
    if (n == 0) break;
    done += (size_t)n;
  }
  return done;
}

void write_full(int fd, const void *buffer, size_t size) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = write(fd, (const char *)buffer + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(errno, "write fd %d", fd);
    done += (size_t)n;
  }
}

/* The start benchmark's breakdown (src/init/start.trace.ts): milliseconds on CLOCK_MONOTONIC, the
 * clock of the agent's process.hrtime, so that both sides' marks line up. */
enum { MAX_MARKS = 16 };
static struct {
  const char *what;
  double at;
} marks[MAX_MARKS];
static int mark_count;

void mark(const char *what) {
  if (mark_count == MAX_MARKS) return;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  marks[mark_count].what = what;
  marks[mark_count].at = (double)now.tv_sec * 1e3 + (double)now.tv_nsec / 1e6;
  mark_count++;
}

/* As JSON, [{"step":...,"at":...}]: the step names are this program's constants, with nothing to escape. */
void send_marks(void) {
  char json[4096];
  size_t used = 0;
  json[used++] = '[';
  for (int i = 0; i < mark_count; i++) {
    int n = snprintf(json + used, sizeof json - used, "%s{\"step\":\"%s\",\"at\":%.3f}", i ? "," : "", marks[i].what, marks[i].at);
    if (n < 0 || (size_t)n >= sizeof json - used - 1) break;
    used += (size_t)n;
  }
  json[used++] = ']';
  write_full(REPORT_FD, json, used);
  close(REPORT_FD);
}
