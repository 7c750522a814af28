package main

import (
	"fmt"
	"strings"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
	"github.com/collectd-anomaly/collectd-anomaly/influx"
	"github.com/collectd-anomaly/collectd-anomaly/metric"
)

// influxSink is the output to InfluxDB: it writes what an <InfluxDB> block
// asks for. The streams:
//
//   - raw: every value list collectd handles whose plugin is not "anomaly"
//     (WriteValues);
//   - health: value lists anomaly/gauge-<Output> of a Health rule of this
//     configuration, with the level's word as field "state" (WriteHealth);
//   - derived: every other value list of plugin "anomaly", the series the
//     rules compute such as the conversion rate (WriteDerived);
//   - alerts: every alert the engine raises, as measurement anomaly_alerts
//     (WriteAlerts).
//
// Derived and health values reach InfluxDB the way they reach every write
// plugin: the plugin dispatches them into collectd, and collectd hands them
// back to the write callback. So the engine's Value sink needs no hook, and
// InfluxDB stores exactly what csv or rrdtool store.
type influxSink struct {
	w       *influx.Writer
	streams [3]bool           // by stream: write it or not
	outputs map[string]stream // type instance of anomaly/gauge-* -> stream
	alerts  bool
	host    string // of alerts that have none (rules aggregating hosts)
}

type stream uint8

const (
	streamRaw stream = iota
	streamDerived
	streamHealth
)

// startInflux starts the writer of the <InfluxDB> block.
func (p *anomalyPlugin) startInflux() (*influxSink, error) {
	c := p.settings.InfluxDB
	cfg := c.Config
	cfg.Errorf = func(format string, args ...any) { p.host.errorf("anomaly plugin: "+format, args...) }
	cfg.Infof = func(format string, args ...any) { p.host.infof("anomaly plugin: "+format, args...) }
	w, err := influx.New(cfg)
	if err != nil {
		return nil, err
	}
	s := &influxSink{w: w, outputs: map[string]stream{}, alerts: c.WriteAlerts, host: p.settings.Hostname}
	s.streams[streamRaw], s.streams[streamDerived], s.streams[streamHealth] = c.WriteValues, c.WriteDerived, c.WriteHealth
	for _, r := range p.settings.Rules {
		if e, ok := r.(detect.Emitter); ok {
			s.outputs[e.OutputName()] = streamDerived
			if _, levels := r.(detect.LevelEmitter); levels {
				s.outputs[e.OutputName()] = streamHealth
			}
		}
	}
	if s.host == "" {
		s.host = p.host.hostname()
	}
	p.host.infof("anomaly plugin: %s", s.describe(c.Bucket, c.Token != "", c.InsecureSkipVerify))
	return s, nil
}

func (s *influxSink) describe(bucket string, token, insecure bool) string {
	var what []string
	for i, name := range []string{"raw values", "derived series", "health"} {
		if s.streams[i] {
			what = append(what, name)
		}
	}
	if s.alerts {
		what = append(what, "alerts")
	}
	if len(what) == 0 {
		what = append(what, "nothing (every Write option is false)")
	}
	cfg := s.w.Config()
	var extra []string
	if token {
		extra = append(extra, "with a token")
	}
	if insecure {
		extra = append(extra, "certificate NOT verified (InsecureSkipVerify)")
	}
	more := ""
	if len(extra) > 0 {
		more = ", " + strings.Join(extra, ", ")
	}
	return fmt.Sprintf("writing %s to InfluxDB at %s, bucket %q%s (batches of up to %d points, sent at least every %s; up to %d points kept while writes fail)",
		strings.Join(what, ", "), s.w.Where(), bucket, more, cfg.BatchSize, cfg.FlushInterval, cfg.BufferLimit)
}

// writeValues implements output: classify, format, queue.
func (s *influxSink) writeValues(vl *metric.ValueList) {
	k := s.classify(vl)
	if s.streams[k] {
		s.w.WriteValueList(vl, k == streamHealth)
	}
}

func (s *influxSink) classify(vl *metric.ValueList) stream {
	if vl.Plugin != "anomaly" {
		return streamRaw
	}
	if vl.Type == "gauge" {
		if k, ok := s.outputs[vl.TypeInstance]; ok {
			return k
		}
	}
	return streamDerived
}

// writeAlert implements output: every alert, silenced or not (field
// silenced).
func (s *influxSink) writeAlert(a *detect.Alert) {
	if s.alerts {
		s.w.WriteAlert(a, s.host)
	}
}

// close implements output: flushes and stops the writer.
func (s *influxSink) close() { s.w.Close() }
