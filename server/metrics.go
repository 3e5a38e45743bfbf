package server

import (
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bhttp "github.com/ivrouter/ivrouter/bridge/http"
	"github.com/ivrouter/ivrouter/bridge/ivr"
	"github.com/ivrouter/ivrouter/luavm"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// outcome is how a request ended, the "outcome" label of
// ivrouter_requests_total and a field of the call log.
type outcome uint8

const (
	outcomeOK           outcome = iota // the script answered
	outcomeScriptError                 // the script raised or returned no action: fallback answered
	outcomeTimeout                     // the script overran its deadline: fallback answered
	outcomeBusy                        // no VM came free before the deadline: fallback answered
	outcomeFallback                    // no script answers the layer: fallback answered
	outcomeBadRequest                  // 400, 405, 413, 431: no script ran
	outcomeNotFound                    // 404: no script for the path
	outcomeUnauthorized                // 401: wrong or missing token
	outcomeForbidden                   // 403: address not allowed
	outcomeShutdown                    // the engine closed under the request: fallback answered
	outcomes
)

var outcomeNames = [outcomes]string{"ok", "script_error", "timeout", "busy", "fallback",
	"bad_request", "not_found", "unauthorized", "forbidden", "shutdown"}

func (o outcome) String() string { return outcomeNames[o] }

// actionLabel is the "action" label: the call log's action (ivr.Kind's
// name: go_to_layer, say_digits, dial, status_1) lower-cased, or none when
// the request was rejected before a script could answer.
func actionLabel(k ivr.Kind) string { return actionLabels[k] }

var actionLabels = func() (l [kinds]string) {
	l[0] = "none"
	for k := 1; k < kinds; k++ {
		l[k] = strings.ToLower(ivr.Kind(k).String())
	}
	return l
}()

const kinds = int(ivr.Fail) + 1

// latencyBuckets resolve the whole of Voicenter's 5 s wait: fine steps where
// healthy calls land, then the seconds near the deadline where a slow CRM
// pushes them.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2, 3, 4, 4.5, 5, 7.5}

// metrics are a server's Prometheus collectors. The request path touches
// only pre-resolved counters and histograms (atomic adds); everything else
// is read when /metrics is scraped.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  prometheus.Histogram
	run      *prometheus.HistogramVec
	crm      *prometheus.CounterVec
	crmTime  *prometheus.HistogramVec
	reloads  *prometheus.CounterVec
	inFlight atomic.Int64

	scripts sync.Map // *luavm.Script → *series; cleared on reload
	none    *series  // requests no script answered
}

// series are the pre-resolved request counters of one script.
type series struct {
	m      *metrics
	label  string
	run    prometheus.Observer
	mu     sync.Mutex
	counts [kinds][outcomes]atomic.Pointer[counter]
}

type counter struct{ prometheus.Counter }

func newMetrics(s *Server) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ivrouter_requests_total",
		Help: "Requests answered, by script, the ACTION answered and outcome (ok, script_error, timeout, busy, fallback, bad_request, not_found, unauthorized, forbidden, shutdown).",
	}, []string{"script", "action", "outcome"})
	m.latency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "ivrouter_request_duration_seconds",
		Help:    "Time from reading a request to its answer; Voicenter waits 5 s.",
		Buckets: latencyBuckets,
	})
	m.run = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "ivrouter_script_duration_seconds",
		Help:    "Time scripts took to answer, waiting for a VM included, by script.",
		Buckets: latencyBuckets,
	}, []string{"script"})
	m.crm = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ivrouter_http_requests_total",
		Help: "Requests scripts made with the http module (CRM lookups), by host and response status (error: no response; circuit_open: refused unsent by the host's open circuit).",
	}, []string{"host", "status"})
	m.crmTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "ivrouter_http_request_duration_seconds",
		Help:    "Time the http module's requests took, by host.",
		Buckets: latencyBuckets,
	}, []string{"host"})
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ivrouter_reloads_total",
		Help: "Script reloads, by result (success, failure).",
	}, []string{"result"})
	m.reloads.WithLabelValues("success")
	m.reloads.WithLabelValues("failure")
	m.reg.MustRegister(m.requests, m.latency, m.run, m.crm, m.crmTime, m.reloads,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ivrouter_requests_in_flight",
			Help: "Requests being answered now.",
		}, func() float64 { return float64(m.inFlight.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ivrouter_vms",
			Help: "Lua VMs in the pool: how many scripts run at once.",
		}, func() float64 { return float64(vms(s.cfg.VMs)) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "ivrouter_vm_waits_total",
			Help: "Calls that found every VM busy and queued for one: raise --vms if it climbs with busy outcomes.",
		}, func() float64 { return float64(s.engine.Stats().Waits) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "ivrouter_vm_replaced_total",
			Help: "VMs closed and started afresh after a call failed or overran.",
		}, func() float64 { return float64(s.engine.Stats().Replaced) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "ivrouter_vm_detached_total",
			Help: "Calls run on a goroutine of their own, not the connection's, because their script had not yet ended 8 calls in a row well (new, reloaded, or lately failed, overran or allocated over 1 MiB).",
		}, func() float64 { return float64(s.engine.Stats().Detached) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ivrouter_script_memory_shared_bytes",
			Help: "Bytes of --script-memory that calls in flight hold: near it, calls that allocate much are refused.",
		}, func() float64 { return float64(s.engine.Stats().SharedMemory) }),
		&scrapeCollector{s: s})
	m.none = m.seriesFor(nil)
	return m
}

// seriesFor returns the counters of sc, creating them on its first request.
func (m *metrics) seriesFor(sc *luavm.Script) *series {
	if sc == nil && m.none != nil {
		return m.none
	}
	if v, ok := m.scripts.Load(sc); ok {
		return v.(*series)
	}
	label := "none"
	if sc != nil {
		label = sc.Name
	}
	v, _ := m.scripts.LoadOrStore(sc, &series{m: m, label: label, run: m.run.WithLabelValues(label)})
	return v.(*series)
}

// count records one request. A series' counters are created on first use,
// so /metrics lists only what happened.
func (ss *series) count(k ivr.Kind, o outcome) {
	slot := &ss.counts[k][o]
	c := slot.Load()
	if c == nil {
		ss.mu.Lock()
		if c = slot.Load(); c == nil {
			c = &counter{ss.m.requests.WithLabelValues(ss.label, actionLabel(k), o.String())}
			slot.Store(c)
		}
		ss.mu.Unlock()
	}
	c.Inc()
}

// reloaded drops the series of scripts a reload replaced; their counters
// live on in the vectors, under the same labels, for the new scripts.
func (m *metrics) reloaded(err error) {
	if err != nil {
		m.reloads.WithLabelValues("failure").Inc()
		return
	}
	m.reloads.WithLabelValues("success").Inc()
	m.scripts.Clear()
}

// observeHTTP is the http module's Observe hook.
func (m *metrics) observeHTTP(host string, status int, took time.Duration) {
	switch {
	case status == bhttp.StatusCircuitOpen:
		m.crm.WithLabelValues(host, "circuit_open").Inc()
		return // nothing was sent, so there is no latency to record
	case status > 0:
		m.crm.WithLabelValues(host, strconv.Itoa(status)).Inc()
	default:
		m.crm.WithLabelValues(host, "error").Inc()
	}
	m.crmTime.WithLabelValues(host).Observe(took.Seconds())
}

// scrapeCollector reports what is cheaper to read at scrape time than to
// track per request: scripts, cache counters, circuits, TLS, build.
type scrapeCollector struct{ s *Server }

var (
	scriptsDesc = prometheus.NewDesc("ivrouter_scripts",
		"Scripts loaded that answer calls (NAME.lua, layers/N.lua); lib/ modules and events/ scripts are not counted.", nil, nil)
	scriptsInfoDesc = prometheus.NewDesc("ivrouter_scripts_info",
		"The loaded scripts' version: a hash of the directory's contents.", []string{"version", "dir"}, nil)
	loadedDesc = prometheus.NewDesc("ivrouter_scripts_loaded_timestamp_seconds",
		"When the loaded scripts were built.", nil, nil)
	cacheDesc = prometheus.NewDesc("ivrouter_cache_lookups_total",
		"Cache module lookups, by result (hit, miss, stale: an expired value served because its loader failed).", []string{"result"}, nil)
	cacheLoadsDesc = prometheus.NewDesc("ivrouter_cache_loads_total",
		"Loader calls cache.remember made, by result (ok, error).", []string{"result"}, nil)
	storeBytesDesc = prometheus.NewDesc("ivrouter_store_bytes",
		"Bytes the cache and state modules hold in this process, by store.", []string{"store"}, nil)
	storeRefusedDesc = prometheus.NewDesc("ivrouter_cache_refused_total",
		"Values the cache module did not store, by reason (too_large: over the per-value cap, full: the store at its bound).", []string{"reason"}, nil)
	circuitDesc = prometheus.NewDesc("ivrouter_http_circuit_state",
		"Circuit breaker state of each host scripts reach: 1 for the current state.", []string{"host", "state"}, nil)
	tlsDesc = prometheus.NewDesc("ivrouter_tls_certificate_expiry_timestamp_seconds",
		"When the serving certificate expires.", nil, nil)
	storeUpDesc = prometheus.NewDesc("ivrouter_store_up",
		"With --store: 1 while Redis is reachable, 0 while it is down (the cache then asks the CRM directly and state fails); /readyz does not depend on it.", nil, nil)
	storeTripsDesc = prometheus.NewDesc("ivrouter_store_round_trips_total",
		"With --store: requests sent to Redis, by module (cache, state).", []string{"module"}, nil)
	storeErrorsDesc = prometheus.NewDesc("ivrouter_store_errors_total",
		"With --store: failed operations by module and reason (down: refused at once while Redis is down; timeout: no answer within --store-timeout; unreachable: a connection error; deadline: the call's deadline came first; error: an error Redis answered).", []string{"module", "reason"}, nil)
	storeNearDesc = prometheus.NewDesc("ivrouter_store_near_cache_hits_total",
		"With --store: cache reads answered by the near cache, without a round trip.", nil, nil)
	buildDesc = prometheus.NewDesc("ivrouter_build_info",
		"The running build: 1, with its version, VCS revision and Go version.", []string{"version", "revision", "goversion"}, nil)
)

func (c *scrapeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{scriptsDesc, scriptsInfoDesc, loadedDesc, cacheDesc, cacheLoadsDesc, storeBytesDesc, storeRefusedDesc, circuitDesc, tlsDesc, buildDesc,
		storeUpDesc, storeTripsDesc, storeErrorsDesc, storeNearDesc} {
		ch <- d
	}
}

func (c *scrapeCollector) Collect(ch chan<- prometheus.Metric) {
	set := c.s.engine.Current()
	ch <- prometheus.MustNewConstMetric(scriptsDesc, prometheus.GaugeValue, float64(routes(set)))
	ch <- prometheus.MustNewConstMetric(scriptsInfoDesc, prometheus.GaugeValue, 1, set.Version(), set.Dir())
	ch <- prometheus.MustNewConstMetric(loadedDesc, prometheus.GaugeValue, float64(c.s.loaded.Load())/1e9)
	st := c.s.mods.cache.Stats()
	for result, n := range map[string]uint64{"hit": st.Hits, "miss": st.Misses, "stale": st.Stale} {
		ch <- prometheus.MustNewConstMetric(cacheDesc, prometheus.CounterValue, float64(n), result)
	}
	ch <- prometheus.MustNewConstMetric(cacheLoadsDesc, prometheus.CounterValue, float64(st.Loads-st.LoadErrors), "ok")
	ch <- prometheus.MustNewConstMetric(cacheLoadsDesc, prometheus.CounterValue, float64(st.LoadErrors), "error")
	ch <- prometheus.MustNewConstMetric(storeBytesDesc, prometheus.GaugeValue, float64(st.Bytes), "cache")
	ch <- prometheus.MustNewConstMetric(storeBytesDesc, prometheus.GaugeValue, float64(c.s.mods.state.Bytes()), "state")
	ch <- prometheus.MustNewConstMetric(storeRefusedDesc, prometheus.CounterValue, float64(st.TooLarge), "too_large")
	ch <- prometheus.MustNewConstMetric(storeRefusedDesc, prometheus.CounterValue, float64(st.Full), "full")
	for host, state := range c.s.mods.http.Circuits() {
		for _, s := range []string{"closed", "half-open", "open"} {
			v := 0.0
			if s == state {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(circuitDesc, prometheus.GaugeValue, v, host, s)
		}
	}
	if cert := c.s.certs.current(); cert != nil && cert.Leaf != nil {
		ch <- prometheus.MustNewConstMetric(tlsDesc, prometheus.GaugeValue, float64(cert.Leaf.NotAfter.Unix()))
	}
	if c.s.store != nil {
		rs := c.s.store.Stats()
		up := 0.0
		if rs.Up {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(storeUpDesc, prometheus.GaugeValue, up)
		for module, n := range rs.RoundTrips {
			ch <- prometheus.MustNewConstMetric(storeTripsDesc, prometheus.CounterValue, float64(n), module)
		}
		for module, reasons := range rs.Errors {
			for reason, n := range reasons {
				ch <- prometheus.MustNewConstMetric(storeErrorsDesc, prometheus.CounterValue, float64(n), module, reason)
			}
		}
		ch <- prometheus.MustNewConstMetric(storeNearDesc, prometheus.CounterValue, float64(rs.NearHits))
	}
	v, rev, gov := Build()
	ch <- prometheus.MustNewConstMetric(buildDesc, prometheus.GaugeValue, 1, v, rev, gov)
}

// routes counts the scripts of set that answer calls: lib/ modules and
// events/ scripts are not among them.
func routes(set *luavm.Set) int {
	n := 0
	for _, sc := range set.Scripts() {
		if !sc.IsLib() && !sc.IsEvent() {
			n++
		}
	}
	return n
}

// vms is the pool size luavm runs for the configured n.
func vms(n int) int {
	if n <= 0 {
		return luavm.DefaultVMs
	}
	return n
}

// Build reports the running binary's module version, VCS revision (with
// "+dirty" for uncommitted changes) and Go version.
func Build() (version, revision, goVersion string) {
	version, revision = "(devel)", "unknown"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return version, revision, "unknown"
	}
	if bi.Main.Version != "" {
		version = bi.Main.Version
	}
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty {
		revision += "+dirty"
	}
	return version, revision, bi.GoVersion
}
