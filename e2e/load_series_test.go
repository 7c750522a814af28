package e2e

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"collectd.org/api"
	"collectd.org/network"

	"github.com/collectd-anomaly/collectd-anomaly/simulate"
)

// loadSeries is one series every simulated host sends: its identifier but
// for the host, and its data sources.
type loadSeries struct {
	id      api.Identifier
	sources []loadSource
}

// loadSource is one data source of a host metric: a gauge varying around
// mean by sd, or a derive increasing by rate per second (relative sd).
type loadSource struct {
	name   string
	derive bool
	mean   float64 // a gauge's level, a derive's increase per second
	sd     float64 // a gauge's absolute spread, a derive's relative one
	whole  bool    // a count of things: rounded, never below 0
}

// hostMetrics are the series collectd's standard read plugins send for a
// host with the settings the host pack expects (collectd.conf.d/host.conf):
// cpu and memory as percentages, load, one df mount, one disk, one
// interface, processes. 37 series, 48 data sources; the levels are those of
// an ordinary, steady server, so that a threshold or an anomaly is rare.
func hostMetrics() []loadSeries {
	gauge := func(name string, mean, sd float64) loadSource { return loadSource{name: name, mean: mean, sd: sd} }
	count := func(name string, mean, sd float64) loadSource {
		return loadSource{name: name, mean: mean, sd: sd, whole: true}
	}
	derive := func(name string, perSecond float64) loadSource {
		return loadSource{name: name, derive: true, mean: perSecond, sd: 0.05}
	}
	one := func(plugin, pluginInstance, typ, typeInstance string, s ...loadSource) loadSeries {
		return loadSeries{id: api.Identifier{Plugin: plugin, PluginInstance: pluginInstance, Type: typ, TypeInstance: typeInstance}, sources: s}
	}
	var out []loadSeries
	for _, c := range []struct {
		state    string
		mean, sd float64
	}{{"user", 12, 2}, {"system", 4, 0.7}, {"wait", 1, 0.3}, {"idle", 80, 2.5}, {"nice", 0.2, 0.05},
		{"interrupt", 0.1, 0.03}, {"softirq", 0.5, 0.1}, {"steal", 0.2, 0.05}} {
		out = append(out, one("cpu", "", "percent", c.state, gauge("value", c.mean, c.sd)))
	}
	for _, m := range []struct {
		state    string
		mean, sd float64
	}{{"used", 55, 0.5}, {"free", 15, 0.3}, {"buffered", 3, 0.05}, {"cached", 25, 0.3}, {"slab_recl", 1.5, 0.02}, {"slab_unrecl", 0.5, 0.01}} {
		out = append(out, one("memory", "", "percent", m.state, gauge("value", m.mean, m.sd)))
	}
	out = append(out, one("load", "", "load", "", gauge("shortterm", 0.8, 0.1), gauge("midterm", 0.8, 0.05), gauge("longterm", 0.8, 0.03)))
	for _, d := range []struct {
		typ, state string
		mean, sd   float64
	}{{"percent_bytes", "used", 60, 0.001}, {"percent_bytes", "free", 35, 0.001}, {"percent_bytes", "reserved", 5, 0},
		{"df_complex", "used", 6e10, 1e6}, {"df_complex", "free", 3.5e10, 1e6}, {"df_complex", "reserved", 5e9, 0}} {
		out = append(out, one("df", "root", d.typ, d.state, gauge("value", d.mean, d.sd)))
	}
	out = append(out,
		one("disk", "sda", "disk_octets", "", derive("read", 2e5), derive("write", 1e6)),
		one("disk", "sda", "disk_ops", "", derive("read", 20), derive("write", 80)),
		one("disk", "sda", "disk_time", "", derive("read", 40), derive("write", 200)),
		one("disk", "sda", "disk_io_time", "", derive("io_time", 50), derive("weighted_io_time", 300)),
		one("disk", "sda", "disk_merged", "", derive("read", 2), derive("write", 10)),
		one("interface", "eth0", "if_octets", "", derive("rx", 1e6), derive("tx", 2e6)),
		one("interface", "eth0", "if_packets", "", derive("rx", 1000), derive("tx", 1500)),
		one("interface", "eth0", "if_errors", "", derive("rx", 0), derive("tx", 0)),
		one("interface", "eth0", "if_dropped", "", derive("rx", 0), derive("tx", 0)),
	)
	for _, p := range []struct {
		state    string
		mean, sd float64
	}{{"running", 2, 1}, {"sleeping", 200, 3}, {"zombies", 0, 0}, {"stopped", 0, 0}, {"paging", 0, 0}, {"blocked", 0.3, 0.5}} {
		out = append(out, one("processes", "", "ps_state", p.state, count("value", p.mean, p.sd)))
	}
	return append(out, one("processes", "", "fork_rate", "", derive("value", 5)))
}

// shopLoad is the load: for every host and round, the simulator's shop
// values, and with hostMetrics the host's own series too, computed once so
// that every run sends the same.
type shopLoad struct {
	hosts    []string
	series   []loadSeries
	sources  int // data sources per host
	rounds   int
	perRound int // value lists per round
	total    int
	values   [][]float64 // [round][host x sources + source]: a derive's counter as a float64
}

// newShopLoad makes lc.hosts hosts' values for as many rounds as lc.values
// value lists take, plus the warm-up round.
func newShopLoad(b *testing.B, lc loadSettings) *shopLoad {
	l := &shopLoad{}
	for h := range lc.hosts {
		l.hosts = append(l.hosts, fmt.Sprintf("shop-%05d", h))
	}
	sims := make([]*simulate.Simulator, lc.hosts)
	for h := range sims {
		s, err := simulate.New(simulate.Config{Params: simulate.DefaultParams(), Seed: uint64(h) + 1}, loadInterval)
		if err != nil {
			b.Fatal(err)
		}
		sims[h] = s
	}
	for _, name := range sims[0].Names() {
		l.series = append(l.series, loadSeries{
			id:      api.Identifier{Plugin: "ecommerce", Type: "gauge", TypeInstance: name},
			sources: []loadSource{{name: "value"}},
		})
	}
	shop := len(l.series)
	if lc.hostMetrics {
		l.series = append(l.series, hostMetrics()...)
	}
	for _, s := range l.series {
		l.sources += len(s.sources)
	}
	l.perRound = lc.hosts * len(l.series)
	// +1: the warm-up round.
	l.rounds = 1 + (lc.values+l.perRound-1)/l.perRound
	l.total = l.rounds * l.perRound
	rngs := make([]*rand.Rand, lc.hosts)
	for h := range rngs {
		rngs[h] = rand.New(rand.NewPCG(uint64(h)+1, 0x10ad))
	}
	for r := range l.rounds {
		round := make([]float64, 0, lc.hosts*l.sources)
		for h, s := range sims {
			for i, v := range s.Step(int64(r)) {
				if v.Type != "gauge" || i >= shop {
					b.Fatalf("simulated %s is a %s, want one of %d gauges", v.TypeInstance, v.Type, shop)
				}
				round = append(round, v.Value)
			}
			for _, ls := range l.series[shop:] {
				for _, src := range ls.sources {
					// Every round has the same layout: this source's value
					// in the round before is at the same index.
					round = append(round, src.next(rngs[h], l.previous(r, len(round))))
				}
			}
		}
		l.values = append(l.values, round)
	}
	return l
}

// previous is a source's value in the round before r (0 before the first).
func (l *shopLoad) previous(r, i int) float64 {
	if r == 0 {
		return 0
	}
	return l.values[r-1][i]
}

// next is the source's value after prev: a gauge drawn around its level, a
// derive's counter after one interval's increase.
func (s loadSource) next(rng *rand.Rand, prev float64) float64 {
	if s.derive {
		inc := s.mean * loadInterval.Seconds() * (1 + s.sd*rng.NormFloat64())
		return prev + math.Max(0, math.Round(inc))
	}
	v := s.mean + s.sd*rng.NormFloat64()
	if s.whole {
		v = math.Max(0, math.Round(v))
	}
	return v
}

// distinct is the number of distinct series the load sends.
func (l *shopLoad) distinct() int { return len(l.hosts) * len(l.series) }

// measured is how many value lists a run measures: all but the warm-up round.
func (l *shopLoad) measured() int { return l.total - l.perRound }

// datagrams is a part of the load encoded for the network plugin.
type datagrams struct {
	packets [][]byte
	before  []int // value lists in the packets before packet i
	total   int
}

// encode encodes rounds from..to-1 of the load with collectd.org/network into
// datagrams of the network plugin's default size. Round r has the time
// first + r x interval.
func (l *shopLoad) encode(b *testing.B, from, to int, first time.Time) *datagrams {
	buf := network.NewBuffer(network.DefaultBufferSize)
	ctx := context.Background()
	d := &datagrams{}
	n := 0
	flush := func() {
		p, err := buf.Bytes()
		if err != nil {
			b.Fatal(err)
		}
		d.packets, d.before = append(d.packets, p), append(d.before, d.total)
		d.total = n
	}
	vls := make([]api.ValueList, len(l.series))
	for i, s := range l.series {
		vls[i] = api.ValueList{Identifier: s.id, Interval: loadInterval, Values: make([]api.Value, len(s.sources))}
		for _, src := range s.sources {
			vls[i].DSNames = append(vls[i].DSNames, src.name)
		}
	}
	for r := from; r < to; r++ {
		at := first.Add(time.Duration(r) * loadInterval)
		values := l.values[r]
		for _, host := range l.hosts {
			for i := range vls {
				vl := &vls[i]
				vl.Time, vl.Host = at, host
				for j, src := range l.series[i].sources {
					if src.derive {
						vl.Values[j] = api.Derive(int64(values[0]))
					} else {
						vl.Values[j] = api.Gauge(values[0])
					}
					values = values[1:]
				}
				err := buf.Write(ctx, vl)
				if errors.Is(err, network.ErrNotEnoughSpace) {
					flush()
					err = buf.Write(ctx, vl)
				}
				if err != nil {
					b.Fatal(err)
				}
				n++
			}
		}
	}
	flush()
	return d
}
