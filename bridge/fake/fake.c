/* The fake daemon of package fake; see fake.h. */
#include "fake.h"
#include "shim.h"

#include <stdlib.h>
#include <string.h>

#define FAKE_MAX 64
static notification_t fake_store[FAKE_MAX];
static int fake_n;

static int fake_meta_add(notification_t *n, const char *key, int type) {
  notification_meta_t *m = calloc(1, sizeof(*m));
  if (m == NULL)
    return -1;
  strncpy(m->name, key, sizeof(m->name) - 1);
  m->type = type;
  notification_meta_t **tail = &n->meta;
  while (*tail != NULL)
    tail = &(*tail)->next;
  *tail = m;
  return 0;
}

static int fake_meta_add_string(notification_t *n, const char *key, const char *value) {
  if (fake_meta_add(n, key, NM_TYPE_STRING) != 0)
    return -1;
  notification_meta_t *m = n->meta;
  while (m->next != NULL)
    m = m->next;
  m->nm_value.nm_string = strdup(value);
  return 0;
}

static int fake_meta_add_double(notification_t *n, const char *key, double value) {
  if (fake_meta_add(n, key, NM_TYPE_DOUBLE) != 0)
    return -1;
  notification_meta_t *m = n->meta;
  while (m->next != NULL)
    m = m->next;
  m->nm_value.nm_double = value;
  return 0;
}

static int fake_meta_add_signed_int(notification_t *n, const char *key, int64_t value) {
  if (fake_meta_add(n, key, NM_TYPE_SIGNED_INT) != 0)
    return -1;
  notification_meta_t *m = n->meta;
  while (m->next != NULL)
    m = m->next;
  m->nm_value.nm_signed_int = value;
  return 0;
}

static int fake_meta_free(notification_meta_t *m) {
  while (m != NULL) {
    notification_meta_t *next = m->next;
    if (m->type == NM_TYPE_STRING)
      free((void *)m->nm_value.nm_string);
    free(m);
    m = next;
  }
  return 0;
}

/* Like the daemon, the fake copies what it is given (meta data included), so
 * the caller may free its notification right after dispatching it. */
static int fake_dispatch(const notification_t *n) {
  if (fake_n >= FAKE_MAX)
    return -1;
  notification_t *c = &fake_store[fake_n++];
  *c = *n;
  c->meta = NULL;
  for (notification_meta_t *m = n->meta; m != NULL; m = m->next) {
    switch (m->type) {
    case NM_TYPE_STRING:
      fake_meta_add_string(c, m->name, m->nm_value.nm_string);
      break;
    case NM_TYPE_DOUBLE:
      fake_meta_add_double(c, m->name, m->nm_value.nm_double);
      break;
    case NM_TYPE_SIGNED_INT:
      fake_meta_add_signed_int(c, m->name, m->nm_value.nm_signed_int);
      break;
    default:
      break;
    }
  }
  return 0;
}

static void fake_reset(void) {
  for (int i = 0; i < fake_n; i++)
    fake_meta_free(fake_store[i].meta);
  fake_n = 0;
}

static const struct anomaly_notification_fns fake_fns = {
    .dispatch = fake_dispatch,
    .meta_add_string = fake_meta_add_string,
    .meta_add_double = fake_meta_add_double,
    .meta_add_signed_int = fake_meta_add_signed_int,
    .meta_free = fake_meta_free,
};

void anomaly_fake_install(void) {
  fake_reset();
  anomaly_set_notification_fns(&fake_fns);
}

void anomaly_fake_uninstall(void) {
  fake_reset();
  anomaly_set_notification_fns(NULL);
}

int anomaly_fake_count(void) { return fake_n; }
const notification_t *anomaly_fake_get(int i) { return &fake_store[i]; }
