package simulate

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Incident overrides parameters of the model for a span of simulated time, so that an
// alert can be demonstrated and evaluated against a known ground truth.
//
// An incident is active during a step when the step's start time, step x interval
// after the simulation start, lies in [Start, Start+Duration). A step is never
// partially affected: when a boundary falls inside an interval, the whole interval
// follows the state at its start.
type Incident struct {
	Name            string
	Start, Duration time.Duration
	Changes         []Change
}

// Change sets one parameter to an absolute value while its incident is active.
// Provider "" names a global parameter (as for Params.Set), otherwise a parameter of
// that payment provider (as for Params.SetProvider).
type Change struct {
	Provider string
	Param    string
	Value    float64
}

// Check reports whether the change names a parameter of the model (a
// provider's, for a provider's change) and a value it may take; whether the
// provider exists is checked with the model (Config.Validate).
func (c Change) Check() error {
	p := DefaultParams()
	if c.Provider == "" {
		return p.Set(c.Param, c.Value)
	}
	p.Providers = append(p.Providers, Provider{Name: c.Provider})
	return p.SetProvider(c.Provider, c.Param, c.Value)
}

// Config is everything a Simulator needs besides the interval.
type Config struct {
	Params Params
	Seed   uint64
	Mode   Mode
	// Incidents are applied in this order when several are active at once, so a later
	// incident's change of a parameter wins.
	Incidents []Incident
	// Profile shapes the rates over the day, the week and a wandering load;
	// the zero Profile is the flat model.
	Profile Profile
	// Start is the time of step 0, which gives the profile its hours and
	// weekdays (nothing else depends on it).
	Start time.Time
}

func (inc *Incident) end() time.Duration { return inc.Start + inc.Duration }

func (inc *Incident) activeAt(t time.Duration) bool {
	return inc.Start <= t && t < inc.end()
}

// apply sets the incident's changes on p, which must not share Providers with
// anything that has to stay unchanged.
func (inc *Incident) apply(p *Params) error {
	for _, c := range inc.Changes {
		var err error
		if c.Provider == "" {
			err = p.Set(c.Param, c.Value)
		} else {
			err = p.SetProvider(c.Provider, c.Param, c.Value)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Validate validates the parameters, the mode and each incident, and also the
// parameters that result from every combination of incidents that is ever active at
// the same time (two incidents may each be valid, yet their error weights add up to
// more than 1). Errors name the offending incident and parameter.
func (c Config) Validate() error {
	if err := c.Params.Validate(); err != nil {
		return err
	}
	if !c.Mode.valid() {
		return fmt.Errorf("unknown mode %v", c.Mode)
	}
	if err := c.Profile.Validate(); err != nil {
		return err
	}
	for i := range c.Incidents {
		inc := &c.Incidents[i]
		if err := inc.validate(c.Params); err != nil {
			if inc.Name == "" {
				return fmt.Errorf("incident %d: %w", i+1, err)
			}
			return fmt.Errorf("incident %q: %w", inc.Name, err)
		}
	}
	return c.validateOverlaps()
}

func (inc *Incident) validate(base Params) error {
	switch {
	case inc.Name == "":
		return errors.New("Name is empty")
	case inc.Start < 0:
		return fmt.Errorf("Start = %v: must not be negative", inc.Start)
	case inc.Duration <= 0:
		return fmt.Errorf("Duration = %v: must be positive", inc.Duration)
	case inc.Start > math.MaxInt64-inc.Duration:
		return fmt.Errorf("Start + Duration = %v + %v overflows", inc.Start, inc.Duration)
	}
	p := base.clone()
	if err := inc.apply(&p); err != nil {
		return err
	}
	return p.Validate()
}

// validateOverlaps checks the parameters at every incident boundary: the set of
// active incidents only changes there, so this covers every set that a step can see.
func (c Config) validateOverlaps() error {
	var bounds []time.Duration
	for i := range c.Incidents {
		bounds = append(bounds, c.Incidents[i].Start, c.Incidents[i].end())
	}
	slices.Sort(bounds)
	bounds = slices.Compact(bounds)
	for _, t := range bounds {
		var active []string
		p := c.Params.clone()
		for i := range c.Incidents {
			inc := &c.Incidents[i]
			if !inc.activeAt(t) {
				continue
			}
			active = append(active, fmt.Sprintf("%q", inc.Name))
			if err := inc.apply(&p); err != nil {
				return err // unreachable: each incident was applied alone already
			}
		}
		if len(active) < 2 {
			continue // a single incident was validated on its own
		}
		if err := p.Validate(); err != nil {
			return fmt.Errorf("incidents %s together (active at %v): %w", strings.Join(active, ", "), t, err)
		}
	}
	return nil
}
