package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The soak's server settings: those of the hostile-script suite
// (cmd/ivrouter/hostile_test.go), so a soak is that suite stretched over
// minutes at a steady rate.
const (
	soakDeadline = time.Second
	soakSlack    = 100 * time.Millisecond
	soakFallback = 99
	soakMemory   = "512MiB"
	soakSample   = 30 * time.Second
)

// soakAttack is one of testdata/hostile's scripts and the layers it may
// answer ("-- answers:").
type soakAttack struct {
	route   string
	answers []int
}

// soakTally counts one kind of call over one sample.
type soakTally struct {
	sent, ok, late, wrong, failed atomic.Int64
}

// soakSampleRow is what a sample saw.
type soakSampleRow struct {
	at                         time.Duration
	rss                        int64
	goroutines                 int
	healthy, hostile           [5]int64 // sent, ok, late, wrong, failed
	healthyP99, healthyMaxLate time.Duration
}

// runSoak serves testdata/hostile at a fixed rate for d, a fraction bad of
// the calls going to the attacks in turn and the rest to the healthy
// layer-5 script, and prints RSS, goroutines and every call's fate per
// sample. Requests are sent on a clock, not after answers (an open loop), so
// a server that slows down gets more calls in flight, as Voicenter's would.
func runSoak(cfg *config) int {
	root, err := repoRoot()
	if err != nil {
		progress("%v", err)
		return 1
	}
	tmp, err := os.MkdirTemp("", "loadbench-soak-")
	if err != nil {
		progress("%v", err)
		return 1
	}
	if cfg.keep {
		progress("logs in %s", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	cfg.only = map[string]bool{"ivrouter": true}
	b := &bench{cfg: cfg, root: root, tmp: tmp}
	if err := b.build(); err != nil {
		progress("%v", err)
		return 1
	}
	dir := filepath.Join(root, "testdata", "hostile")
	attacks, err := soakAttacks(dir)
	if err != nil {
		progress("%v", err)
		return 1
	}
	hang := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		progress("%v", err)
		return 1
	}
	go hang.Serve(ln)
	defer hang.Close()

	addr, err := freeAddr()
	if err != nil {
		progress("%v", err)
		return 1
	}
	admin, err := freeAddr()
	if err != nil {
		progress("%v", err)
		return 1
	}
	cpus := fmt.Sprintf("0-%d", runtime.NumCPU()-1)
	p, err := startProc("ivrouter", cpus, filepath.Join(tmp, "ivrouter.log"),
		[]string{"GOMAXPROCS=" + strconv.Itoa(runtime.NumCPU()), "HANG_URL=http://" + ln.Addr().String() + "/contacts"},
		b.bin("ivrouter"), "serve", "--listen", addr, "--admin-listen", admin, "--scripts", dir,
		"--deadline", soakDeadline.String(), "--fallback-layer", strconv.Itoa(soakFallback),
		"--memory-limit", soakMemory, "--call-memory", "32MiB", "--env", "HANG_URL", "--log-level", "warn")
	if err != nil {
		progress("%v", err)
		return 1
	}
	defer p.stop()
	url := "http://" + addr
	if err := b.ready(p, url+"/", `"LAYER":12`); err != nil {
		progress("%v", err)
		return 1
	}
	pid := p.pid()
	progress("soak: %v at %d calls/s, %.1f%% of them misbehaving (%d attacks in turn), on %d CPUs",
		cfg.soak, cfg.soakRate, cfg.soakBad*100, len(attacks), runtime.NumCPU())

	s := &soaker{url: url, attacks: attacks, client: &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 1024, MaxIdleConns: 1024},
	}}
	rows := s.run(cfg, func(at time.Duration) soakSampleRow {
		rss, _ := statusKB(pid, "VmRSS:")
		r := s.sample(at)
		r.rss = rss << 10
		r.goroutines = goroutines("http://" + admin + "/metrics")
		progress("%6s  RSS %s  goroutines %d  healthy %d (late %d, failed %d)  hostile %d (late %d, failed %d)",
			at.Round(time.Second), mib(r.rss), r.goroutines, r.healthy[0], r.healthy[2], r.healthy[4]+r.healthy[3],
			r.hostile[0], r.hostile[2], r.hostile[4]+r.hostile[3])
		return r
	})
	peak, _ := p.peakRSS()
	exited := p.exited()
	soakReport(os.Stdout, cfg, rows, peak, exited)
	return 0
}

// soakAttacks lists the attack routes of dir with their answers.
func soakAttacks(dir string) ([]soakAttack, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.lua"))
	if err != nil || len(paths) == 0 {
		return nil, fmt.Errorf("no attacks in %s: %v", dir, err)
	}
	answers := regexp.MustCompile(`(?m)^-- answers: ([\d ,]+)$`)
	var out []soakAttack
	for _, path := range paths {
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		m := answers.FindSubmatch(src)
		if m == nil {
			return nil, fmt.Errorf("%s: no -- answers: line", path)
		}
		a := soakAttack{route: "/" + strings.TrimSuffix(filepath.Base(path), ".lua")}
		for _, f := range strings.FieldsFunc(string(m[1]), func(r rune) bool { return r == ',' || r == ' ' }) {
			n, _ := strconv.Atoi(f)
			a.answers = append(a.answers, n)
		}
		out = append(out, a)
	}
	return out, nil
}

// soaker sends the soak's calls and tallies them.
type soaker struct {
	url              string
	attacks          []soakAttack
	client           *http.Client
	healthy, hostile soakTally
	mu               sync.Mutex
	healthyTimes     []time.Duration // this sample's, for its p99
	maxLate          time.Duration
	inflight         sync.WaitGroup
}

// run sends calls on a ticker until cfg.soak has passed, sampling every
// soakSample, then waits for the calls in flight.
func (s *soaker) run(cfg *config, sample func(time.Duration) soakSampleRow) []soakSampleRow {
	every := time.Second / time.Duration(cfg.soakRate)
	badEvery := int64(1 / cfg.soakBad)
	tick := time.NewTicker(every)
	defer tick.Stop()
	next := time.NewTicker(soakSample)
	defer next.Stop()
	start := time.Now()
	var rows []soakSampleRow
	var n int64
	for {
		select {
		case <-tick.C:
			n++
			id := fmt.Sprintf("soak-%d", n)
			s.inflight.Add(1)
			if n%badEvery == 0 {
				a := s.attacks[int(n/badEvery)%len(s.attacks)]
				go s.call(&s.hostile, a.route, id, "1", a.answers)
			} else {
				go s.call(&s.healthy, "/", id, "12345678", []int{12})
			}
		case <-next.C:
			at := time.Since(start)
			if at >= cfg.soak {
				s.inflight.Wait()
				return append(rows, sample(at))
			}
			rows = append(rows, sample(at))
		}
	}
}

var soakAnswer = regexp.MustCompile(`^\{"STATUS":0,"ACTION":"GO_TO_LAYER","LAYER":(\d+)\}$`)

// call posts one call and tallies its fate.
func (s *soaker) call(t *soakTally, route, id, dtmf string, want []int) {
	defer s.inflight.Done()
	t.sent.Add(1)
	body := fmt.Sprintf(`{"METHOD":"IVR_LAYER_INPUT","DATA":{"DID":"0722776772","CALLER_ID":"0501234567","IVR_UNIQUE_ID":%q,"DTMF":%q,"LAYER_ID":"5"}}`, id, dtmf)
	start := time.Now()
	res, err := s.client.Post(s.url+route, "application/json", strings.NewReader(body))
	if err != nil {
		t.failed.Add(1)
		return
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	took := time.Since(start)
	if t == &s.healthy {
		s.mu.Lock()
		s.healthyTimes = append(s.healthyTimes, took)
		s.mu.Unlock()
	}
	if took > soakDeadline+soakSlack {
		t.late.Add(1)
		s.mu.Lock()
		s.maxLate = max(s.maxLate, took)
		s.mu.Unlock()
	}
	m := soakAnswer.FindSubmatch(b)
	if err != nil || res.StatusCode != http.StatusOK || m == nil {
		t.failed.Add(1)
		return
	}
	layer, _ := strconv.Atoi(string(m[1]))
	for _, w := range want {
		if layer == w {
			t.ok.Add(1)
			return
		}
	}
	t.wrong.Add(1)
}

// sample takes the counts since the last sample and resets them.
func (s *soaker) sample(at time.Duration) soakSampleRow {
	take := func(t *soakTally) [5]int64 {
		return [5]int64{t.sent.Swap(0), t.ok.Swap(0), t.late.Swap(0), t.wrong.Swap(0), t.failed.Swap(0)}
	}
	r := soakSampleRow{at: at, healthy: take(&s.healthy), hostile: take(&s.hostile)}
	s.mu.Lock()
	times := s.healthyTimes
	s.healthyTimes, r.healthyMaxLate, s.maxLate = nil, s.maxLate, 0
	s.mu.Unlock()
	r.healthyP99 = percentile(times, 0.99)
	return r
}

func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sorted := append([]time.Duration(nil), ds...)
	for i := 1; i < len(sorted); i++ { // insertion sort: a sample holds a few thousand
		for j := i; j > 0 && sorted[j] < sorted[j-1]; j-- {
			sorted[j], sorted[j-1] = sorted[j-1], sorted[j]
		}
	}
	return sorted[int(q*float64(len(sorted)-1))]
}

// goroutines reads go_goroutines from the admin listener's /metrics.
func goroutines(url string) int {
	res, err := probe.Get(url)
	if err != nil {
		return -1
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			n, _ := strconv.ParseFloat(rest, 64)
			return int(n)
		}
	}
	return -1
}

// soakReport prints the samples as a markdown table and the verdict.
func soakReport(w io.Writer, cfg *config, rows []soakSampleRow, peak int64, exited bool) {
	fmt.Fprintf(w, "Soak: %v at %d calls/s, %.1f%% misbehaving (testdata/hostile in turn), deadline %v, --memory-limit %s; %s\n\n",
		cfg.soak, cfg.soakRate, cfg.soakBad*100, soakDeadline, soakMemory, machine())
	fmt.Fprintln(w, "| at | RSS | goroutines | healthy calls | healthy p99 | hostile calls | late (> deadline + 100 ms) | wrong or unanswered |")
	fmt.Fprintln(w, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	var sent, late, bad int64
	for _, r := range rows {
		l := r.healthy[2] + r.hostile[2]
		b := r.healthy[3] + r.healthy[4] + r.hostile[3] + r.hostile[4]
		sent += r.healthy[0] + r.hostile[0]
		late += l
		bad += b
		fmt.Fprintf(w, "| %s | %s | %d | %d | %s | %d | %d | %d |\n", r.at.Round(time.Second), mib(r.rss), r.goroutines,
			r.healthy[0], ms(r.healthyP99), r.hostile[0], l, b)
	}
	fmt.Fprintf(w, "\n%d calls, %d late, %d wrong or unanswered; peak RSS %s; the process %s.\n",
		sent, late, bad, mib(peak), map[bool]string{true: "exited", false: "kept its PID"}[exited])
}
