package bridge

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestCdtimeRoundTrip(t *testing.T) {
	for _, ts := range []time.Time{time.Unix(0, 0), time.Unix(1_800_000_000, 999_999_999), time.Unix(1_234_567_890, 1)} {
		assert.WithinDuration(t, ts, cdtimeToTime(timeToCdtime(ts)), 2*time.Nanosecond)
	}
	assert.Equal(t, 10*time.Second, cdtimeToDuration(10<<30))
}

func TestLogLimitedBacksOff(t *testing.T) {
	n := 0
	Logf = func(string, ...any) { n++ }
	defer func() { Logf = func(string, ...any) {} }()
	var l logLimited
	for i := 0; i < 1000; i++ {
		l.logf("x")
	}
	assert.Equal(t, 10, n, "1, 2, 4, ... 512")
}

func TestHostnameAndIntervalOutsideCollectd(t *testing.T) {
	assert.Empty(t, Hostname(), "no hostname_g outside collectd")
	assert.Zero(t, DefaultInterval())
}
