package influx

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  string // the file holding its certificate
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), name+".pem")
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644))
	return &testCA{cert: cert, key: key, pem: path}
}

// serverCert is a certificate for 127.0.0.1 signed by the CA.
func (ca *testCA) serverCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "influxdb"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// newTLSInflux is the fake InfluxDB behind https, with a certificate of ca.
func newTLSInflux(t *testing.T, ca *testCA) *fakeInflux {
	f := &fakeInflux{auth: map[string]bool{}}
	f.Server = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.Server.TLS = &tls.Config{Certificates: []tls.Certificate{ca.serverCert(t)}, MinVersion: tls.VersionTLS12}
	f.Server.Config.ErrorLog = nil
	f.StartTLS()
	t.Cleanup(f.Close)
	return f
}

// The server's certificate is verified by default: its CA in CAFile is
// trusted, another CA or none is refused with a line that says what to do,
// and nothing is written to a server that is not trusted.
func TestWriterVerifiesTheServersCertificate(t *testing.T) {
	t.Parallel()
	ours, theirs := newTestCA(t, "ours"), newTestCA(t, "theirs")
	f := newTLSInflux(t, ours)

	var good logs
	w := start(t, Config{URL: f.URL, CAFile: ours.pem, FlushInterval: time.Millisecond}, &good)
	w.WriteValueList(point(1), false)
	eventually(t, func() bool { return len(f.received()) == 1 }, "written over https to a server of the CA in CAFile")
	w.Close()
	assert.Empty(t, good.matching("ERROR"))

	for name, cfg := range map[string]Config{
		"another CA": {URL: f.URL, CAFile: theirs.pem},
		"no CAFile":  {URL: f.URL},
	} {
		t.Run(name, func(t *testing.T) {
			var l logs
			cfg.FlushInterval = time.Millisecond
			w := start(t, cfg, &l)
			w.WriteValueList(point(2), false)
			eventually(t, func() bool { return len(l.matching("ERROR")) > 0 }, "the refusal is logged")
			w.Close()
			errs := l.matching("ERROR")
			assert.Contains(t, errs[0], "certificate signed by unknown authority")
			assert.Contains(t, errs[0], "set CAFile to the CA that signed it")
			assert.Equal(t, []string{point1Line(t, f)}, f.received(), "nothing more reached the server")
		})
	}

	var skip logs
	w = start(t, Config{URL: f.URL, InsecureSkipVerify: true, FlushInterval: time.Millisecond}, &skip)
	w.WriteValueList(point(3), false)
	eventually(t, func() bool { return len(f.received()) == 2 }, "InsecureSkipVerify writes to any server")
	w.Close()
}

func point1Line(t *testing.T, f *fakeInflux) string {
	t.Helper()
	got := f.received()
	require.NotEmpty(t, got)
	return got[0]
}
