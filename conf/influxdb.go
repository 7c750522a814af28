package conf

import (
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"collectd.org/config"

	"github.com/collectd-anomaly/collectd-anomaly/influx"
)

// InfluxDB configures writing to InfluxDB: the <InfluxDB> block of
// <Plugin anomaly>. Its durations are not rule durations: TimeScale leaves
// them alone.
//
//	<InfluxDB>
//	  URL "http://127.0.0.1:8086"
//	  Token "user:password"        # 1.8: "user:password" or none; 2.x: an API token
//	  TokenFile "/etc/collectd/influxdb.token"  # or the token from a file only collectd reads
//	  Org "my-org"                 # 2.x only
//	  Bucket "collectd/autogen"    # 1.8: "database/retention-policy"; 2.x: the bucket
//	  BatchSize 5000               # points per write request
//	  FlushInterval 1              # seconds a point waits at most for its batch
//	  BufferLimit 100000           # points kept while InfluxDB is unreachable
//	  Timeout 10                   # seconds, of a write request and of the flush at shutdown
//	  CAFile "/etc/ssl/my-ca.pem"  # to verify an https server, beside the system's CAs
//	  InsecureSkipVerify false
//	  WriteValues true             # every value list collectd handles
//	  WriteDerived true            # series the rules compute (conversion rate)
//	  WriteHealth true             # health series
//	  WriteAlerts true             # alerts, as measurement anomaly_alerts
//	</InfluxDB>
type InfluxDB struct {
	// The writer's settings, as the block sets them (the plugin adds its
	// logging).
	influx.Config

	// The streams: value lists of other plugins (raw), of plugin "anomaly"
	// (derived series and, among them, health series), and alerts.
	WriteValues, WriteDerived, WriteHealth, WriteAlerts bool
}

const influxOptions = "URL, Token, TokenFile, Org, Bucket, BatchSize, FlushInterval, BufferLimit, Timeout, CAFile, InsecureSkipVerify, WriteValues, WriteDerived, WriteHealth, WriteAlerts"

// parseInfluxDB reads an <InfluxDB> block; prev is the one read before, if
// any: there may be only one.
func parseInfluxDB(b config.Block, prev *InfluxDB) (*InfluxDB, error) {
	if prev != nil {
		return nil, fmt.Errorf("%s: only one <InfluxDB> block is allowed", where(b))
	}
	if len(b.Values) != 0 {
		return nil, fmt.Errorf("%s: takes no argument", where(b))
	}
	in := &InfluxDB{
		Config: influx.Config{
			BatchSize:     influx.DefaultBatchSize,
			FlushInterval: influx.DefaultFlushInterval,
			BufferLimit:   influx.DefaultBufferLimit,
			Timeout:       influx.DefaultTimeout,
		},
		WriteValues: true, WriteDerived: true, WriteHealth: true, WriteAlerts: true,
	}
	var bufferLimit, batchSize, token, tokenFile *config.Block
	for i, c := range b.Children {
		switch {
		case is(c, "BufferLimit"):
			bufferLimit = &c
		case is(c, "BatchSize"):
			batchSize = &c
		case is(c, "Token"):
			token = &c
		case is(c, "TokenFile"):
			tokenFile = &c
		}
		if err := in.option(c); err != nil {
			return nil, inChild(b, i, err)
		}
	}
	switch {
	case token != nil && tokenFile != nil:
		return nil, inBlock(b, optionError(*tokenFile, "give Token or TokenFile, not both"))
	case in.URL == "":
		return nil, fmt.Errorf(`%s: missing URL, such as URL "http://127.0.0.1:8086"`, where(b))
	case in.Bucket == "":
		return nil, fmt.Errorf(`%s: missing Bucket: "database/retention-policy" (or just "database") for InfluxDB 1.8, the bucket for 2.x`, where(b))
	case in.BufferLimit < in.BatchSize:
		if bufferLimit != nil {
			return nil, inBlock(b, optionError(*bufferLimit, "must be at least BatchSize (%d)", in.BatchSize))
		}
		// Only a written BatchSize can pass the default BufferLimit.
		return nil, inBlock(b, optionError(*batchSize, "the BufferLimit (default %d) must be at least BatchSize", in.BufferLimit))
	}
	return in, nil
}

func (in *InfluxDB) option(c config.Block) error {
	var err error
	switch {
	case is(c, "URL"):
		in.URL, err = influxURL(c)
	case is(c, "Token"):
		in.Token, err = secret(c)
	case is(c, "TokenFile"):
		in.Token, err = tokenFromFile(c)
	case is(c, "Org"):
		in.Org, err = oneString(c)
	case is(c, "Bucket"):
		in.Bucket, err = oneString(c)
		if err == nil && in.Bucket == "" {
			err = optionError(c, "must not be empty")
		}
	case is(c, "BatchSize"):
		in.BatchSize, err = oneInt(c, 1)
	case is(c, "BufferLimit"):
		in.BufferLimit, err = oneInt(c, 1)
	case is(c, "FlushInterval"):
		in.FlushInterval, err = positiveDuration(c)
		if err == nil && in.FlushInterval < 10*time.Millisecond {
			err = optionError(c, "must be at least 10ms: each flush is a request to InfluxDB")
		}
	case is(c, "Timeout"):
		in.Timeout, err = positiveDuration(c)
	case is(c, "CAFile"):
		in.CAFile, err = caFile(c)
	case is(c, "InsecureSkipVerify"):
		in.InsecureSkipVerify, err = oneBool(c)
	case is(c, "WriteValues"):
		in.WriteValues, err = oneBool(c)
	case is(c, "WriteDerived"):
		in.WriteDerived, err = oneBool(c)
	case is(c, "WriteHealth"):
		in.WriteHealth, err = oneBool(c)
	case is(c, "WriteAlerts"):
		in.WriteAlerts, err = oneBool(c)
	default:
		err = fmt.Errorf("unknown option %q (options: %s)", c.Key, influxOptions)
	}
	return err
}

// influxURL wants http(s)://host[:port][/path], without credentials: they
// belong in Token, which is never logged; an error shows the URL with its
// password hidden.
func influxURL(c config.Block) (string, error) {
	s, err := oneString(c)
	if err != nil {
		return "", redactedError(c, "want one string in quotes")
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", redactedError(c, "not a URL")
	}
	if u.User != nil {
		return "", redactedError(c, `put the credentials in Token ("user:password" for InfluxDB 1.8), not in the URL`)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", optionError(c, "want http://host:port or https://host:port")
	}
	return s, nil
}

// redactedError is optionError with the URL's user info and query, if any, hidden.
func redactedError(c config.Block, msg string) error {
	if len(c.Values) == 1 && c.Values[0].IsString() {
		if u, err := url.Parse(c.Values[0].String()); err == nil {
			return fmt.Errorf("option %s %q: %s", c.Key, influx.RedactURL(u), msg)
		}
		return fmt.Errorf("option %s (value not shown): %s", c.Key, msg)
	}
	return optionError(c, "%s", msg)
}

// secret reads the token; an error does not show it.
func secret(c config.Block) (string, error) {
	if len(c.Children) > 0 || len(c.Values) != 1 || !c.Values[0].IsString() {
		return "", fmt.Errorf("option %s (value not shown): want one string in quotes", c.Key)
	}
	return c.Values[0].String(), nil
}

// tokenFromFile reads the token from a file, so that it need not sit in a
// collectd.conf that others may read: its first line, without the line
// end. Errors name the file, never its content.
func tokenFromFile(c config.Block) (string, error) {
	path, err := absolutePath(c)
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", optionError(c, "%v", err)
	}
	first, _, _ := strings.Cut(string(data), "\n")
	token := strings.TrimSpace(first)
	if token == "" {
		return "", optionError(c, "the file's first line is empty: want the token there")
	}
	return token, nil
}

// caFile must hold at least one PEM certificate.
func caFile(c config.Block) (string, error) {
	// Absolute, as every path option: collectd reads its configuration from
	// where it was started and runs in BaseDir, so a relative CAFile was
	// found at configuration and missing at init.
	s, err := absolutePath(c)
	if err != nil {
		return "", err
	}
	pem, err := os.ReadFile(s)
	if err != nil {
		return "", optionError(c, "%v", err)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(pem) {
		return "", optionError(c, "no PEM certificate in it")
	}
	return s, nil
}
