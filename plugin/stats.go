package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"collectd.org/api"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
	"github.com/collectd-anomaly/collectd-anomaly/metric"
)

// counters is what the plugin counts of its own work: the engine's
// statistics and the notifications it sent, summarised and dropped.
type counters struct {
	detect.Stats
	Notified, Summarised, Dropped uint64
	DerivedDropped                uint64
	// Of the write ring: puts that found it full (the engine fell behind
	// collectd's write threads), and the most value lists it held.
	RingFullWaits uint64
	RingHighWater int
}

func (p *anomalyPlugin) counters() counters {
	c := counters{Stats: p.engine.Load().Stats(),
		Notified: p.notified.Load(), Summarised: p.summarised.Load(), Dropped: p.dropped.Load(),
		DerivedDropped: p.derivedDropped.Load()}
	c.RingFullWaits, c.RingHighWater = p.host.ringStats()
	return c
}

// statSeries are the counters dispatched every interval as the plugin's own
// series anomaly/stats/derive-<name>, as collectd's own "collectd" plugin
// reports its queues: InfluxDB and Grafana see them like any other value.
var statSeries = []struct {
	name  string
	value func(c *counters) uint64
}{
	{"value-lists", func(c *counters) uint64 { return c.ValueLists }},
	{"values-nan", func(c *counters) uint64 { return c.NaN }},
	{"values-infinite", func(c *counters) uint64 { return c.Infinite }},
	{"counter-resets", func(c *counters) uint64 { return c.Resets }},
	{"value-lists-ahead", func(c *counters) uint64 { return c.Ahead }},
	{"value-lists-stale", func(c *counters) uint64 { return c.Stale }},
	{"value-lists-reordered", func(c *counters) uint64 { return c.Reordered }},
	{"value-lists-late", func(c *counters) uint64 { return c.Late }},
	{"clock-jumps", func(c *counters) uint64 { return c.Jumps }},
	{"value-lists-malformed", func(c *counters) uint64 { return c.Malformed }},
	{"value-lists-beyond-maxseries", func(c *counters) uint64 { return c.SeriesDropped }},
	{"series-forgotten", func(c *counters) uint64 { return c.Evicted }},
	{"write-ring-full", func(c *counters) uint64 { return c.RingFullWaits }},
	{"notifications", func(c *counters) uint64 { return c.Notified }},
	{"alerts-summarised", func(c *counters) uint64 { return c.Summarised }},
	{"notifications-dropped", func(c *counters) uint64 { return c.Dropped }},
	{"derived-values-dropped", func(c *counters) uint64 { return c.DerivedDropped }},
}

// report runs every interval from the read callback: it dispatches the
// statistics and logs one line for each kind of value or notification that
// was refused or lost since the last report, with its count.
func (p *anomalyPlugin) report(ctx context.Context, now time.Time) {
	p.reportMu.Lock()
	defer p.reportMu.Unlock()
	c := p.counters()
	last := p.lastReport
	p.lastReport = c
	if p.settings.Statistics {
		p.dispatchStatistics(ctx, &c, now)
	}
	var refused []string
	add := func(n uint64, what string, args ...any) {
		if n > 0 {
			refused = append(refused, fmt.Sprintf("%d %s", n, fmt.Sprintf(what, args...)))
		}
	}
	add(c.Infinite-last.Infinite, "infinite values skipped")
	add(c.Resets-last.Resets, "counters that fell taken as resets (increment unknown)")
	add(c.Ahead-last.Ahead, "value lists dropped more than %s ahead of their host's clock (latest from %q)", detect.MaxAhead, c.AheadHost)
	add(c.Late-last.Late, "value lists dropped, later than AllowedLateness after their slot (latest %s)", c.LateSeries)
	add(c.Jumps-last.Jumps, "host clocks that jumped: their rules start over (latest host %q)", c.JumpHost)
	add(c.Malformed-last.Malformed, "value lists whose number of values changed")
	add(c.DerivedDropped-last.DerivedDropped, "derived values dropped: %d derived series were waiting for dispatch", derivedLimit)
	if len(refused) > 0 {
		p.host.warningf("anomaly plugin: since the last interval: %s", strings.Join(refused, "; "))
	}
	p.reportMaxSeries(&c, &last)
	p.logDropped(c.Dropped, last.Dropped)
}

// reportMaxSeries says once when a flood of series reaches MaxSeries, and
// once when new series are taken again: a flood lasts, and a line each
// interval would be a flood of its own. The counter series has the detail.
func (p *anomalyPlugin) reportMaxSeries(c, last *counters) {
	dropped := c.SeriesDropped - last.SeriesDropped
	switch {
	case dropped > 0 && !p.beyondMaxSeries:
		p.beyondMaxSeries, p.droppedBefore = true, last.SeriesDropped
		until := fmt.Sprintf("until series idle for %s are forgotten", p.settings.SeriesIdleTimeout)
		if p.settings.SeriesIdleTimeout < 0 {
			until = "for good (SeriesIdleTimeout 0 forgets no series)"
		}
		p.host.warningf("anomaly plugin: MaxSeries %d reached: value lists of new series are dropped "+
			"(counted as anomaly/stats/derive-value-lists-beyond-maxseries) %s", p.settings.MaxSeries, until)
	case dropped == 0 && p.beyondMaxSeries:
		p.beyondMaxSeries = false
		p.host.infof("anomaly plugin: new series are taken again; %d value lists of series beyond MaxSeries were dropped",
			c.SeriesDropped-p.droppedBefore)
	}
}

// ownStatistics reports whether id is one of the plugin's own statistics,
// which its rules do not judge: they are stamped with the collector's wall
// clock, while every other host runs on its own event time. Where hosts'
// values come faster than real time (a bulk load, a backlog after an
// outage) the collector then looks silent beside them, its slots close,
// and its statistics were dropped as late - the load benchmark's every-
// series rule logged it at 50,000 series. They still reach every output;
// a rule over them belongs on an aggregator they are forwarded to, or in
// collectd's threshold plugin.
func (p *anomalyPlugin) ownStatistics(id *metric.Identifier) bool {
	return id.Plugin == "anomaly" && id.PluginInstance == "stats" && id.Host == p.statsHost
}

func (p *anomalyPlugin) dispatchStatistics(ctx context.Context, c *counters, now time.Time) {
	for _, s := range statSeries {
		vl := &api.ValueList{
			Identifier: api.Identifier{Host: p.settings.Hostname, Plugin: "anomaly", PluginInstance: "stats", Type: "derive", TypeInstance: s.name},
			Time:       now,
			Interval:   p.interval,
			Values:     []api.Value{api.Derive(int64(s.value(c)))},
			DSNames:    []string{"value"},
		}
		if err := p.host.dispatch(ctx, vl); err != nil {
			p.host.errorf("anomaly plugin: dispatching its statistics: %v", err)
			return
		}
	}
}

// reportFinal logs, at shutdown, what was dropped since the last report,
// and the totals of the run: what an operator (or a test) reads to see how
// much arrived, out of order or too late.
func (p *anomalyPlugin) reportFinal() {
	p.reportMu.Lock()
	defer p.reportMu.Unlock()
	d := p.dropped.Load()
	p.logDropped(d, p.lastReport.Dropped)
	p.lastReport.Dropped = d
	c := p.counters()
	p.host.infof("anomaly plugin: stopped: %d value lists, %d reordered, %d late, %d repeated, %d ahead of their host's clock, %d clock jumps; %d notifications, %d alerts summarised, %d dropped; the write ring held at most %d value lists, full %d times",
		c.ValueLists, c.Reordered, c.Late, c.Stale, c.Ahead, c.Jumps, c.Notified, c.Summarised, c.Dropped, c.RingHighWater, c.RingFullWaits)
}

func (p *anomalyPlugin) logDropped(now, last uint64) {
	if now > last {
		p.host.errorf("anomaly plugin: %d notifications dropped since the last interval (%d in all): collectd's notification chain is not keeping up", now-last, now)
	}
}
