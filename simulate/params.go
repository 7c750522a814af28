package simulate

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Latency is a normal distribution of response times, in milliseconds. One value is
// drawn per interval and clamped at 0, because a duration cannot be negative.
type Latency struct {
	Mean, StdDev float64
}

// Responses holds the weights (probabilities) of the error classes of a request;
// a 200 response takes the rest.
type Responses struct {
	Error400, Error500 float64
}

// Provider is a payment provider. Weight is its popularity relative to the other
// providers (weights need not sum to 1); UserError, ProviderError and Fraud are the
// probabilities of the outcomes of an attempt, and success takes the rest.
type Provider struct {
	Name                                    string
	Weight, UserError, ProviderError, Fraud float64
}

// Params are the parameters of the model. Rates are events per second.
type Params struct {
	PageRate, AssetRate, SessionRate, PaymentRate float64
	// TrafficMultiplier scales the page, asset, session and payment rates, so that an
	// incident can model a traffic spike or drop without restating every rate.
	TrafficMultiplier float64

	Page, Asset               Responses
	PageLatency, AssetLatency Latency
	Providers                 []Provider
}

// DefaultParams returns the original plugin's defaults (see the model description in
// the package comment), with providers a, b, c and d.
func DefaultParams() Params {
	provider := func(name string, weight float64) Provider {
		return Provider{Name: name, Weight: weight, UserError: 0.01, ProviderError: 0.001, Fraud: 0.003}
	}
	return Params{
		PageRate:          11.5,
		AssetRate:         100,
		SessionRate:       2.4,
		PaymentRate:       0.012,
		TrafficMultiplier: 1,
		Page:              Responses{Error400: 0.006, Error500: 0.001},
		Asset:             Responses{Error400: 0.008, Error500: 0.00012},
		PageLatency:       Latency{Mean: 150, StdDev: 50},
		AssetLatency:      Latency{Mean: 10, StdDev: 1},
		Providers: []Provider{
			provider("a", 0.4),
			provider("b", 0.3),
			provider("c", 0.1),
			provider("d", 0.2),
		},
	}
}

// sumTolerance lets weights that are meant to sum to exactly 1 pass despite
// floating-point rounding (0.7 + 0.2 + 0.1 > 1 in float64).
const sumTolerance = 1e-9

type paramKind int

const (
	kindRate   paramKind = iota // finite, >= 0
	kindWeight                  // finite, in [0, 1]
	kindMean                    // finite; a negative latency mean is allowed (it is clamped)
	kindStdDev                  // finite, >= 0
)

// check validates one value on its own; constraints across parameters are Validate's.
func (k paramKind) check(name string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("%s = %v: must be a finite number", name, v)
	}
	switch k {
	case kindRate, kindStdDev:
		if v < 0 {
			return fmt.Errorf("%s = %v: must not be negative", name, v)
		}
	case kindWeight:
		if v < 0 || v > 1 {
			return fmt.Errorf("%s = %v: must be between 0 and 1", name, v)
		}
	}
	return nil
}

// A table, rather than a switch, so that Set, Validate and the error listing the
// known names cannot disagree.
var globalParams = []struct {
	name  string
	kind  paramKind
	field func(*Params) *float64
}{
	{"PageRate", kindRate, func(p *Params) *float64 { return &p.PageRate }},
	{"AssetRate", kindRate, func(p *Params) *float64 { return &p.AssetRate }},
	{"SessionRate", kindRate, func(p *Params) *float64 { return &p.SessionRate }},
	{"PaymentRate", kindRate, func(p *Params) *float64 { return &p.PaymentRate }},
	{"TrafficMultiplier", kindRate, func(p *Params) *float64 { return &p.TrafficMultiplier }},
	{"PageError400", kindWeight, func(p *Params) *float64 { return &p.Page.Error400 }},
	{"PageError500", kindWeight, func(p *Params) *float64 { return &p.Page.Error500 }},
	{"AssetError400", kindWeight, func(p *Params) *float64 { return &p.Asset.Error400 }},
	{"AssetError500", kindWeight, func(p *Params) *float64 { return &p.Asset.Error500 }},
	{"PageLatencyMean", kindMean, func(p *Params) *float64 { return &p.PageLatency.Mean }},
	{"PageLatencyStdDev", kindStdDev, func(p *Params) *float64 { return &p.PageLatency.StdDev }},
	{"AssetLatencyMean", kindMean, func(p *Params) *float64 { return &p.AssetLatency.Mean }},
	{"AssetLatencyStdDev", kindStdDev, func(p *Params) *float64 { return &p.AssetLatency.StdDev }},
}

var providerParams = []struct {
	name  string
	kind  paramKind
	field func(*Provider) *float64
}{
	{"Weight", kindRate, func(p *Provider) *float64 { return &p.Weight }},
	{"UserError", kindWeight, func(p *Provider) *float64 { return &p.UserError }},
	{"ProviderError", kindWeight, func(p *Provider) *float64 { return &p.ProviderError }},
	{"Fraud", kindWeight, func(p *Provider) *float64 { return &p.Fraud }},
}

// Set changes one parameter by its configuration name, case-insensitively: PageRate,
// AssetRate, SessionRate, PaymentRate, TrafficMultiplier, PageError400, PageError500,
// AssetError400, AssetError500, PageLatencyMean, PageLatencyStdDev, AssetLatencyMean,
// AssetLatencyStdDev. It rejects a value that is invalid on its own (and then leaves p
// unchanged); constraints between parameters, such as error weights summing to at
// most 1, are left to Validate because they may hold only after several Sets.
func (p *Params) Set(name string, value float64) error {
	for _, d := range globalParams {
		if strings.EqualFold(d.name, name) {
			if err := d.kind.check(d.name, value); err != nil {
				return err
			}
			*d.field(p) = value
			return nil
		}
	}
	names := make([]string, len(globalParams))
	for i, d := range globalParams {
		names[i] = d.name
	}
	return fmt.Errorf("unknown parameter %q (want one of %s)", name, strings.Join(names, ", "))
}

// SetProvider changes a parameter of the named provider (names match exactly, as they
// appear verbatim in the dispatched names): Weight, UserError, ProviderError or Fraud,
// case-insensitively. Like Set it checks the value on its own only.
//
// The Providers slice is modified in place; a copy of Params shares it, so copy the
// slice first if the original must stay unchanged.
func (p *Params) SetProvider(provider, name string, value float64) error {
	i := p.provider(provider)
	if i < 0 {
		return fmt.Errorf("unknown payment provider %q", provider)
	}
	for _, d := range providerParams {
		if strings.EqualFold(d.name, name) {
			if err := d.kind.check("provider "+provider+" "+d.name, value); err != nil {
				return err
			}
			*d.field(&p.Providers[i]) = value
			return nil
		}
	}
	return fmt.Errorf("unknown parameter %q of payment provider %q (want Weight, UserError, ProviderError or Fraud)", name, provider)
}

func (p *Params) provider(name string) int {
	for i := range p.Providers {
		if p.Providers[i].Name == name {
			return i
		}
	}
	return -1
}

// Validate reports whether the parameters describe a valid model; the error names the
// offending parameter.
func (p Params) Validate() error {
	var errs []error
	for _, d := range globalParams {
		if err := d.kind.check(d.name, *d.field(&p)); err != nil {
			errs = append(errs, err)
		}
	}
	for _, r := range []struct {
		name string
		w    Responses
	}{{"Page", p.Page}, {"Asset", p.Asset}} {
		if s := r.w.Error400 + r.w.Error500; s > 1+sumTolerance {
			errs = append(errs, fmt.Errorf("%sError400 + %sError500 = %v: must be at most 1", r.name, r.name, s))
		}
	}

	seen := make(map[string]bool, len(p.Providers))
	var totalWeight float64
	for i := range p.Providers {
		pr := &p.Providers[i]
		if err := checkProviderName(pr.Name); err != nil {
			errs = append(errs, fmt.Errorf("provider %d: %w", i+1, err))
		} else if seen[pr.Name] {
			errs = append(errs, fmt.Errorf("provider %q is configured twice", pr.Name))
		}
		seen[pr.Name] = true
		for _, d := range providerParams {
			if err := d.kind.check("provider "+pr.Name+" "+d.name, *d.field(pr)); err != nil {
				errs = append(errs, err)
			}
		}
		if s := pr.UserError + pr.ProviderError + pr.Fraud; s > 1+sumTolerance {
			errs = append(errs, fmt.Errorf("provider %s UserError + ProviderError + Fraud = %v: must be at most 1", pr.Name, s))
		}
		totalWeight += pr.Weight
	}
	// Attempts must go somewhere; with no attempts the providers' weights do not matter.
	if p.PaymentRate*p.TrafficMultiplier > 0 && !(totalWeight > 0) {
		errs = append(errs, fmt.Errorf("PaymentRate = %v but the payment providers' Weights sum to %v: need a provider with a positive Weight", p.PaymentRate, totalWeight))
	}
	return errors.Join(errs...)
}

// checkProviderName keeps names usable inside a collectd type instance and
// unambiguous in "payment-provider-NAME.outcome".
func checkProviderName(name string) error {
	if name == "" {
		return errors.New("provider Name is empty")
	}
	if len(name) > 64 {
		return fmt.Errorf("provider Name %q is longer than 64 bytes", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return fmt.Errorf("provider Name %q: only letters, digits, '_' and '-' are allowed", name)
		}
	}
	return nil
}

// clone returns a copy that shares no memory with p, so that applying incidents to it
// cannot change p.
func (p Params) clone() Params {
	p.Providers = append([]Provider(nil), p.Providers...)
	return p
}
