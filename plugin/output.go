package main

import (
	"github.com/collectd-anomaly/collectd-anomaly/detect"
	"github.com/collectd-anomaly/collectd-anomaly/metric"
)

// output is a destination of what the plugin handles beside the engine: the
// value lists collectd writes and the alerts the engine raises. collectd's
// notification chain (notify.go) and InfluxDB (influx.go) are the two; a
// new one is a file that implements output and a line in startOutputs.
type output interface {
	// writeValues receives every value list of the write callback; vl and
	// its strings are collectd's memory, valid only during the call.
	writeValues(vl *metric.ValueList)
	// writeAlert receives every alert the engine raises, a.Silenced set
	// when a silence holds it (each output decides what that means). The
	// engine has a group locked: an output only queues.
	writeAlert(a *detect.Alert)
	// close delivers or flushes what is queued, at collectd's shutdown,
	// once the engine has taken its last value; the outputs close in order.
	close()
}

// startOutputs starts the outputs the configuration asks for: collectd's
// notifications always, InfluxDB if an <InfluxDB> block is there.
func (p *anomalyPlugin) startOutputs() error {
	p.notes = newNotifications(p)
	outs := []output{p.notes}
	if p.settings.InfluxDB != nil {
		s, err := p.startInflux()
		if err != nil {
			return err // before the notifications' goroutine: nothing to stop
		}
		outs = append(outs, s)
	}
	go p.notes.run(p.host.notifier())
	p.outputs.Store(&outs)
	return nil
}

// loadOutputs is the outputs, none before init has started them.
func (p *anomalyPlugin) loadOutputs() []output {
	if o := p.outputs.Load(); o != nil {
		return *o
	}
	return nil
}
