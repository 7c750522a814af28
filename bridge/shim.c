#include "shim.h"
#include "ring.h"
#include "_cgo_export.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

/* Resolved once; collectd never unloads a plugin while it runs. */
#define RESOLVE(var, sym)                                                      \
  do {                                                                         \
    if (var == NULL) {                                                         \
      void *hnd = dlopen(NULL, RTLD_LAZY);                                     \
      if (hnd != NULL) {                                                       \
        *(void **)(&var) = dlsym(hnd, sym);                                    \
        dlclose(hnd);                                                          \
      }                                                                        \
    }                                                                          \
    if (var == NULL)                                                           \
      return -2;                                                               \
  } while (0)

static int (*register_write_fn)(const char *, plugin_write_cb, user_data_t const *);
static int (*register_complex_config_fn)(const char *, int (*)(oconfig_item_t *));
static int (*register_init_fn)(const char *, plugin_init_cb);
static int (*dispatch_notification_fn)(const notification_t *);
static int (*meta_add_string_fn)(notification_t *, const char *, const char *);
static int (*meta_add_double_fn)(notification_t *, const char *, double);
static int (*meta_add_signed_int_fn)(notification_t *, const char *, int64_t);
static int (*meta_free_fn)(notification_meta_t *);
static plugin_ctx_t (*get_ctx_fn)(void);
static plugin_ctx_t (*set_ctx_fn)(plugin_ctx_t);
static void (*log_fn)(int, const char *, ...);
static int (*dispatch_values_fn)(value_list_t const *);

/* The plugin's context as collectd gave it to the init callback (name
 * "anomaly" and the plugin's interval). collectd keeps a context per thread
 * and every callback it runs has one; the plugin's own threads (Go's) have
 * none unless given this one, and collectd's notification plugins read it:
 * exec's NotificationExec asks it for the interval it passes the program. */
static plugin_ctx_t plugin_ctx;
static int have_ctx;

/* The write callback stays in C: it only copies the value list into the
 * ring that the plugin's writer goroutine drains (ring.c). */
static int write_cb(const data_set_t *ds, const value_list_t *vl, user_data_t *ud) {
  (void)ud;
  return anomaly_ring_put(ds, vl);
}

static int config_cb(oconfig_item_t *ci) { return goConfig(ci); }

static int init_cb(void) { return goInit(); }

int anomaly_register_init(const char *name) {
  RESOLVE(register_init_fn, "plugin_register_init");
  return register_init_fn(name, init_cb);
}

int anomaly_register_write(const char *name) {
  RESOLVE(register_write_fn, "plugin_register_write");
  user_data_t ud = {.data = NULL, .free_func = NULL};
  return register_write_fn(name, write_cb, &ud);
}

int anomaly_register_complex_config(const char *name) {
  RESOLVE(register_complex_config_fn, "plugin_register_complex_config");
  return register_complex_config_fn(name, config_cb);
}

cdtime_t anomaly_default_interval(void) {
  static cdtime_t (*fn)(void);
  if (fn == NULL) {
    void *hnd = dlopen(NULL, RTLD_LAZY);
    if (hnd != NULL) {
      *(void **)(&fn) = dlsym(hnd, "cf_get_default_interval");
      dlclose(hnd);
    }
  }
  return fn == NULL ? 0 : fn();
}

const char *anomaly_hostname(void) {
  char **hostname = NULL;
  void *hnd = dlopen(NULL, RTLD_LAZY);
  if (hnd != NULL) {
    hostname = dlsym(hnd, "hostname_g");
    dlclose(hnd);
  }
  return hostname == NULL ? NULL : *hostname;
}

int anomaly_save_ctx(cdtime_t interval) {
  RESOLVE(get_ctx_fn, "plugin_get_ctx");
  RESOLVE(set_ctx_fn, "plugin_set_ctx");
  plugin_ctx = get_ctx_fn();
  if (interval > 0)
    plugin_ctx.interval = interval;
  have_ctx = 1;
  return 0;
}

/* enter makes the plugin's context the calling thread's and returns the one
 * it had, for leave to put back: a Go thread may also be one of collectd's
 * (a read callback's), whose context collectd owns. */
static int enter(plugin_ctx_t *old) {
  if (!have_ctx || set_ctx_fn == NULL)
    return 0;
  *old = set_ctx_fn(plugin_ctx);
  return 1;
}

static void leave(int entered, plugin_ctx_t old) {
  if (entered)
    set_ctx_fn(old);
}

int anomaly_log(int level, const char *msg) {
  RESOLVE(log_fn, "plugin_log");
  plugin_ctx_t old;
  int entered = enter(&old);
  log_fn(level, "%s", msg);
  leave(entered, old);
  return 0;
}

int anomaly_dispatch_gauge(const value_list_t *tmpl, double value) {
  RESOLVE(dispatch_values_fn, "plugin_dispatch_values");
  value_t v = {.gauge = value};
  value_list_t vl = *tmpl;
  vl.values = &v;
  vl.values_len = 1;
  vl.meta = NULL;
  plugin_ctx_t old;
  int entered = enter(&old);
  int rc = dispatch_values_fn(&vl);
  leave(entered, old);
  return rc;
}

int anomaly_meta_add_string(notification_t *n, const char *key, const char *value) {
  RESOLVE(meta_add_string_fn, "plugin_notification_meta_add_string");
  return meta_add_string_fn(n, key, value);
}

int anomaly_meta_add_double(notification_t *n, const char *key, double value) {
  RESOLVE(meta_add_double_fn, "plugin_notification_meta_add_double");
  return meta_add_double_fn(n, key, value);
}

int anomaly_meta_add_signed_int(notification_t *n, const char *key, int64_t value) {
  RESOLVE(meta_add_signed_int_fn, "plugin_notification_meta_add_signed_int");
  return meta_add_signed_int_fn(n, key, value);
}

int anomaly_dispatch_notification(notification_t *n) {
  RESOLVE(dispatch_notification_fn, "plugin_dispatch_notification");
  plugin_ctx_t old;
  int entered = enter(&old);
  int rc = dispatch_notification_fn(n);
  leave(entered, old);
  return rc;
}

void anomaly_meta_free(notification_t *n) {
  if (n->meta == NULL)
    return;
  if (meta_free_fn == NULL) {
    void *hnd = dlopen(NULL, RTLD_LAZY);
    if (hnd != NULL) {
      *(void **)(&meta_free_fn) = dlsym(hnd, "plugin_notification_meta_free");
      dlclose(hnd);
    }
  }
  if (meta_free_fn != NULL)
    meta_free_fn(n->meta);
  n->meta = NULL;
}


int anomaly_config_value_type(const oconfig_item_t *ci, int i) { return ci->values[i].type; }
const char *anomaly_config_value_string(const oconfig_item_t *ci, int i) {
  return ci->values[i].value.string;
}
double anomaly_config_value_number(const oconfig_item_t *ci, int i) {
  return ci->values[i].value.number;
}
int anomaly_config_value_boolean(const oconfig_item_t *ci, int i) {
  return ci->values[i].value.boolean;
}
const oconfig_item_t *anomaly_config_child(const oconfig_item_t *ci, int i) {
  return &ci->children[i];
}

/* ---- for tests ------------------------------------------------------ */

void anomaly_set_notification_fns(const struct anomaly_notification_fns *fns) {
  dispatch_notification_fn = fns ? fns->dispatch : NULL;
  meta_add_string_fn = fns ? fns->meta_add_string : NULL;
  meta_add_double_fn = fns ? fns->meta_add_double : NULL;
  meta_add_signed_int_fn = fns ? fns->meta_add_signed_int : NULL;
  meta_free_fn = fns ? fns->meta_free : NULL;
}

int anomaly_write_callback(const data_set_t *ds, const value_list_t *vl) {
  return write_cb(ds, vl, NULL);
}
