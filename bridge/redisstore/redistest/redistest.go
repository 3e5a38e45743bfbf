// Package redistest runs a real redis-server for tests: on 127.0.0.1 and a
// random port, in a temporary directory, without persistence. A test that
// needs one skips, saying why, when redis-server is not installed, unless
// IVROUTER_REDIS_REQUIRED is set (CI sets it), when it fails.
package redistest

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Server is a redis-server process.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	args func(port int, dir string) []string
	tls  bool

	mu    sync.Mutex
	cmd   *exec.Cmd
	log   []string      // what it said since it was ready
	logCh chan struct{} // closed and replaced at each line
}

// Binary is the redis-server tests run: $IVROUTER_REDIS_SERVER, else
// redis-server on $PATH, else /usr/bin/redis-server; "" when none.
func Binary() string {
	if b := os.Getenv("IVROUTER_REDIS_SERVER"); b != "" {
		return b
	}
	if b, err := exec.LookPath("redis-server"); err == nil {
		return b
	}
	if _, err := os.Stat("/usr/bin/redis-server"); err == nil {
		return "/usr/bin/redis-server"
	}
	return ""
}

// Start runs a redis-server until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return start(t, nil)
}

// missing skips the test, or fails it where IVROUTER_REDIS_REQUIRED is set.
func missing(t testing.TB, what string) {
	t.Helper()
	msg := what + " is not installed (apt-get install redis-server, or set IVROUTER_REDIS_SERVER): skipping the Redis store tests"
	if os.Getenv("IVROUTER_REDIS_REQUIRED") != "" {
		t.Fatal(msg + ", which IVROUTER_REDIS_REQUIRED says must run")
	}
	t.Skip(msg)
}

// start runs a redis-server with the usual arguments, or with args' if
// not nil.
func start(t testing.TB, args func(port int, dir string) []string) *Server {
	t.Helper()
	bin := Binary()
	if bin == "" {
		missing(t, "redis-server")
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir(), args: args}
	if s.args == nil {
		s.args = func(port int, dir string) []string {
			return []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no",
				"--logfile", "", "--loglevel", "notice", "--daemonize", "no", "--protected-mode", "no"}
		}
	}
	var err error
	for range 5 { // a port taken between picking and binding: pick again
		if s.port, err = freePort(); err != nil {
			continue
		}
		if err = s.start(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("redis-server: %v", err)
	}
	t.Cleanup(s.Kill)
	return s
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// start runs redis-server and returns once it accepts connections, as it
// says on its standard output (a Sentinel: once it monitors its primary).
func (s *Server) start() error {
	cmd := exec.Command(s.bin, s.args(s.port, s.dir)...)
	cmd.Dir = s.dir
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return err
	}
	// A server that says nothing for a minute is killed, ending the scan.
	stuck := time.AfterFunc(time.Minute, func() { _ = cmd.Process.Kill() })
	defer stuck.Stop()
	lines := bufio.NewScanner(out)
	var log []string
	for lines.Scan() {
		line := lines.Text()
		log = append(log, line)
		if strings.Contains(line, "Ready to accept connections") || strings.Contains(line, "+monitor master") { // a Sentinel says the latter
			s.mu.Lock()
			s.cmd, s.log, s.logCh = cmd, nil, make(chan struct{})
			s.mu.Unlock()
			go s.read(lines) // keep draining: a full pipe would stop the server
			return nil
		}
	}
	_ = cmd.Wait()
	return fmt.Errorf("exited before accepting connections:\n%s", strings.Join(log, "\n"))
}

// read keeps what the server says.
func (s *Server) read(lines *bufio.Scanner) {
	for lines.Scan() {
		s.mu.Lock()
		s.log = append(s.log, lines.Text())
		close(s.logCh)
		s.logCh = make(chan struct{})
		s.mu.Unlock()
	}
}

// waitLog waits until the server says sub, for at most a minute.
func (s *Server) waitLog(sub string) error {
	timeout := time.After(time.Minute)
	for seen := 0; ; {
		s.mu.Lock()
		lines, ch := s.log[seen:], s.logCh
		seen = len(s.log)
		s.mu.Unlock()
		for _, l := range lines {
			if strings.Contains(l, sub) {
				return nil
			}
		}
		select {
		case <-ch:
		case <-timeout:
			return fmt.Errorf("redis-server did not say %q", sub)
		}
	}
}

// Addr is host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL is redis://host:port/0, rediss:// for a server StartTLS started.
func (s *Server) URL() string {
	if s.tls {
		return "rediss://" + s.Addr() + "/0"
	}
	return "redis://" + s.Addr() + "/0"
}

// Kill ends the server (SIGKILL) and waits for it; nothing it held
// survives.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGCONT) // a stopped server cannot die
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
}

// Restart starts the server again on the same port, empty.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	if err := s.start(); err != nil { // redis-server binds with SO_REUSEADDR
		s.t.Fatalf("redis-server restart: %v", err)
	}
}

// Pause stops the server (SIGSTOP): connections stay open, nothing is
// answered, as a Redis swapping or stuck would.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume continues a paused server (SIGCONT).
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		_ = s.cmd.Process.Signal(sig)
	}
}

// StartCluster runs a Redis Cluster of n primaries (3 or more), joined by
// redis-cli, and returns the store URL naming every node.
func StartCluster(t testing.TB, n int) string {
	t.Helper()
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		missing(t, "redis-cli")
	}
	var addrs []string
	var nodes []*Server
	for range n {
		s := start(t, func(port int, dir string) []string {
			return []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no",
				"--logfile", "", "--daemonize", "no", "--protected-mode", "no",
				"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"}
		})
		addrs, nodes = append(addrs, s.Addr()), append(nodes, s)
	}
	out, err := exec.Command(cli, append(append([]string{"--cluster", "create"}, addrs...), "--cluster-yes")...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "All 16384 slots covered") {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, s := range nodes { // each node learns the others' slots by gossip
		if err := s.waitLog("Cluster state changed: ok"); err != nil {
			t.Fatal(err)
		}
	}
	return "redis://" + addrs[0] + "?addr=" + strings.Join(addrs[1:], "&addr=")
}

// StartSentinel runs a Sentinel (redis-server --sentinel) watching primary
// as "ivrouter", and returns the store URL that finds it through the
// Sentinel.
func StartSentinel(t testing.TB, primary *Server) string {
	t.Helper()
	s := start(t, func(port int, dir string) []string {
		conf := filepath.Join(dir, "sentinel.conf")
		if err := os.WriteFile(conf, []byte(fmt.Sprintf("sentinel monitor ivrouter 127.0.0.1 %d 1\n", primary.port)), 0o644); err != nil {
			t.Fatal(err)
		}
		return []string{conf, "--sentinel", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
			"--logfile", "", "--daemonize", "no", "--protected-mode", "no"}
	})
	return "redis://" + s.Addr() + "/0?master_set=ivrouter"
}

// StartTLS runs a redis-server that speaks TLS only, with a certificate
// for 127.0.0.1 of its own, and returns it and the pool that trusts it.
func StartTLS(t testing.TB) (*Server, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "redistest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	s := start(t, func(port int, dir string) []string {
		return []string{"--port", "0", "--tls-port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
			"--tls-cert-file", certFile, "--tls-key-file", keyFile, "--tls-ca-cert-file", certFile, "--tls-auth-clients", "no",
			"--save", "", "--appendonly", "no", "--logfile", "", "--daemonize", "no", "--protected-mode", "no"}
	})
	s.tls = true
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return s, pool
}
