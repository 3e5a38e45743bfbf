package server

import (
	"crypto/tls"
	"fmt"
	"sync/atomic"
)

// certs holds the serving certificate. Reload reads the files again, so a
// renewed certificate is served from the next handshake on, without a
// restart; a failed read keeps the one being served.
type certs struct {
	certFile, keyFile string
	cert              atomic.Pointer[tls.Certificate]
}

// newCerts loads the pair, or returns nil when TLS is not configured.
func newCerts(certFile, keyFile string) (*certs, error) {
	if certFile == "" && keyFile == "" {
		return nil, nil
	}
	if certFile == "" || keyFile == "" {
		return nil, fmt.Errorf("TLS needs both a certificate and a key file")
	}
	c := &certs{certFile: certFile, keyFile: keyFile}
	return c, c.reload()
}

func (c *certs) reload() error {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("TLS certificate %s, key %s: %w", c.certFile, c.keyFile, err)
	}
	c.cert.Store(&cert)
	return nil
}

// current is the certificate being served; nil without TLS.
func (c *certs) current() *tls.Certificate {
	if c == nil {
		return nil
	}
	return c.cert.Load()
}

// config is the listener's TLS configuration, asking for the certificate at
// every handshake so reloads take effect.
func (c *certs) config() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return c.cert.Load(), nil
		},
	}
}
