/*
 * The user a container process runs as: "uid", "uid:gid", "name" or "name:group", names looked up in
 * the image's /etc/passwd and /etc/group (read after pivot_root, so they are the container's files,
 * bind files included), as runc's GetExecUser does. The exec init does the same in TypeScript
 * (src/init/user.ts); both answer the same for the same files.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "init.h"

/* The largest id the kernel accepts; (uid_t)-1 means "unchanged" to the set*id calls. */
static const unsigned long long MAX_ID = 4294967294ull;
enum { MAX_FIELDS = 7 };

/* A file's text, NUL-terminated; a missing file is an empty one (images without /etc/passwd exist). */
static char *read_text(const char *path) {
  static char empty[1];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    if (fd >= 0) close(fd);
    return empty;
  }
  char *text = malloc((size_t)st.st_size + 1);
  if (!text) fail(ENOMEM, "read %s", path);
  size_t length = read_full(fd, text, (size_t)st.st_size);
  text[length] = '\0';
  close(fd);
  return text;
}

static int numeric(const char *text) {
  if (*text == '\0') return 0;
  for (; *text; text++) {
    if (*text < '0' || *text > '9') return 0;
  }
  return 1;
}

static unsigned long long parse_id(const char *text, const char *what) {
  errno = 0;
  unsigned long long id = strtoull(text, NULL, 10);
  if (errno != 0 || id > MAX_ID) fail(0, "%s %s is out of range (at most %llu)", what, text, MAX_ID);
  return id;
}

/* Splits the next line of `*text` at its colons, in place. Answers the field count (0: no more lines);
 * empty lines and comments are skipped. */
static int next_entry(char **text, char *fields[MAX_FIELDS]) {
  while (**text != '\0') {
    char *line = *text;
    char *newline = strchrnul(line, '\n');
    *text = *newline ? newline + 1 : newline;
    *newline = '\0';
    if (*line == '\0' || *line == '#') continue;
    int count = 0;
    for (char *field = line; field && count < MAX_FIELDS; count++) {
      fields[count] = field;
      field = strchr(field, ':');
      if (field) *field++ = '\0';
    }
    return count;
  }
  return 0;
}

/* A passwd entry: name, uid, gid, home ("/" when the entry has none). */
struct passwd_entry {
  const char *name;
  uid_t uid;
  gid_t gid;
  const char *home;
};

/* The first entry whose name is `name` (or, name NULL, whose uid is `uid`). */
static int find_passwd(char *text, const char *name, uid_t uid, struct passwd_entry *found) {
  char *fields[MAX_FIELDS];
  for (int count; (count = next_entry(&text, fields)) > 0;) {
    if (count < 4 || !numeric(fields[2]) || !numeric(fields[3])) continue;
    uid_t entry_uid = (uid_t)strtoull(fields[2], NULL, 10);
    if (name ? strcmp(fields[0], name) != 0 : entry_uid != uid) continue;
    *found = (struct passwd_entry){fields[0], entry_uid, (gid_t)strtoull(fields[3], NULL, 10), count > 5 && *fields[5] ? fields[5] : "/"};
    return 1;
  }
  return 0;
}

static int lists(const char *members, const char *name) {
  size_t length = strlen(name);
  for (const char *at = members; *at;) {
    const char *comma = strchrnul(at, ',');
    if ((size_t)(comma - at) == length && strncmp(at, name, length) == 0) return 1;
    at = *comma ? comma + 1 : comma;
  }
  return 0;
}

/*
 * One pass over /etc/group: the tty group (devpts' owner), the gid of `group_name` when given, and,
 * with `member` given, every group that lists it by name (the supplementary groups, without repeats).
 */
static int scan_groups(char *text, const char *group_name, const char *member, struct process_user *user) {
  char *fields[MAX_FIELDS];
  int found = 0;
  for (int count; (count = next_entry(&text, fields)) > 0;) {
    if (count < 3 || !numeric(fields[2])) continue;
    gid_t gid = (gid_t)strtoull(fields[2], NULL, 10);
    if (user->tty_gid < 0 && strcmp(fields[0], "tty") == 0) user->tty_gid = gid;
    if (group_name && !found && strcmp(fields[0], group_name) == 0) {
      user->gid = gid;
      found = 1;
    }
    if (!member || count < 4 || !lists(fields[3], member)) continue;
    int repeated = 0;
    for (size_t i = 0; i < user->group_count; i++) repeated |= user->groups[i] == gid;
    if (repeated) continue;
    gid_t *grown = realloc(user->groups, (user->group_count + 1) * sizeof *grown);
    if (!grown) fail(ENOMEM, "list the supplementary groups");
    user->groups = grown;
    user->groups[user->group_count++] = gid;
  }
  return found;
}

/* Undefined or empty means root. A numeric uid needs no passwd entry (as with Docker); a name does.
 * An explicit group replaces the supplementary ones, as with runc. */
void resolve_user(const char *spec, struct process_user *user) {
  step("resolveUser");
  char copy[256];
  if (strlen(spec) >= sizeof copy) fail(0, "user \"%s\" is too long", spec);
  strcpy(copy, *spec ? spec : "0");
  char *user_part = copy;
  char *group_part = strchr(copy, ':');
  if (group_part) *group_part++ = '\0';
  if (*user_part == '\0' || (group_part && (*group_part == '\0' || strchr(group_part, ':')))) {
    fail(0, "user \"%s\" must be \"uid\", \"uid:gid\", \"name\" or \"name:group\"", spec);
  }
  *user = (struct process_user){.home = "/", .tty_gid = -1};
  struct passwd_entry entry;
  int has_entry;
  if (numeric(user_part)) {
    user->uid = (uid_t)parse_id(user_part, "uid");
    has_entry = find_passwd(read_text("/etc/passwd"), NULL, user->uid, &entry);
  } else {
    has_entry = find_passwd(read_text("/etc/passwd"), user_part, 0, &entry);
    if (!has_entry) fail(0, "user \"%s\" not found in the image's /etc/passwd", user_part);
    user->uid = entry.uid;
  }
  if (has_entry) {
    user->gid = entry.gid;
    user->home = entry.home;
  }
  if (group_part && numeric(group_part)) user->gid = (gid_t)parse_id(group_part, "gid");
  int named_group = group_part && !numeric(group_part);
  int found = scan_groups(read_text("/etc/group"), named_group ? group_part : NULL, !group_part && has_entry ? entry.name : NULL, user);
  if (named_group && !found) fail(0, "group \"%s\" not found in the image's /etc/group", group_part);
}

/* HOME from the user's passwd entry, unless the image or the spec set one (read_config left room). */
void add_home(struct init_config *config, const struct process_user *user) {
  size_t count = 0;
  for (; config->env[count]; count++) {
    if (strncmp(config->env[count], "HOME=", 5) == 0) return;
  }
  char *home = malloc(strlen(user->home) + 6);
  if (!home) fail(ENOMEM, "set HOME");
  strcpy(home, "HOME=");
  strcat(home, user->home);
  config->env[count] = home;
}
