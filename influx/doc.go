// Package influx writes collectd value lists and the plugin's alerts to
// InfluxDB (1.8, or 2.x through its v2 write API) in line protocol. It is
// pure Go: the plugin hands it metric.ValueList and detect.Alert values.
//
// # Mapping
//
// A value list is one point:
//
//	measurement  plugin                             ecommerce
//	tags         host, plugin_instance, type,       host=web1, type=gauge,
//	             type_instance (empty ones left     type_instance=page-hits-total
//	             out: line protocol has no empty
//	             tag values)
//	fields       one per data source, named by it   value=1234 (if_octets: rx=..,tx=..)
//	             (collectd's types.db), as a float
//	time         the value list's time, ns
//
// so ecommerce/gauge-page-hits-total of host web1 is
//
//	ecommerce,host=web1,type=gauge,type_instance=page-hits-total value=1234 1732720000000000000
//
// Why the plugin as the measurement: a Grafana InfluxQL query then reads the
// way collectd names things - FROM "ecommerce" WHERE "type_instance" = ...
// - one measurement holds related series, so one query can GROUP BY
// "type_instance" (payments per provider and outcome) or combine series in
// a subquery (failed requests / all requests), and the tag names are those
// of collectd's identifier (the convention of Telegraf's collectd parser in
// "join" mode). Every value is a float, as in InfluxDB's own collectd input:
// a series that changes its data source type (gauge to counter) never
// conflicts with the field type InfluxDB has recorded; counters above 2^53
// lose their last digits. NaN and infinite values (collectd's "unknown")
// are left out; a value list with nothing else is not written.
//
// Derived series (the conversion rate) and health come back into collectd
// as value lists of plugin "anomaly", type "gauge", type instance the rule's
// Output, so they are stored like any value list in measurement "anomaly".
// A health series has one more field, state: "ok", "warn" or "error" beside
// the numeric value 0, 1, 2:
//
//	anomaly,host=web1,type=gauge,type_instance=web-health value=1,state="warn" 1732720000000000000
//
// An alert (a change of an alert's state, as a collectd notification
// announces it) is one point of measurement "anomaly_alerts":
//
//	tags    rule, kind (the rule's type), host, group (if any), severity
//	        (OKAY, WARNING or FAILURE, as collectd's notification says)
//	fields  message, severity_code (0 OKAY, 1 WARNING, 2 FAILURE, integer),
//	        previous (severity before), series (what the rule reads),
//	        repeat (a reminder), observed, threshold, baseline,
//	        window_seconds (floats; left out when the rule has none)
//
// # Writer and its guarantees
//
// collectd calls the write callback for every value list, from several
// threads. WriteValueList formats the line with strconv.Append* into a
// pooled buffer (no lock held), then, under a mutex held only to copy the
// bytes, appends it to the newest batch of a queue of batches: one
// []byte per batch, lines joined by '\n'. Batches and their buffers are
// reused, so in steady state a value list costs no allocation, and no
// caller ever waits on the network: the lock is never held across I/O.
//
// One goroutine sends the oldest batch when it has BatchSize points, or
// when FlushInterval has passed, as one request of the client's blocking
// write API (influxdb-client-go/v2 WriteAPIBlocking.WriteRecord with the
// whole batch as one string). Not the client's non-blocking WriteAPI: its
// WriteRecord hands each line over an unbuffered channel to a goroutine
// that makes the HTTP request inline, so a caller waits while InfluxDB
// hangs, up to the HTTP timeout; its retry buffer holds
// RetryBufferLimit/BatchSize batches whatever their size (a batch flushed
// by the timer after 30 points counts as a full one), it discards a batch
// after MaxRetries or MaxRetryTime even when there is room, retries only
// when new points arrive, and logs a discarded batch without saying how
// many points it held.
//
// Here:
//   - A failed write (connection refused, timeout, HTTP 429, 5xx, and also
//     401, 403, 404, which an administrator can mend) keeps its batch at the
//     head of the queue and is retried after 0.5 s, doubling up to 5 s (or
//     the server's Retry-After, up to a minute), without limit of attempts
//     or time: nothing is given up while it fits in the buffer.
//   - The buffer holds up to BufferLimit points, counted as points
//     (value lists and alerts), the batch being sent included; a point
//     takes its line (about 100 bytes) in reused buffers that grow by
//     doubling: 25 MB at most by default. An outage of T
//     seconds at R points/s loses nothing while R*T <= BufferLimit (default
//     100,000 points: 16 minutes of 100 value lists a second). Beyond, the
//     oldest batches are dropped whole (the batch being sent excepted) and,
//     when writes work again, one log line says how many points were
//     dropped and the range of their timestamps.
//   - Delivery is at least once: a request that timed out may have been
//     stored all the same, and is sent again; InfluxDB keeps a point of the
//     same series and timestamp once, so nothing is doubled.
//   - Errors are logged rate-limited: the first failure at once, then one
//     line every 30 s while they last, then one when writes work again. A
//     batch InfluxDB refuses as malformed (HTTP 400, 413, 422) is dropped
//     and logged likewise.
//   - Close (collectd's shutdown) sends what is queued, retrying for up to
//     Timeout in all, and logs one line of account: points written,
//     dropped, refused, and not written.
//   - The token goes into the Authorization header only; no log line holds
//     it, and the library's own logging (to collectd's stdout) is silenced.
package influx
