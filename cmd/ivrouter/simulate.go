package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ivrouter/ivrouter/bridge/ivr"
	"github.com/ivrouter/ivrouter/server/scripttest"
	"github.com/ivrouter/ivrouter/server/simulate"
	"github.com/spf13/cobra"
)

// stdin is where simulate --follow reads the caller's digits when it is a
// terminal.
var stdin = os.Stdin

// simulateFlags are simulate's own flags: the call, not serve's settings.
// They are flags alone, never IVROUTER_* variables: an exported
// IVROUTER_DTMF must not change what a command line says.
type simulateFlags struct {
	route, caller, did, uniqueID, at, stubs string
	layer                                   layerValue
	dtmf                                    listValue
	customData, layerRoutes                 []string
	json, follow, verbose                   bool
	maxSteps                                int
}

func simulateCmd(ctx context.Context, env lookupEnv, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "simulate [flags]",
		Short: "answer one request, or walk a whole call, as serve would, and say what the caller hears",
		Long: `simulate answers one request with the scripts directory as serve would: it
prints the exact JSON serve would answer, the script that ran, its log lines
and CRM requests, and in plain words what the caller hears.

--follow walks the whole call: after a GO_TO_LAYER or SAY_DIGITS it sends the
layer named the call's next request (POST / with that LAYER_ID, or the route
--layer-route maps it to), same IVR_UNIQUE_ID, PREVIOUS_LAYER_ID set and the
CUSTOM_DATA the call carries, with the caller's next digits: the next --dtmf
value, else asked for when stdin is a terminal. It stops at a DIAL, a STATUS 1,
a layer without a script, or --max-steps. The state module's entries last
the whole call.

The scripts' HTTP requests go to the network, or to the stubs of a test case
with --stubs FILE#case. Colour only on a terminal, and never with NO_COLOR.

  ivrouter simulate --layer 5 --dtmf 12345678 --json
  ivrouter simulate --route clinic-id --layer 2 --follow --dtmf 1,2,3
  ivrouter simulate --route caller --stubs 'scripts/caller.test.yaml#CRM slow, to sales'`,
		Args:        noArgs,
		Annotations: map[string]string{sharedTitle: "Serve's settings (simulate answers as serve would)"},
	}
	var f simulateFlags
	fs := cmd.Flags()
	fs.StringVar(&f.route, "route", "", "post the first request to /NAME (the script NAME.lua); without it, to / (--layer needed)")
	fs.Var(&f.layer, "layer", "the first request's LAYER_ID (default 0 with --route); with --route, the layer whose URL is /NAME")
	fs.Var(&f.dtmf, "dtmf", "the digits the caller presses, one value per request of a --follow walk (repeatable, or comma-separated)")
	fs.StringVar(&f.caller, "caller", scripttest.DefaultCallerID, "CALLER_ID")
	fs.StringVar(&f.did, "did", scripttest.DefaultDID, "DID: the number the caller dialled")
	fs.StringVar(&f.uniqueID, "unique-id", simulate.DefaultUniqueID, "IVR_UNIQUE_ID: the call, the key of its state")
	fs.StringArrayVar(&f.customData, "custom-data", nil, "KEY=VALUE of the first request's CUSTOM_DATA (repeatable)")
	fs.StringVar(&f.at, "at", "", `the instant the scripts see, frozen: RFC 3339 (2026-05-03T09:00:00+03:00) or "2026-05-03 09:00" in --timezone (default now)`)
	fs.StringVar(&f.stubs, "stubs", "", "answer the scripts' HTTP requests with a test case's stubs, FILE#case name (FILE alone: its file-wide stubs), and env.get with its file's env (default: the network)")
	fs.BoolVar(&f.json, "json", false, "print only the answers' JSON, one line each, exactly as serve answers")
	fs.BoolVar(&f.follow, "follow", false, "walk the call from layer to layer until a DIAL, a STATUS 1 or a layer without a script")
	fs.IntVar(&f.maxSteps, "max-steps", simulate.DefaultMaxSteps, "the most requests a --follow walk sends")
	fs.StringArrayVar(&f.layerRoutes, "layer-route", nil, "LAYER=NAME: a --follow walk posts layer LAYER's requests to /NAME, as its MiniExternalUrl would (repeatable)")
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "also show each request's JSON")
	for _, name := range []string{"custom-data", "layer-route"} {
		fs.Lookup(name).DefValue = "" // not "[]"
	}
	settingsCommand(cmd, env, stdout, stderr, func(o *options, _ []string) int {
		so, err := f.options(o)
		if err != nil {
			fmt.Fprintln(stderr, "ivrouter simulate:", err)
			return 2
		}
		if f.stubs != "" {
			file, name, _ := strings.Cut(f.stubs, "#")
			if so.Stubs, err = scripttest.ReadStubs(file, name); err != nil {
				fmt.Fprintln(stderr, "ivrouter simulate: --stubs:", err)
				return 1
			}
		}
		if o.demoCRM != "" && f.stubs == "" {
			if err := startDemoCRM(o.demoCRM, o.demoListen, newLogger(stderr, "text", slog.LevelWarn)); err != nil {
				fmt.Fprintln(stderr, "ivrouter simulate: --demo-crm:", err)
				return 1
			}
		}
		if f.follow && isTerminal(stdin) {
			so.Prompt = prompter(stdin, stderr)
		}
		p := &simulate.Printer{W: stdout, JSON: f.json, Color: colorful(stdout, env), Request: f.verbose}
		var j *simulate.Journey
		err = interruptible(ctx, func() (err error) {
			j, err = simulate.Run(ctx, so, p.Step)
			return err
		})
		if err != nil {
			fmt.Fprintln(stderr, "ivrouter simulate:", err)
			return 1
		}
		p.End(j)
		return 0
	})
	return cmd
}

// options turns the flags into a simulation under serve's settings.
func (f *simulateFlags) options(o *options) (simulate.Options, error) {
	so := simulate.Options{Config: o.cfg, Route: strings.TrimPrefix(f.route, "/"), Layer: f.layer.n, HasLayer: f.layer.set,
		DID: f.did, CallerID: f.caller, UniqueID: f.uniqueID, DTMF: f.dtmf, Follow: f.follow, MaxSteps: f.maxSteps}
	if so.Route == "" && !so.HasLayer {
		return so, errors.New("say where the request goes: --layer N (POST / with LAYER_ID N) or --route NAME (POST /NAME)")
	}
	if len(f.dtmf) > 1 && !f.follow {
		return so, fmt.Errorf("--dtmf has %d values: one request takes one (several are for --follow)", len(f.dtmf))
	}
	if f.maxSteps < 1 {
		return so, fmt.Errorf("--max-steps: want 1 or more, got %d", f.maxSteps)
	}
	for _, kv := range f.customData {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return so, fmt.Errorf("--custom-data: %q is not KEY=VALUE", kv)
		}
		so.CustomData = append(so.CustomData, ivr.Field{Key: k, Value: v})
	}
	for _, lr := range f.layerRoutes {
		l, name, ok := strings.Cut(lr, "=")
		n, err := strconv.Atoi(strings.TrimSpace(l))
		if !ok || err != nil || n < 0 || strings.Trim(name, "/ ") == "" {
			return so, fmt.Errorf("--layer-route: %q is not LAYER=NAME (13=id-entry)", lr)
		}
		if so.LayerRoutes == nil {
			so.LayerRoutes = map[int]string{}
		}
		so.LayerRoutes[n] = strings.Trim(name, "/ ")
	}
	if f.at != "" {
		at, err := parseAt(f.at, o.cfg.Timezone)
		if err != nil {
			return so, err
		}
		so.At = at
	}
	return so, nil
}

// parseAt reads --at: RFC 3339, or a wall-clock time in zone (nil: the
// machine's, as serve's --timezone default).
func parseAt(s string, zone *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if zone == nil {
		zone = time.Local
	}
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, zone); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf(`--at: %q is not a time (use 2026-05-03T09:00:00+03:00, or "2026-05-03 09:00" in --timezone)`, s)
}

// prompter asks the caller's digits on the terminal: a line each, empty
// for none; end of input (Ctrl-D) hangs up.
func prompter(in io.Reader, out io.Writer) func(step, layer int, path string) (string, bool) {
	r := bufio.NewReader(in)
	return func(step, layer int, path string) (string, bool) {
		fmt.Fprintf(out, "step %d, layer %d (POST %s): digits the caller presses (Enter for none, Ctrl-D hangs up): ", step, layer, path)
		line, err := r.ReadString('\n')
		if err != nil && line == "" {
			fmt.Fprintln(out)
			return "", false
		}
		return strings.TrimSpace(line), true
	}
}

// colorful reports whether w takes colours: a terminal, NO_COLOR unset
// or empty (no-color.org), and not TERM=dumb.
func colorful(w io.Writer, env lookupEnv) bool {
	if v, _ := env("NO_COLOR"); v != "" {
		return false
	}
	if v, _ := env("TERM"); v == "dumb" {
		return false
	}
	f, ok := w.(*os.File)
	return ok && isTerminal(f)
}

// isTerminal reports whether f is a terminal: a character device that is
// not /dev/null (which is one too, and is what a detached process gets).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	null, err := os.Stat(os.DevNull)
	return err != nil || !os.SameFile(fi, null)
}
