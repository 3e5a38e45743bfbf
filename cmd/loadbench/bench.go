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
	cfg    *config
	root   string   // the repository
	tmp    string   // binaries, generated configs, server logs
	ivArgs []string // ivrouter flags beyond --listen and --scripts
	res    results
}

// row is one wrk measurement of a server or workload.
type row struct {
	name string
	res  wrkResult
	rss  int64 // peak RSS in bytes, 0 when not read
	err  error
}

// results is everything the report prints.
type results struct {
	main      []row // ivrouter first, then the peers
	workloads []row // ivrouter's: GO_TO_LAYER first
	stub      *row  // the CRM stub measured directly
	rssLoad   int64 // ivrouter's peak RSS after every workload
	reload    *reloadResult
	starts    []startResult
}

// stubRow names the CRM stub's own row among ivrouter's workloads.
const stubRow = "CRM stub alone: wrk → stub"

// workload is one of ivrouter's extra rows.
type workload struct {
	name   string
	path   string
	expect string // in a correct answer
}

var workloads = []workload{
	{"SAY_DIGITS: announce.lua", "/announce", `"SAY_DIGITS"`},
	{"DIAL: night.lua", "/night", `"DIAL"`},
	{"CRM, cached: crm-cached.lua, cache.remember warm", "/crm-cached", fmt.Sprintf(`"LAYER":%d`, crmRepLayer)},
	{"CRM, cold: crm-cold.lua, a CRM GET per call", "/crm-cold", fmt.Sprintf(`"LAYER":%d`, crmRepLayer)},
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
	if cfg.only["ivrouter"] {
		b.runIvrouter()
	}
	for _, name := range peerNames {
		if cfg.only[name] {
			b.res.main = append(b.res.main, b.runPeer(name))
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

// measure warms p up, then loads it for the measured run.
func (b *bench) measure(p *proc, url, script string) (wrkResult, error) {
	ctx := context.Background()
	if b.cfg.warmup > 0 {
		if _, err := runWrk(ctx, b.cfg.loadCPU, b.cfg.conns, time.Duration(b.cfg.warmup)*time.Second, script, url); err != nil {
			return wrkResult{}, err
		}
	}
	progress("%s: %s, %ds", p.name, url, b.cfg.seconds)
	meter := meterOthers(p)
	res, err := runWrk(ctx, b.cfg.loadCPU, b.cfg.conns, time.Duration(b.cfg.seconds)*time.Second, script, url)
	res.Others = meter.share()
	if err == nil && p.exited() {
		err = fmt.Errorf("%s exited under load: %s", p.name, p.tail())
	}
	return res, err
}

// runIvrouter measures ivrouter on the main workload and, on the same
// process, the other workloads.
func (b *bench) runIvrouter() {
	dir := filepath.Join(b.tmp, "scripts")
	// The shipped scripts (layers/5.lua, announce.lua, night.lua) plus the
	// benchmark's CRM scripts; a name in both is an error, not an override.
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(b.root, "scripts"))); err != nil {
		b.res.main = append(b.res.main, row{name: "ivrouter", err: err})
		return
	}
	if err := os.CopyFS(dir, os.DirFS(b.testdata("scripts"))); err != nil {
		b.res.main = append(b.res.main, row{name: "ivrouter", err: err})
		return
	}
	var env []string
	var crm *proc
	var crmURL string
	if b.cfg.only["workloads"] {
		var err error
		if crm, crmURL, err = b.startCRM(); err != nil {
			b.res.main = append(b.res.main, row{name: "ivrouter", err: err})
			return
		}
		defer crm.stop()
		env = append(env, "CRM_URL="+crmURL)
	}
	p, url, err := b.startIvrouter("ivrouter", dir, env)
	if err != nil {
		b.res.main = append(b.res.main, row{name: "ivrouter", err: err})
		return
	}
	defer p.stop()
	plain := row{name: "ivrouter"}
	plain.res, plain.err = b.measure(p, url+"/", b.testdata("post.lua"))
	plain.rss, _ = p.peakRSS()
	b.res.main = append(b.res.main, plain)
	if !b.cfg.only["workloads"] {
		return
	}
	plain.name = "GO_TO_LAYER: layers/5.lua"
	b.res.workloads = append(b.res.workloads, plain)
	for _, w := range workloads {
		r := row{name: w.name}
		if r.err = b.check(url+w.path, w.expect); r.err == nil {
			r.res, r.err = b.measure(p, url+w.path, b.testdata("post.lua"))
		}
		b.res.workloads = append(b.res.workloads, r)
	}
	b.res.rssLoad, _ = p.peakRSS()
	stub := row{name: stubRow}
	stub.res, stub.err = b.measure(crm, crmURL+"/", b.testdata("crm-get.lua"))
	b.res.stub = &stub
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

// runPeer starts one peer, loads it, reads its peak RSS and stops it.
func (b *bench) runPeer(name string) row {
	r := row{name: name}
	addr, err := freeAddr()
	if err != nil {
		r.err = err
		return r
	}
	var argv []string
	switch name {
	case "fasthttp-static", "nethttp-json":
		argv = []string{b.bin(name), "-addr", addr}
	case "nginx-luajit":
		conf, err := b.nginxConf(addr)
		if err != nil {
			r.err = err
			return r
		}
		argv = []string{nginxPath(), "-p", filepath.Dir(conf), "-e", "stderr", "-c", conf}
	case "node-http":
		argv = []string{"node", b.testdata("peers/node-http/server.js"), addr[strings.LastIndexByte(addr, ':')+1:]}
	}
	p, err := startProc(name, b.cfg.serverCPU, filepath.Join(b.tmp, name+".log"), nil, argv...)
	if err != nil {
		r.err = err
		return r
	}
	defer p.stop()
	url := "http://" + addr + "/"
	if r.err = b.ready(p, url, `"LAYER":12`); r.err != nil {
		return r
	}
	r.res, r.err = b.measure(p, url, b.testdata("post.lua"))
	r.rss, _ = p.peakRSS()
	return r
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
