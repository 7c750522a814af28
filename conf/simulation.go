package conf

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"collectd.org/config"

	"github.com/collectd-anomaly/collectd-anomaly/simulate"
)

// Simulation configures the simulated e-commerce traffic of the read callback.
type Simulation struct {
	Config simulate.Config
	// SeedSet is false when no Seed was given: the plugin then picks one, so
	// that two runs differ, and logs it, so that a run can be repeated.
	SeedSet bool
	// Host is the host of the simulated values; empty lets collectd fill in its Hostname.
	Host string
	// Interval between simulated reads; zero takes collectd's Interval.
	Interval time.Duration
}

func parseSimulation(b config.Block) (*Simulation, error) {
	if len(b.Values) != 0 {
		return nil, fmt.Errorf("%s: takes no argument", where(b))
	}
	sim := &Simulation{Config: simulate.Config{Params: simulate.DefaultParams(), Mode: simulate.Gauge}}
	for i, c := range b.Children {
		if err := sim.option(c); err != nil {
			return nil, inChild(b, i, err)
		}
	}
	if err := sim.Config.Validate(); err != nil {
		return nil, inBlock(b, err)
	}
	return sim, nil
}

func (sim *Simulation) option(c config.Block) error {
	switch {
	case is(c, "Seed"):
		f, err := oneInt(c, 0)
		sim.Config.Seed, sim.SeedSet = uint64(f), true
		return err
	case is(c, "Mode"):
		s, err := oneString(c)
		if err != nil {
			return err
		}
		if sim.Config.Mode, err = simulate.ParseMode(s); err != nil {
			return optionError(c, "want \"gauge\" or \"counter\"")
		}
		return nil
	case is(c, "Host"):
		var err error
		sim.Host, err = oneString(c)
		return err
	case is(c, "Interval"):
		var err error
		sim.Interval, err = positiveDuration(c)
		return err
	case is(c, "Provider"):
		return providerBlock(&sim.Config.Params, c)
	case is(c, "Profile"):
		return profileBlock(&sim.Config.Profile, c)
	case is(c, "Incident"):
		inc, err := parseIncident(c)
		if err != nil {
			return err
		}
		// The plugin logs incidents by name: two of one name would be confused.
		for _, other := range sim.Config.Incidents {
			if other.Name == inc.Name {
				return fmt.Errorf("%s: another incident has the name %q", where(c), inc.Name)
			}
		}
		sim.Config.Incidents = append(sim.Config.Incidents, inc)
		return nil
	}
	_, err := setParam(&sim.Config.Params, c, (*simulate.Params).Set)
	return err
}

// setParam reads option c, a model parameter, and sets it with set (Set, or
// SetProvider for one provider). It checks the name first, on a copy of p, so
// that a misspelt option is reported as unknown whatever its value, rather
// than as wanting a number.
func setParam(p *simulate.Params, c config.Block, set func(p *simulate.Params, name string, v float64) error) (float64, error) {
	probe := *p
	probe.Providers = slices.Clone(p.Providers)
	if err := set(&probe, c.Key, 0); err != nil {
		return 0, optionError(c, "%v", err)
	}
	f, err := oneNumber(c)
	if err != nil {
		return 0, err
	}
	if err := set(p, c.Key, f); err != nil {
		return 0, optionError(c, "%v", err)
	}
	return f, nil
}

// providerBlock reads <Provider "a"> Weight/UserError/ProviderError/Fraud
// </Provider>; a provider not among the defaults is added with the default
// outcome rates and must be given a Weight.
func providerBlock(p *simulate.Params, b config.Block) error {
	name, err := blockName(b)
	if err != nil {
		return err
	}
	known := false
	for _, pr := range p.Providers {
		known = known || pr.Name == name
	}
	if !known {
		d := simulate.DefaultParams().Providers[0]
		p.Providers = append(p.Providers, simulate.Provider{Name: name, UserError: d.UserError, ProviderError: d.ProviderError, Fraud: d.Fraud})
	}
	weighted := false
	for i, c := range b.Children {
		_, err := setParam(p, c, func(p *simulate.Params, key string, v float64) error { return p.SetProvider(name, key, v) })
		if err != nil {
			return inChild(b, i, err)
		}
		weighted = weighted || is(c, "Weight")
	}
	if !known && !weighted {
		return inBlock(b, errors.New("a provider that is not among the defaults needs a Weight"))
	}
	return nil
}

// changeOption reads an incident's change of a parameter (of provider, if
// not ""), checked now so that the error names the option: first the name,
// then the value.
func changeOption(c config.Block, provider string) (simulate.Change, error) {
	ch := simulate.Change{Provider: provider, Param: c.Key}
	if err := ch.Check(); err != nil {
		return ch, optionError(c, "%v", err)
	}
	f, err := oneNumber(c)
	if err != nil {
		return ch, err
	}
	ch.Value = f
	if err := ch.Check(); err != nil {
		return ch, optionError(c, "%v", err)
	}
	return ch, nil
}

func parseIncident(b config.Block) (simulate.Incident, error) {
	name, err := blockName(b)
	if err != nil {
		return simulate.Incident{}, err
	}
	inc := simulate.Incident{Name: name}
	fail := func(err error) (simulate.Incident, error) {
		return simulate.Incident{}, inBlock(b, err)
	}
	for i, c := range b.Children {
		failChild := func(err error) (simulate.Incident, error) {
			return simulate.Incident{}, inChild(b, i, err)
		}
		switch {
		case is(c, "Start"):
			if inc.Start, err = duration(c); err != nil {
				return failChild(err)
			}
		case is(c, "Duration"):
			if inc.Duration, err = positiveDuration(c); err != nil {
				return failChild(err)
			}
		case is(c, "Provider"):
			pname, err := blockName(c)
			if err != nil {
				return failChild(err)
			}
			for j, pc := range c.Children {
				ch, err := changeOption(pc, pname)
				if err != nil {
					return failChild(inChild(c, j, err))
				}
				inc.Changes = append(inc.Changes, ch)
			}
		default:
			ch, err := changeOption(c, "")
			if err != nil {
				return failChild(err)
			}
			inc.Changes = append(inc.Changes, ch)
		}
	}
	if inc.Duration == 0 {
		return fail(fmt.Errorf("an incident needs a Duration"))
	}
	return inc, nil
}

// profileBlock reads <Profile>: the daily curve, weekly pattern and
// wandering load of the simulated traffic (simulate.Profile).
func profileBlock(p *simulate.Profile, b config.Block) error {
	if len(b.Values) != 0 {
		return fmt.Errorf("%s: takes no argument", where(b))
	}
	for i, c := range b.Children {
		var err error
		switch {
		case is(c, "DailyAmplitude"):
			p.DailyAmplitude, err = oneNumber(c)
		case is(c, "PeakHour"):
			p.PeakHour, err = oneNumber(c)
		case is(c, "WanderStdDev"):
			p.WanderStdDev, err = oneNumber(c)
		case is(c, "WanderTime"):
			p.WanderTime, err = positiveDuration(c)
		case is(c, "LatencyLoad"):
			p.LatencyLoad, err = oneNumber(c)
		case is(c, "Hours"):
			err = weights(c, p.Hours[:], "24 numbers: the weights of 0:00 to 23:00")
		case is(c, "Weekdays"):
			err = weights(c, p.Weekdays[:], "7 numbers: the weights of Sunday to Saturday")
		default:
			return inChild(b, i, fmt.Errorf("unknown option %q (options: DailyAmplitude, PeakHour, Hours, Weekdays, WanderStdDev, WanderTime, LatencyLoad)", c.Key))
		}
		if err != nil {
			return inChild(b, i, err)
		}
	}
	if err := p.Validate(); err != nil {
		return inBlock(b, err)
	}
	return nil
}

// weights reads exactly len(into) numbers into into.
func weights(c config.Block, into []float64, want string) error {
	if len(c.Values) != len(into) || len(c.Children) != 0 {
		return optionError(c, "want %s", want)
	}
	for i, v := range c.Values {
		f, ok := v.Float64()
		if !ok {
			return optionError(c, "want %s", want)
		}
		into[i] = f
	}
	return nil
}
