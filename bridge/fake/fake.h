/* A fake of the daemon's notification functions: each dispatched
 * notification_t is copied, meta data included, as the daemon does, so
 * tests see exactly what collectd would receive. */
#ifndef ANOMALY_FAKE_H
#define ANOMALY_FAKE_H

#include "plugin.h"

void anomaly_fake_install(void);
void anomaly_fake_uninstall(void);
int anomaly_fake_count(void);
const notification_t *anomaly_fake_get(int i);

#endif
