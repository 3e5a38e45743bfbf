package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a server loadbench started, pinned to one CPU with GOMAXPROCS=1.
// It runs in its own process group so that stopping it also ends the children
// it forks (nginx's worker).
type proc struct {
	name string
	cpu  string
	cmd  *exec.Cmd
	log  string // its stdout and stderr
	done chan struct{}
}

var (
	procsMu sync.Mutex
	procs   = map[*proc]bool{} // running, for stopAll on an interrupt
)

// startProc runs argv on cpu, its output going to logPath.
func startProc(name, cpu, logPath string, env []string, argv ...string) (*proc, error) {
	out, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer out.Close() // the child has its own copy
	cmd := exec.Command("taskset", append([]string{"-c", cpu}, argv...)...)
	cmd.Env = append(append(os.Environ(), "GOMAXPROCS=1"), env...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	p := &proc{name: name, cpu: cpu, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	procsMu.Lock()
	procs[p] = true
	procsMu.Unlock()
	return p, nil
}

// pid is the server's own pid: taskset execs the command, so it is taskset's.
func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop ends the server's process group: SIGTERM, then SIGKILL after 5s.
func (p *proc) stop() {
	procsMu.Lock()
	delete(procs, p)
	procsMu.Unlock()
	syscall.Kill(-p.pid(), syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		syscall.Kill(-p.pid(), syscall.SIGKILL)
		<-p.done
	}
}

func stopAll() {
	procsMu.Lock()
	all := make([]*proc, 0, len(procs))
	for p := range procs {
		all = append(all, p)
	}
	procsMu.Unlock()
	for _, p := range all {
		p.stop()
	}
}

// tail is the end of the server's log, for error messages.
func (p *proc) tail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// peakRSS is the sum of VmHWM over the server and its descendants, in bytes.
// Read it before stopping the server: the kernel forgets it with the process.
func (p *proc) peakRSS() (int64, error) {
	var total int64
	for _, pid := range append([]int{p.pid()}, descendants(p.pid())...) {
		kb, err := statusKB(pid, "VmHWM:")
		if err != nil {
			return 0, err
		}
		total += kb << 10
	}
	return total, nil
}

func statusKB(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("pid %d: no %s", pid, field)
}

// descendants lists the processes below pid, from /proc/*/stat.
func descendants(pid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	children := map[int][]int{}
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// The command name may hold spaces and parentheses: fields start after the last ')'.
		i := bytes.LastIndexByte(b, ')')
		fields := strings.Fields(string(b[i+1:]))
		if i < 0 || len(fields) < 2 {
			continue
		}
		self, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
		ppid, _ := strconv.Atoi(fields[1])
		children[ppid] = append(children[ppid], self)
	}
	var out []int
	for queue := children[pid]; len(queue) > 0; queue = queue[1:] {
		out = append(out, queue[0])
		queue = append(queue, children[queue[0]]...)
	}
	return out
}

// cpuTicks is the user and system time of the server and its descendants,
// in clock ticks.
func (p *proc) cpuTicks() int64 {
	var total int64
	for _, pid := range append([]int{p.pid()}, descendants(p.pid())...) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if i := bytes.LastIndexByte(b, ')'); err == nil && i >= 0 {
			if f := strings.Fields(string(b[i+1:])); len(f) > 12 {
				utime, _ := strconv.ParseInt(f[11], 10, 64)
				stime, _ := strconv.ParseInt(f[12], 10, 64)
				total += utime + stime
			}
		}
	}
	return total
}

// cpuStat is one CPU's busy and total time so far, in clock ticks. Steal
// (the hypervisor running someone else) counts as busy.
func cpuStat(cpu string) (busy, total int64) {
	b, _ := os.ReadFile("/proc/stat")
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 9 || f[0] != "cpu"+cpu {
			continue
		}
		for i, v := range f[1:9] { // user nice system idle iowait irq softirq steal
			n, _ := strconv.ParseInt(v, 10, 64)
			total += n
			if i != 3 && i != 4 {
				busy += n
			}
		}
	}
	return busy, total
}

// othersMeter measures how much of a server's CPU went to other work while
// it was loaded: the noise behind its figures on a shared machine.
type othersMeter struct {
	p           *proc
	busy, total int64
	ours        int64
}

func meterOthers(p *proc) othersMeter {
	busy, total := cpuStat(p.cpu)
	return othersMeter{p: p, busy: busy, total: total, ours: p.cpuTicks()}
}

// share is the fraction of the CPU's time since meterOthers that was busy
// with anything but the server.
func (m othersMeter) share() float64 {
	busy, total := cpuStat(m.p.cpu)
	if total <= m.total {
		return 0
	}
	others := float64(busy-m.busy-(m.p.cpuTicks()-m.ours)) / float64(total-m.total)
	return max(others, 0)
}

// freeAddr is a loopback address nothing listens on, so runs never collide
// with other servers on a shared machine.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// probe is a client without keep-alive: each poll is a fresh connection, as a
// server that is not listening yet refuses it at once.
var probe = &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

func post(url, body string) (int, string, error) {
	res, err := probe.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, string(b), err
}

// waitAnswer polls url with body until it answers 200, and returns how long
// that took from since. It polls every 200µs so that start-up times are exact
// to well under a millisecond.
func (p *proc) waitAnswer(url, body string, since time.Time, timeout time.Duration) (time.Duration, string, error) {
	var last error
	for time.Since(since) < timeout {
		if p.exited() {
			return 0, "", fmt.Errorf("%s exited: %s", p.name, p.tail())
		}
		status, answer, err := post(url, body)
		if err == nil && status == http.StatusOK {
			return time.Since(since), answer, nil
		}
		if err == nil {
			err = fmt.Errorf("HTTP %d: %s", status, answer)
		}
		last = err
		time.Sleep(200 * time.Microsecond)
	}
	return 0, "", errors.Join(fmt.Errorf("%s did not answer %s within %v", p.name, url, timeout), last)
}
