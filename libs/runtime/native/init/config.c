/*
 * The container's config as the agent writes it on CONTROL_FD (src/init/init.wire.ts writes it):
 *
 *   u32 little-endian   length of what follows
 *   "tide-init 1"       the format's name and version
 *   hostname, log path, root, overlay options, working dir, user     one string each
 *   flags, capabilities                                                decimal
 *   argc, then argc strings; envc, then envc strings
 *   bind count, then per bind: source, target, flags (decimal)
 *   seccomp length (decimal, bytes), then that many bytes of struct sock_filter
 *
 * Every string ends with a NUL, and none holds one. Anything else (a string cut short, a number
 * that is not one, bytes left over) fails the start: a binary and an agent out of step must say so.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include "init.h"

static const char FORMAT[] = "tide-init 1";
/* Far above a real config (argv and env cannot pass execve's ARG_MAX, a few MB): a bad length must
 * not make the init allocate the machine's memory. */
static const uint32_t MAX_CONFIG_BYTES = 64u << 20;

struct cursor {
  const char *at;
  const char *end;
};

static const char *next_string(struct cursor *c, const char *what) {
  const char *nul = memchr(c->at, '\0', (size_t)(c->end - c->at));
  if (!nul) fail(0, "the agent's config ends inside %s", what);
  const char *s = c->at;
  c->at = nul + 1;
  return s;
}

static uint64_t next_number(struct cursor *c, const char *what) {
  const char *text = next_string(c, what);
  char *end;
  errno = 0;
  unsigned long long n = strtoull(text, &end, 10);
  if (errno != 0 || *text < '0' || *text > '9' || *end != '\0') fail(0, "the agent's config has \"%s\" as %s, not a number", text, what);
  return n;
}

/* `extra` spare NULL slots after the list's own (room for an added entry). */
static char **next_list(struct cursor *c, const char *what, size_t extra) {
  uint64_t count = next_number(c, what);
  if (count > (uint64_t)(c->end - c->at)) fail(0, "the agent's config counts %llu %s in fewer bytes", (unsigned long long)count, what);
  char **list = calloc(count + 1 + extra, sizeof *list);
  if (!list) fail(ENOMEM, "allocate %s", what);
  for (uint64_t i = 0; i < count; i++) list[i] = (char *)next_string(c, what);
  return list;
}

static void next_binds(struct cursor *c, struct init_config *config) {
  uint64_t count = next_number(c, "the bind count");
  if (count > (uint64_t)(c->end - c->at)) fail(0, "the agent's config counts %llu binds in fewer bytes", (unsigned long long)count);
  config->bind_count = count;
  config->binds = calloc(count ? count : 1, sizeof *config->binds);
  if (!config->binds) fail(ENOMEM, "allocate the binds");
  for (size_t i = 0; i < count; i++) {
    config->binds[i].source = next_string(c, "a bind's source");
    config->binds[i].target = next_string(c, "a bind's target");
    config->binds[i].flags = (unsigned)next_number(c, "a bind's flags");
    if (config->binds[i].target[0] != '/') fail(0, "bind target %s is not an absolute path", config->binds[i].target);
  }
}

/* Copied out: the filter's instructions need their alignment, which a byte offset does not promise. */
static void next_seccomp(struct cursor *c, struct init_config *config) {
  uint64_t bytes = next_number(c, "the seccomp program's length");
  if (bytes > (uint64_t)(c->end - c->at)) fail(0, "the agent's config ends inside the seccomp program");
  if (bytes % sizeof(struct sock_filter) != 0 || bytes / sizeof(struct sock_filter) > BPF_MAXINSNS) {
    fail(0, "a seccomp program of %llu bytes is not one of at most %d instructions", (unsigned long long)bytes, BPF_MAXINSNS);
  }
  config->seccomp.len = (unsigned short)(bytes / sizeof(struct sock_filter));
  config->seccomp.filter = NULL;
  if (bytes == 0) return;
  config->seccomp.filter = malloc(bytes);
  if (!config->seccomp.filter) fail(ENOMEM, "allocate the seccomp program");
  memcpy(config->seccomp.filter, c->at, bytes);
  c->at += bytes;
}

static void parse(struct cursor *c, struct init_config *config) {
  const char *format = next_string(c, "the format's name");
  if (strcmp(format, FORMAT) != 0) fail(0, "the agent wrote a config in format \"%s\", this init reads \"%s\" (rebuild with scripts/build.sh)", format, FORMAT);
  config->hostname = next_string(c, "the hostname");
  config->log_path = next_string(c, "the log path");
  config->root = next_string(c, "the root");
  config->overlay_options = next_string(c, "the overlay's options");
  config->working_dir = next_string(c, "the working dir");
  config->user = next_string(c, "the user");
  config->flags = (unsigned)next_number(c, "the flags");
  config->capabilities = next_number(c, "the capabilities");
  config->argv = next_list(c, "argv", 0);
  if (!config->argv[0]) fail(0, "the agent's config has no command");
  config->env = next_list(c, "env", 1); /* HOME may be added (user.c) */
  next_binds(c, config);
  next_seccomp(c, config);
  if (c->at != c->end) fail(0, "the agent's config has %zu bytes after its end", (size_t)(c->end - c->at));
}

/*
 * Blocks until the agent writes the config: at once for a cold start, for as long as the init waits
 * in the warm pool otherwise. EOF instead (the runtime gave the init up, or the agent is gone): exit
 * quietly. Once claimed the death signal is cleared: a container outlives the agent (the next agent
 * adopts it), and the setting would survive execve.
 */
void read_config(struct init_config *config) {
  step("readConfig");
  unsigned char header[4];
  if (read_full(CONTROL_FD, header, sizeof header) != sizeof header) agent_gone();
  if (prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0) < 0) fail(errno, "prctl PR_SET_PDEATHSIG 0");
  uint32_t length = (uint32_t)header[0] | (uint32_t)header[1] << 8 | (uint32_t)header[2] << 16 | (uint32_t)header[3] << 24;
  if (length > MAX_CONFIG_BYTES) fail(0, "the agent's config says it has %u bytes (at most %u)", length, MAX_CONFIG_BYTES);
  char *buffer = malloc(length ? length : 1);
  if (!buffer) fail(ENOMEM, "allocate %u bytes for the config", length);
  if (read_full(CONTROL_FD, buffer, length) != length) agent_gone();
  struct cursor cursor = {buffer, buffer + length};
  parse(&cursor, config);
}
