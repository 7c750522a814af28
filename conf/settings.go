package conf

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"collectd.org/config"

	"github.com/collectd-anomaly/collectd-anomaly/detect"
)

// Settings is everything <Plugin anomaly> configures.
type Settings struct {
	Rules []detect.Rule
	// MaxSeries bounds the series the engine tracks (detect.Options).
	MaxSeries int
	// Hostname is put on notifications and derived values of rules that
	// aggregate hosts; empty takes collectd's own Hostname.
	Hostname string
	// Simulation is set when a <Simulation> block asks for simulated traffic.
	Simulation *Simulation
	// TimeScale divides every duration of the rules (windows, baselines,
	// periods, MinDuration, Repeat, Resolution, Timeout): 60 makes the rule
	// pack's minutes seconds, for demonstrations and tests.
	TimeScale float64
	// InfluxDB is set when an <InfluxDB> block asks for values and alerts to be written there.
	InfluxDB *InfluxDB
	// BurstLimit is how many notifications one rule sends with one severity
	// within BurstWindow; the rest of a burst goes out as one summary
	// notification a second (every alert still reaches InfluxDB).
	BurstLimit int
	// Statistics dispatches the plugin's own counters every interval as
	// anomaly/stats/derive-<name> (on by default).
	Statistics bool
	// BurstWindow is the span BurstLimit counts over (not scaled by TimeScale:
	// it is about the people and programs that read notifications).
	BurstWindow time.Duration
	// AllowedLateness is how long after a slot's end, in its host's own
	// time, values may still arrive for it and be judged; zero means
	// detect.DefaultLatenessIntervals intervals (not scaled by TimeScale:
	// it is about the network and collectd's queues).
	AllowedLateness time.Duration
	// SilenceFile is the file of silences the plugin watches (package
	// silence); empty means no silences.
	SilenceFile string
	// StateFile keeps the rules' state across restarts (detect's state
	// file), written every StateInterval and at shutdown; empty means none.
	StateFile     string
	StateInterval time.Duration
	// SeriesIdleTimeout: series without values for this long are forgotten
	// (detect.Options.IdleTimeout); negative (configured 0) never.
	SeriesIdleTimeout time.Duration
	// StateSeries dispatches every rule's alert level each time it is
	// judged, as anomaly[-group]/gauge-<rule>-state (detect.Options.States):
	// an edge's network plugin forwards them to the aggregator, whose
	// <Fleet> rules count them.
	StateSeries bool
}

// DefaultStateInterval is how often the state file is written: what a crash
// (kill -9, power) can lose at most.
const DefaultStateInterval = 5 * time.Minute

// Default burst shaping: a pager gets at most 20 notifications of one rule
// and severity in 10 seconds, and one summary a second beyond them.
const (
	DefaultBurstLimit  = 20
	DefaultBurstWindow = 10 * time.Second
)

// Parse reads one or more <Plugin anomaly> blocks (collectd allows several;
// they add up). Each block may be the Plugin block itself or just its
// children wrapped in any block.
func Parse(blocks ...config.Block) (*Settings, error) {
	s := &Settings{MaxSeries: detect.DefaultMaxSeries, TimeScale: 1,
		BurstLimit: DefaultBurstLimit, BurstWindow: DefaultBurstWindow, Statistics: true,
		StateInterval: DefaultStateInterval, SeriesIdleTimeout: detect.DefaultIdleTimeout}
	// TimeScale applies to every rule, wherever it stands: read it first.
	for p, b := range blocks {
		for i, c := range b.Children {
			if is(c, "TimeScale") {
				f, err := oneNumber(c)
				if err == nil && f <= 0 {
					err = optionError(c, "must be more than zero")
				}
				if err != nil {
					return nil, pluginChild(p, i, err)
				}
				s.TimeScale = f
			}
		}
	}
	names := map[string]bool{}
	for p, b := range blocks {
		for i, c := range b.Children {
			if err := s.option(c, names); err != nil {
				return nil, pluginChild(p, i, err)
			}
		}
	}
	return s, nil
}

// pluginChild says that err is about child i of the p-th block given to
// Parse.
func pluginChild(p, i int, err error) error {
	return &childError{index: p, err: &childError{block: "<Plugin anomaly>", index: i, err: err}}
}

func (s *Settings) option(c config.Block, names map[string]bool) error {
	if kind, ok := ruleKinds[strings.ToLower(c.Key)]; ok {
		r, err := parseRule(c, kind, reader{timeScale: s.TimeScale})
		if err != nil {
			return err
		}
		name := r.Spec().Name
		if names[name] {
			return fmt.Errorf("%s: another rule has the name %q", where(c), name)
		}
		names[name] = true
		s.Rules = append(s.Rules, r)
		return nil
	}
	var err error
	switch {
	case is(c, "TimeScale"): // read before the rules
	case is(c, "MaxSeries"):
		s.MaxSeries, err = oneInt(c, 1)
	case is(c, "Hostname"):
		s.Hostname, err = oneString(c)
	case is(c, "Statistics"):
		s.Statistics, err = oneBool(c)
	case is(c, "StateSeries"):
		s.StateSeries, err = oneBool(c)
	case is(c, "BurstLimit"):
		s.BurstLimit, err = oneInt(c, 1)
	case is(c, "BurstWindow"):
		s.BurstWindow, err = positiveDuration(c)
	case is(c, "AllowedLateness"):
		s.AllowedLateness, err = positiveDuration(c)
	case is(c, "SeriesIdleTimeout"):
		if s.SeriesIdleTimeout, err = duration(c); err == nil && s.SeriesIdleTimeout == 0 {
			s.SeriesIdleTimeout = -1 // never
		}
	case is(c, "StateFile"):
		s.StateFile, err = absolutePath(c)
	case is(c, "StateInterval"):
		s.StateInterval, err = positiveDuration(c)
		if err == nil && s.StateInterval < 100*time.Millisecond {
			err = optionError(c, "must be at least 100ms: each write syncs the whole state to disk")
		}
	case is(c, "SilenceFile"):
		s.SilenceFile, err = absolutePath(c)
	case is(c, "InfluxDB"):
		s.InfluxDB, err = parseInfluxDB(c, s.InfluxDB)
	case is(c, "Simulation"):
		if s.Simulation != nil {
			return fmt.Errorf("%s: only one <Simulation> block is allowed", where(c))
		}
		s.Simulation, err = parseSimulation(c)
	default:
		return fmt.Errorf("unknown option %q (rules are %s; other options: MaxSeries, Hostname, TimeScale, AllowedLateness, BurstLimit, BurstWindow, Statistics, StateSeries, SilenceFile, StateFile, StateInterval, SeriesIdleTimeout, <Simulation>, <InfluxDB>)", c.Key, ruleKindList())
	}
	return err
}

// absolutePath reads one string that must be an absolute path: collectd's
// working directory is its BaseDir, which a relative path would silently
// depend on.
func absolutePath(c config.Block) (string, error) {
	p, err := oneString(c)
	if err != nil {
		return "", err
	}
	if !filepath.IsAbs(p) {
		return "", optionError(c, "want an absolute path")
	}
	return filepath.Clean(p), nil
}
