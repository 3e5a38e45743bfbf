package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"text/template"
	"time"
)

// layer5Body is post.lua's first request: a correct server answers it with
// GO_TO_LAYER 12, which loadbench checks before loading a server.
const layer5Body = `{"METHOD":"IVR_LAYER_INPUT","DATA":{"DID":"0722776772","CALLER_ID":"0500000001",` +
	`"IVR_UNIQUE_ID":"1bcd7954224861f85a2d70612f1","DTMF":"12345678","LAYER_ID":"5","PREVIOUS_LAYER_ID":"5"}}`

// bench is one loadbench run: where things are and what it measured.
type bench struct {
	cfg     *config
	root    string   // the repository
	tmp     string   // binaries, generated configs, server logs
	ivArgs  []string // ivrouter flags beyond --listen and --scripts
	scripts string   // ivrouter's scripts dir
	crm     *proc    // the CRM stub, serving every round's workloads
	crmURL  string
	res     results
}

// row is a server or workload, measured once a round.
type row struct {
	name string
	runs []wrkResult // one per round
	rss  int64       // peak RSS in bytes, the highest of any round; 0 when not read
	err  error       // a failure, which ends the row's measurements
}

// add records a round's measurement, or the error that ends the row.
func (r *row) add(res wrkResult, err error) {
	if err != nil {
		r.err = err
		return
	}
	r.runs = append(r.runs, res)
}

// results is everything the report prints.
type results struct {
	main      []*row // ivrouter first, then the peers
	workloads []*row // ivrouter's: GO_TO_LAYER first
	stub      *row   // the CRM stub measured directly
	bare      []*row // bare-gopher-lua's SAY and DIAL, as bareWorkloads
	rssLoad   int64  // ivrouter's peak RSS after every workload, the highest of any round
	reload    *reloadResult
	starts    []startResult
}

// stubRow names the CRM stub's own row among ivrouter's workloads.
const stubRow = "CRM stub alone: wrk → stub, 1 connection"

// workload is one of ivrouter's extra rows.
type workload struct {
	name   string
	path   string
	expect string // in a correct answer
	conns  int    // wrk connections, when not -conns
}

// crmConns is how many connections the cold CRM row and the stub's own row
// use. The target is latency a CRM round trip gains through ivrouter, and
// wrk keeps every connection busy: with more than one, either side's p99
// would be mostly its queue, not its work.
const crmConns = 1

// bareWorkloads are the SAY and DIAL scripts run by bare-gopher-lua, in its
// turn, after its GO_TO_LAYER: the interpreter's own ratio for each, beside
// which ivrouter's ratio shows what its machinery adds.
var bareWorkloads = []workload{
	{"SAY_DIGITS: announce.lua's say.lua", "/announce", `"SAY_DIGITS"`, 0},
	{"DIAL: night.lua's dial.lua", "/night", `"DIAL"`, 0},
}

var workloads = []workload{
	{"SAY_DIGITS: announce.lua", "/announce", `"SAY_DIGITS"`, 0},
	{"DIAL: night.lua", "/night", `"DIAL"`, 0},
	{"CRM, cached: crm-cached.lua, cache.remember warm", "/crm-cached", fmt.Sprintf(`"LAYER":%d`, crmRepLayer), 0},
	{"CRM, cold: crm-cold.lua, a CRM GET per call, 1 connection", "/crm-cold", fmt.Sprintf(`"LAYER":%d`, crmRepLayer), crmConns},
}

func run(cfg *config) int {
	root, err := repoRoot()
	if err != nil {
		progress("%v", err)
		return 1
	}
	if missing := missingTools(cfg); len(missing) > 0 {
		progress("missing %s.\nInstall on Debian with: apt-get install wrk nginx-light libnginx-mod-http-lua lua-cjson nodejs\n"+
			"(taskset is in util-linux), or leave out the peers that need them with -only.", strings.Join(missing, ", "))
		return 1
	}
	tmp, err := os.MkdirTemp("", "loadbench-")
	if err != nil {
		progress("%v", err)
		return 1
	}
	if cfg.keep {
		progress("logs and configs in %s", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	b := &bench{cfg: cfg, root: root, tmp: tmp}
	if err := b.build(); err != nil {
		progress("%v", err)
		return 1
	}
	if cfg.only["workloads"] && cfg.only["bare-gopher-lua"] {
		for _, w := range bareWorkloads {
			b.res.bare = append(b.res.bare, &row{name: w.name})
		}
	}
	if cfg.only["ivrouter"] {
		b.res.main = append(b.res.main, &row{name: "ivrouter"})
		if cfg.only["workloads"] {
			b.res.workloads = append(b.res.workloads, &row{name: "GO_TO_LAYER: layers/5.lua"})
			for _, w := range workloads {
				b.res.workloads = append(b.res.workloads, &row{name: w.name})
			}
			b.res.stub = &row{name: stubRow}
		}
		if err := b.prepareIvrouter(); err != nil {
			b.failIvrouter(err)
		}
		if b.crm != nil {
			defer b.crm.stop()
		}
	}
	for _, name := range peerNames {
		if cfg.only[name] {
			b.res.main = append(b.res.main, &row{name: name})
		}
	}
	// The host's noise drifts over tens of seconds: the servers take turns,
	// round after round, so each one's median comes from the same stretch
	// of time as the others'.
	for round := 1; round <= cfg.rounds; round++ {
		progress("round %d of %d", round, cfg.rounds)
		for _, r := range b.res.main {
			switch {
			case r.err != nil:
			case r.name == "ivrouter":
				b.measureIvrouter(r)
			default:
				b.measurePeer(r)
			}
		}
	}
	if cfg.only["reload"] {
		b.res.reload = b.runReload()
	}
	if cfg.only["start"] {
		b.res.starts = b.runStarts()
	}
	b.report(os.Stdout)
	return 0
}

// repoRoot is the directory above the working directory holding this module's go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			strings.Contains(string(b), "module github.com/ivrouter/ivrouter\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run loadbench inside the ivrouter repository")
		}
		dir = parent
	}
}

// missingTools names what the selected parts need and this machine lacks.
func missingTools(cfg *config) []string {
	var missing []string
	need := func(ok bool, what string) {
		if !ok {
			missing = append(missing, what)
		}
	}
	_, err := exec.LookPath("taskset")
	need(err == nil, "taskset")
	_, err = exec.LookPath("wrk")
	need(err == nil, "wrk")
	if cfg.only["nginx-luajit"] {
		need(nginxPath() != "", "nginx")
		for _, m := range []string{"ndk_http_module.so", "ngx_http_lua_module.so"} {
			_, err := os.Stat("/usr/lib/nginx/modules/" + m)
			need(err == nil, "/usr/lib/nginx/modules/"+m)
		}
		need(cjsonPath() != "", "lua-cjson (cjson.so for Lua 5.1)")
	}
	if cfg.only["node-http"] {
		_, err := exec.LookPath("node")
		need(err == nil, "node")
	}
	return missing
}

// nginxPath finds nginx, which Debian puts in /usr/sbin, outside a user's PATH.
func nginxPath() string {
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx"
	}
	return ""
}

// cjsonPath is lua-cjson's module for LuaJIT (Lua 5.1), under the machine's multiarch dir.
func cjsonPath() string {
	m, _ := filepath.Glob("/usr/lib/*/lua/5.1/cjson.so")
	if len(m) == 0 {
		m, _ = filepath.Glob("/usr/local/lib/lua/5.1/cjson.so")
	}
	if len(m) == 0 {
		return ""
	}
	return m[0]
}

// goCmd is the go command; `go run` does not put it on the PATH.
func goCmd() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if g := os.Getenv("GOROOT"); g != "" {
		return filepath.Join(g, "bin", "go")
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// build compiles ivrouter as the checkout stands and the Go peers.
func (b *bench) build() error {
	var pkgs []string
	ivrouter := b.cfg.only["ivrouter"] || b.cfg.only["reload"] || b.cfg.only["start"]
	if ivrouter {
		pkgs = append(pkgs, "./cmd/ivrouter")
	}
	if b.cfg.only["fasthttp-static"] {
		pkgs = append(pkgs, "./cmd/loadbench/peers/fasthttp-static")
	}
	if b.cfg.only["bare-gopher-lua"] {
		// Built in this module, so with go.mod's gopher-lua fork, as ivrouter is.
		pkgs = append(pkgs, "./cmd/loadbench/peers/bare-gopher-lua")
	}
	if b.cfg.only["nethttp-json"] {
		pkgs = append(pkgs, "./cmd/loadbench/peers/nethttp-json")
	}
	for _, pkg := range pkgs {
		progress("building %s", pkg)
		cmd := exec.Command(goCmd(), "build", "-o", b.bin(filepath.Base(pkg)), pkg)
		cmd.Dir = b.root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	if !ivrouter {
		return nil
	}
	// Another flag may add an admin listener with a fixed default port;
	// give it a free one so runs do not collide, if this ivrouter has it.
	help, _ := exec.Command(b.bin("ivrouter"), "serve", "--help").CombinedOutput()
	if strings.Contains(string(help), "-admin-listen") && b.cfg.adminListen != "" {
		b.ivArgs = append(b.ivArgs, "--admin-listen", b.cfg.adminListen)
	}
	return nil
}

func (b *bench) bin(name string) string { return filepath.Join(b.tmp, "bin", name) }

func (b *bench) testdata(name string) string {
	return filepath.Join(b.root, "testdata", "bench", name)
}

// startIvrouter serves dir on a free port and waits for its first answer.
func (b *bench) startIvrouter(name, dir string, env []string) (*proc, string, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	args := append([]string{b.bin("ivrouter"), "serve", "--listen", addr, "--scripts", dir}, b.ivArgs...)
	p, err := startProc(name, b.cfg.serverCPU, filepath.Join(b.tmp, name+".log"), env, args...)
	if err != nil {
		return nil, "", err
	}
	url := "http://" + addr
	if err := b.ready(p, url+"/", `"LAYER":12`); err != nil {
		p.stop()
		return nil, "", err
	}
	return p, url, nil
}

// ready waits for p to answer the layer-5 request, and checks the answer.
func (b *bench) ready(p *proc, url, expect string) error {
	_, answer, err := p.waitAnswer(url, layer5Body, time.Now(), 15*time.Second)
	if err != nil {
		return err
	}
	if !strings.Contains(answer, expect) {
		return fmt.Errorf("%s answered %s, want %s in it", url, answer, expect)
	}
	return nil
}

// measure warms p up, then loads it for the measured run, with -conns
// connections.
func (b *bench) measure(p *proc, url, script string) (wrkResult, error) {
	return b.measureAt(p, url, script, b.cfg.conns)
}

// measureAt is measure with conns connections.
func (b *bench) measureAt(p *proc, url, script string, conns int) (wrkResult, error) {
	ctx := context.Background()
	if b.cfg.warmup > 0 {
		if _, err := runWrk(ctx, b.cfg.loadCPU, conns, time.Duration(b.cfg.warmup)*time.Second, script, url); err != nil {
			return wrkResult{}, err
		}
	}
	progress("%s: %s, %ds, %d connections", p.name, url, b.cfg.seconds, conns)
	meter := meterOthers(p)
	res, err := runWrk(ctx, b.cfg.loadCPU, conns, time.Duration(b.cfg.seconds)*time.Second, script, url)
	res.Others = meter.share()
	if err == nil && p.exited() {
		err = fmt.Errorf("%s exited under load: %s", p.name, p.tail())
	}
	if err == nil {
		progress("%s: %s requests/s, p99 %s, others %.0f%%", p.name, rate(res.RPS), ms(res.P99), 100*res.Others)
	}
	return res, err
}

// prepareIvrouter writes ivrouter's scripts dir and, for the workloads,
// starts the CRM stub, which then serves every round.
func (b *bench) prepareIvrouter() error {
	b.scripts = filepath.Join(b.tmp, "scripts")
	// The shipped scripts (layers/5.lua, announce.lua, night.lua) plus the
	// benchmark's CRM scripts; a name in both is an error, not an override.
	if err := os.CopyFS(b.scripts, os.DirFS(filepath.Join(b.root, "scripts"))); err != nil {
		return err
	}
	if err := os.CopyFS(b.scripts, os.DirFS(b.testdata("scripts"))); err != nil {
		return err
	}
	if !b.cfg.only["workloads"] {
		return nil
	}
	var err error
	b.crm, b.crmURL, err = b.startCRM()
	return err
}

// failIvrouter ends ivrouter's main row and its GO_TO_LAYER row, the same
// measurement.
func (b *bench) failIvrouter(err error) {
	b.res.main[0].err = err
	if len(b.res.workloads) > 0 {
		b.res.workloads[0].err = err
	}
}

// measureIvrouter is ivrouter's turn in a round: a fresh process measured on
// the main workload and then, on the same process, on the other workloads,
// so that each round's workloads are compared with that round's GO_TO_LAYER.
func (b *bench) measureIvrouter(iv *row) {
	var env []string
	if b.crm != nil {
		env = append(env, "CRM_URL="+b.crmURL)
	}
	p, url, err := b.startIvrouter("ivrouter", b.scripts, env)
	if err != nil {
		b.failIvrouter(err)
		return
	}
	defer p.stop()
	res, err := b.measure(p, url+"/", b.testdata("post.lua"))
	iv.add(res, err)
	rss, _ := p.peakRSS()
	iv.rss = max(iv.rss, rss)
	if !b.cfg.only["workloads"] {
		return
	}
	b.res.workloads[0].add(res, err)
	for i, w := range workloads {
		r := b.res.workloads[i+1]
		if r.err != nil {
			continue
		}
		conns := b.cfg.conns
		if w.conns > 0 {
			conns = min(w.conns, conns)
		}
		if r.err = b.check(url+w.path, w.expect); r.err == nil {
			r.add(b.measureAt(p, url+w.path, b.testdata("post.lua"), conns))
		}
	}
	rss, _ = p.peakRSS()
	b.res.rssLoad = max(b.res.rssLoad, rss)
	if s := b.res.stub; s.err == nil {
		s.add(b.measureAt(b.crm, b.crmURL+"/", b.testdata("crm-get.lua"), min(crmConns, b.cfg.conns)))
	}
}

// check posts the layer-5 request once and looks for expect in the answer,
// so a misrouted workload fails instead of being measured.
func (b *bench) check(url, expect string) error {
	status, answer, err := post(url, layer5Body)
	if err != nil {
		return err
	}
	if status != 200 || !strings.Contains(answer, expect) {
		return fmt.Errorf("%s answered %d %s, want %s in it", url, status, answer, expect)
	}
	return nil
}

// startCRM runs the CRM stub on the load CPU: the server's CPU stays the
// server's alone, and the stub is measured directly where it ran.
func (b *bench) startCRM() (*proc, string, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	p, err := startProc("crm-stub", b.cfg.loadCPU, filepath.Join(b.tmp, "crm-stub.log"), nil, self, "-serve-crm", addr)
	if err != nil {
		return nil, "", err
	}
	url := "http://" + addr
	deadline := time.Now().Add(15 * time.Second)
	for {
		res, err := probe.Get(url + "/contacts?phone=0500000001")
		if err == nil {
			res.Body.Close()
			return p, url, nil
		}
		if p.exited() || time.Now().After(deadline) {
			p.stop()
			return nil, "", fmt.Errorf("CRM stub did not start: %v: %s", err, p.tail())
		}
		time.Sleep(time.Millisecond)
	}
}

// measurePeer is a peer's turn in a round: start it, load it, read its peak
// RSS and stop it.
func (b *bench) measurePeer(r *row) {
	addr, err := freeAddr()
	if err != nil {
		r.err = err
		return
	}
	var argv []string
	switch r.name {
	case "fasthttp-static", "bare-gopher-lua", "nethttp-json":
		argv = []string{b.bin(r.name), "-addr", addr}
	case "nginx-luajit":
		conf, err := b.nginxConf(addr)
		if err != nil {
			r.err = err
			return
		}
		argv = []string{nginxPath(), "-p", filepath.Dir(conf), "-e", "stderr", "-c", conf}
	case "node-http":
		argv = []string{"node", b.testdata("peers/node-http/server.js"), addr[strings.LastIndexByte(addr, ':')+1:]}
	}
	p, err := startProc(r.name, b.cfg.serverCPU, filepath.Join(b.tmp, r.name+".log"), nil, argv...)
	if err != nil {
		r.err = err
		return
	}
	defer p.stop()
	url := "http://" + addr + "/"
	if r.err = b.ready(p, url, `"LAYER":12`); r.err != nil {
		return
	}
	r.add(b.measure(p, url, b.testdata("post.lua")))
	if r.name == "bare-gopher-lua" && r.err == nil {
		for i, w := range bareWorkloads[:len(b.res.bare)] {
			if br := b.res.bare[i]; br.err == nil {
				br.add(b.measure(p, "http://"+addr+w.path, b.testdata("post.lua")))
			}
		}
	}
	rss, _ := p.peakRSS()
	r.rss = max(r.rss, rss)
}

// nginxConf renders testdata/bench/peers/nginx-luajit/nginx.conf into a dir
// of its own, where nginx keeps its pid, log and temp files.
func (b *bench) nginxConf(addr string) (string, error) {
	tmpl, err := template.ParseFiles(b.testdata("peers/nginx-luajit/nginx.conf"))
	if err != nil {
		return "", err
	}
	dir := filepath.Join(b.tmp, "nginx")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	f, err := os.Create(filepath.Join(dir, "nginx.conf"))
	if err != nil {
		return "", err
	}
	defer f.Close()
	cpath := filepath.Join(filepath.Dir(cjsonPath()), "?.so")
	return f.Name(), tmpl.Execute(f, map[string]string{"Listen": addr, "Dir": dir, "LuaCPath": cpath})
}
