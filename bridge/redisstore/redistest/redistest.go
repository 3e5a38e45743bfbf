// Package redistest runs a real redis-server for tests: on 127.0.0.1 and a
// random port, in a temporary directory, without persistence. A test that
// needs one skips, saying why, when redis-server is not installed, unless
// IVROUTER_REDIS_REQUIRED is set (CI sets it), when it fails.
package redistest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// Server is a redis-server process.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int

	mu  sync.Mutex
	cmd *exec.Cmd
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
	bin := Binary()
	if bin == "" {
		msg := "redis-server is not installed (apt-get install redis-server, or set IVROUTER_REDIS_SERVER): skipping the Redis store tests"
		if os.Getenv("IVROUTER_REDIS_REQUIRED") != "" {
			t.Fatal(msg + ", which IVROUTER_REDIS_REQUIRED says must run")
		}
		t.Skip(msg)
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir()}
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
// says on its standard output.
func (s *Server) start() error {
	cmd := exec.Command(s.bin, "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--dir", s.dir, "--save", "", "--appendonly", "no", "--logfile", "", "--loglevel", "notice",
		"--daemonize", "no", "--protected-mode", "no")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return err
	}
	lines := bufio.NewScanner(out)
	var log []string
	for lines.Scan() {
		line := lines.Text()
		log = append(log, line)
		if strings.Contains(line, "Ready to accept connections") {
			go io.Copy(io.Discard, out) // keep draining: a full pipe would stop the server
			s.mu.Lock()
			s.cmd = cmd
			s.mu.Unlock()
			return nil
		}
	}
	_ = cmd.Wait()
	return fmt.Errorf("exited before accepting connections:\n%s", strings.Join(log, "\n"))
}

// Addr is host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL is redis://host:port/0.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

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
