package simulate

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Profile makes the model's traffic follow the shapes of a real shop's: a
// daily curve, a weekly pattern and a load that wanders more than Poisson
// counts do. It scales every rate (pages, assets, sessions, payments) by
//
//	load(t) = daily(t) x weekly(t) x wander(t)
//
// where daily(t) = 1 + DailyAmplitude x cos(2 pi (hour(t) - PeakHour) / 24)
// (or, with Hours, the hourly weights interpolated linearly),
// weekly(t) is the weight of t's weekday (the weights' mean is 1), and
// wander(t) = exp(w(t) - WanderStdDev^2/2), w a stationary Gaussian AR(1)
// of standard deviation WanderStdDev whose correlation falls to 1/e in
// WanderTime (so that the mean of wander is 1). Hours and weekdays are of
// Config.Start plus the step's offset, in UTC. The zero Profile is flat.
type Profile struct {
	// DailyAmplitude is the daily curve's relative swing: 0.7 makes the
	// afternoon peak 1.7 times the mean and the night trough 0.3 times it.
	DailyAmplitude float64
	// PeakHour is the hour of the day (UTC, fractions allowed) of the peak.
	PeakHour float64
	// Hours, instead of the cosine, are relative weights of the load at
	// 0:00, 1:00, ... 23:00 (UTC), linear between them and scaled to a mean
	// of 1: a shop's real day (a quiet night, a steep morning, an evening
	// peak). All zero means the cosine (or a flat day).
	Hours [24]float64
	// Weekdays are relative weights of Sunday, Monday, ... Saturday; all zero
	// means every day alike. They are scaled to a mean of 1.
	Weekdays [7]float64
	// WanderStdDev is the standard deviation of the log of the load's slow
	// wander (0.1: about 10%); WanderTime its correlation time.
	WanderStdDev float64
	WanderTime   time.Duration
	// LatencyLoad makes the mean latency rise with load: the mean is
	// multiplied by 1 + LatencyLoad x (load - 1), at least 0.
	LatencyLoad float64
}

// wanderKnotsPerTime is how many knots of the wander's AR(1) a correlation
// time holds; between knots the log load is interpolated linearly.
const wanderKnotsPerTime = 8

// Flat reports whether the profile changes nothing.
func (p *Profile) Flat() bool {
	return p.DailyAmplitude == 0 && p.Hours == [24]float64{} && p.Weekdays == [7]float64{} && p.WanderStdDev == 0
}

// Validate checks the profile's settings; errors name the setting.
func (p *Profile) Validate() error {
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	switch {
	case !finite(p.DailyAmplitude) || p.DailyAmplitude < 0 || p.DailyAmplitude >= 1:
		return fmt.Errorf("DailyAmplitude = %v: must be at least 0 and below 1 (rates stay positive)", p.DailyAmplitude)
	case !finite(p.PeakHour) || p.PeakHour < 0 || p.PeakHour >= 24:
		return fmt.Errorf("PeakHour = %v: must be an hour from 0 to below 24", p.PeakHour)
	case !finite(p.WanderStdDev) || p.WanderStdDev < 0 || p.WanderStdDev > 2:
		return fmt.Errorf("WanderStdDev = %v: must be from 0 to 2", p.WanderStdDev)
	case p.WanderStdDev > 0 && p.WanderTime <= 0:
		return errors.New("WanderTime must be positive when WanderStdDev is set")
	case !finite(p.LatencyLoad) || p.LatencyLoad < 0:
		return fmt.Errorf("LatencyLoad = %v: must not be negative", p.LatencyLoad)
	}
	hours := 0.0
	for i, w := range p.Hours {
		if !finite(w) || w < 0 {
			return fmt.Errorf("Hours[%d] = %v: weights must not be negative", i, w)
		}
		hours += w
	}
	switch {
	case p.Hours != [24]float64{} && hours == 0:
		return errors.New("Hours: the weights sum to zero")
	case p.Hours != [24]float64{} && p.DailyAmplitude != 0:
		return errors.New("Hours and DailyAmplitude: set one daily curve, not both")
	}
	sum := 0.0
	for i, w := range p.Weekdays {
		if !finite(w) || w < 0 {
			return fmt.Errorf("Weekdays[%d] = %v: weights must not be negative", i, w)
		}
		sum += w
	}
	if p.Weekdays != [7]float64{} && sum == 0 {
		return errors.New("Weekdays: the weights sum to zero")
	}
	return nil
}

// profileState is what a Simulator keeps to evaluate its profile: the
// weekday weights scaled to a mean of 1 and the wander's knots so far (the
// AR(1) is sequential; the knots are computed once, in order, and kept:
// 8 float64 per correlation time, 2 KB for a year at a correlation time of
// a day).
type profileState struct {
	p       Profile
	start   time.Time
	weekday [7]float64
	hours   [24]float64 // Hours scaled to a mean of 1; nil day: all zero
	byHour  bool
	key     [2]uint64
	src     rand.PCG
	knots   []float64
	knot    time.Duration // knot spacing
	phi     float64       // the AR(1) coefficient from one knot to the next
}

func newProfileState(p Profile, start time.Time, seed uint64) *profileState {
	s := &profileState{p: p, start: start.UTC(), key: streamKey(seed, streamWander)}
	sum := 0.0
	for _, w := range p.Weekdays {
		sum += w
	}
	for i, w := range p.Weekdays {
		s.weekday[i] = 1
		if sum > 0 {
			s.weekday[i] = w * 7 / sum
		}
	}
	hours := 0.0
	for _, w := range p.Hours {
		hours += w
	}
	if hours > 0 {
		s.byHour = true
		for i, w := range p.Hours {
			s.hours[i] = w * 24 / hours
		}
	}
	if p.WanderStdDev > 0 {
		s.knot = max(p.WanderTime/wanderKnotsPerTime, time.Second)
		s.phi = math.Exp(-float64(s.knot) / float64(p.WanderTime))
	}
	return s
}

// latencyLoad is the profile's LatencyLoad, 0 for a flat model (nil).
func (s *profileState) latencyLoad() float64 {
	if s == nil {
		return 0
	}
	return s.p.LatencyLoad
}

// load is the factor on every rate at offset t from the start.
func (s *profileState) load(t time.Duration) float64 {
	at := s.start.Add(t)
	f := 1.0
	h := float64(at.Hour()) + float64(at.Minute())/60 + float64(at.Second())/3600
	switch {
	case s.byHour:
		i := int(h)
		u := h - float64(i)
		f *= (1-u)*s.hours[i] + u*s.hours[(i+1)%24]
	case s.p.DailyAmplitude > 0:
		f *= 1 + s.p.DailyAmplitude*math.Cos(2*math.Pi*(h-s.p.PeakHour)/24)
	}
	f *= s.weekday[at.Weekday()]
	if sd := s.p.WanderStdDev; sd > 0 {
		f *= math.Exp(s.wander(t) - sd*sd/2)
	}
	return f
}

// wander is the AR(1)'s value at t, interpolated between its knots.
func (s *profileState) wander(t time.Duration) float64 {
	i := int64(t / s.knot)
	u := float64(t%s.knot) / float64(s.knot)
	return (1-u)*s.knotValue(i) + u*s.knotValue(i+1)
}

// maxKnots bounds the knots kept (8 MB): past them the wander repeats -
// thirty years at a correlation time of two hours.
const maxKnots = 1 << 20

// knotValue computes the knots up to i, each from the one before and a
// normal innovation drawn from (seed, knot): stationary from the first.
func (s *profileState) knotValue(i int64) float64 {
	i %= maxKnots
	sd := s.p.WanderStdDev
	for int64(len(s.knots)) <= i {
		k := int64(len(s.knots))
		seedStep(&s.src, s.key, k)
		z := rand.New(&s.src).NormFloat64()
		if k == 0 {
			s.knots = append(s.knots, sd*z)
			continue
		}
		s.knots = append(s.knots, s.phi*s.knots[k-1]+sd*math.Sqrt(1-s.phi*s.phi)*z)
	}
	return s.knots[i]
}
