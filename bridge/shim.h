/* The C half of package bridge: what collectd.org/plugin does not offer.
 *
 * Every daemon function is looked up with dlsym at run time, as collectd.org
 * does for its own calls, so that the package links (and its tests run)
 * without the daemon; a missing symbol is reported, never called. */
#ifndef ANOMALY_SHIM_H
#define ANOMALY_SHIM_H

#include "plugin.h"

/* Only the plugin itself calls these: none is exported from anomaly.so
 * (module_register, collectd.org/plugin's, is). */
#pragma GCC visibility push(hidden)

int anomaly_register_write(const char *name);
int anomaly_register_complex_config(const char *name);
int anomaly_register_init(const char *name);
/* collectd's global Interval, in cdtime_t; 0 when not inside collectd. */
cdtime_t anomaly_default_interval(void);
/* collectd's Hostname (hostname_g); NULL when not inside collectd. */
const char *anomaly_hostname(void);

/* Keeps the calling thread's plugin context (collectd's, in the init
 * callback), with interval if it is not 0, for the dispatches and log lines
 * below, which run on the plugin's own threads. */
int anomaly_save_ctx(cdtime_t interval);
/* plugin_log of msg at level (LOG_ERR, LOG_INFO, ...), in the plugin's context. */
int anomaly_log(int level, const char *msg);
/* plugin_dispatch_values of one gauge: tmpl's identifier, time and interval. */
int anomaly_dispatch_gauge(const value_list_t *tmpl, double value);

/* Builds and frees a notification's meta data list and dispatches it. */
int anomaly_meta_add_string(notification_t *n, const char *key, const char *value);
int anomaly_meta_add_double(notification_t *n, const char *key, double value);
int anomaly_meta_add_signed_int(notification_t *n, const char *key, int64_t value);
int anomaly_dispatch_notification(notification_t *n);
void anomaly_meta_free(notification_t *n);

/* Accessors of the configuration tree: its values are a union, which cgo
 * cannot read. */
int anomaly_config_value_type(const oconfig_item_t *ci, int i);
const char *anomaly_config_value_string(const oconfig_item_t *ci, int i);
double anomaly_config_value_number(const oconfig_item_t *ci, int i);
int anomaly_config_value_boolean(const oconfig_item_t *ci, int i);
const oconfig_item_t *anomaly_config_child(const oconfig_item_t *ci, int i);

/* For tests (package bridge/fake, which is not linked into the plugin):
 * the daemon's notification functions replaced by fns, or looked up in the
 * daemon again with NULL; and the write callback collectd is given. */
struct anomaly_notification_fns {
  int (*dispatch)(const notification_t *);
  int (*meta_add_string)(notification_t *, const char *, const char *);
  int (*meta_add_double)(notification_t *, const char *, double);
  int (*meta_add_signed_int)(notification_t *, const char *, int64_t);
  int (*meta_free)(notification_meta_t *);
};
void anomaly_set_notification_fns(const struct anomaly_notification_fns *fns);
int anomaly_write_callback(const data_set_t *ds, const value_list_t *vl);

#pragma GCC visibility pop

#endif
