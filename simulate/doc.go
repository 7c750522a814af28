// Package simulate is a pure-Go port of the toy e-commerce traffic model that the
// exercise's collectd Python plugin fed into collectd: page and asset requests with
// their response classes and latencies, new sessions, and payment attempts split
// across providers and outcomes.
//
// A Simulator turns a Config (model parameters, a seed, gauge or counter output and
// scheduled incidents) into the values of each collectd read. It knows nothing of
// collectd itself; the caller dispatches the Values it returns, each with plugin
// "ecommerce", under the Value's Type and TypeInstance.
//
// Every read covers one interval. The number of events of each kind in an interval is
// a Poisson draw with mean rate x interval, split across outcomes by a multinomial
// draw; each latency is one normal draw per interval, clamped at 0. Incidents override
// parameters for a span of simulated time, which gives detectors a known ground truth.
package simulate
