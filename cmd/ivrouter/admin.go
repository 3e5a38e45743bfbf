package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The admin commands ask a running serve, through its admin listener, to
// do what would otherwise need a signal to its process: the process that
// `go run` starts is not the one whose PID a shell sees.

const adminLong = `

It takes serve's settings (flags, IVROUTER_* variables, --config) to find the
admin listener (--admin-listen; an address of every interface, like :9090,
is reached on loopback) and its token (--admin-token, else --token), so the
same flags, environment and file as serve's find the same server. serve's
other settings are read and ignored.`

func reloadCmd(ctx context.Context, env lookupEnv, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "reload [flags]",
		Short: "make a running serve reload its scripts and TLS certificate, as SIGHUP does",
		Long: `reload asks a running ivrouter serve to reload its scripts directory and
TLS certificate, as SIGHUP does, by POST /-/reload on its admin listener. It
prints the scripts' new version, or the load's problems (the scripts loaded
before keep serving) and exits 1.` + adminLong,
		Args: noArgs,
	}
	var timeout time.Duration
	flags{cmd.Flags()}.duration(kindFlagOnly, &timeout, "timeout", 30*time.Second, "how long to wait for serve's answer")
	settingsCommand(cmd, env, stdout, stderr, func(o *options, _ []string) int {
		var res struct {
			OK      bool     `json:"ok"`
			Version string   `json:"version"`
			Dir     string   `json:"dir"`
			Scripts int      `json:"scripts"`
			Errors  []string `json:"errors"`
			Error   string   `json:"error"`
		}
		code, err := adminPost(ctx, o, timeout, "/-/reload", nil, &res)
		switch {
		case err != nil:
			fmt.Fprintln(stderr, "ivrouter reload:", err)
			return 1
		case code == http.StatusOK && res.OK:
			fmt.Fprintf(stdout, "reloaded %s: %d scripts, version %s\n", res.Dir, res.Scripts, res.Version)
			return 0
		case len(res.Errors) > 0:
			fmt.Fprintf(stderr, "ivrouter reload: reload failed; the scripts loaded before (version %s) keep serving:\n", res.Version)
			for _, e := range res.Errors {
				fmt.Fprintln(stderr, "  "+e)
			}
			return 1
		}
		fmt.Fprintf(stderr, "ivrouter reload: %d %s: %s\n", code, http.StatusText(code), res.Error)
		return 1
	})
	adminOnly(cmd, "timeout")
	return cmd
}

func cacheCmd(ctx context.Context, env lookupEnv, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cache",
		Short: "act on a running serve's cache module (flush)",
	}
	flush := &cobra.Command{
		Use:   "flush [--prefix P]",
		Short: "drop a running serve's cached entries: all, or those whose key starts with --prefix",
		Long: `flush asks a running ivrouter serve to drop the cache module's entries, all of
them or those whose key starts with --prefix, by POST /-/cache/flush on its
admin listener, and prints how many it dropped. Scripts load them again on
their next cache.remember.` + adminLong,
		Args: noArgs,
	}
	var timeout time.Duration
	var prefix string
	fl := flags{flush.Flags()}
	fl.str(kindFlagOnly, &prefix, "prefix", "", "drop only the entries whose key starts with this (default all)")
	fl.duration(kindFlagOnly, &timeout, "timeout", 30*time.Second, "how long to wait for serve's answer")
	settingsCommand(flush, env, stdout, stderr, func(o *options, _ []string) int {
		body, _ := json.Marshal(map[string]string{"prefix": prefix})
		var res struct {
			OK      bool   `json:"ok"`
			Removed int    `json:"removed"`
			Error   string `json:"error"`
		}
		code, err := adminPost(ctx, o, timeout, "/-/cache/flush", body, &res)
		switch {
		case err != nil:
			fmt.Fprintln(stderr, "ivrouter cache flush:", err)
			return 1
		case code == http.StatusOK && res.OK && prefix == "":
			fmt.Fprintf(stdout, "flushed %d cache entries\n", res.Removed)
			return 0
		case code == http.StatusOK && res.OK:
			fmt.Fprintf(stdout, "flushed %d cache entries under %q\n", res.Removed, prefix)
			return 0
		}
		fmt.Fprintf(stderr, "ivrouter cache flush: %d %s: %s\n", code, http.StatusText(code), res.Error)
		return 1
	})
	adminOnly(flush, "prefix", "timeout")
	cmd.AddCommand(flush)
	return cmd
}

// adminOnly hides from a command's help the serve settings it reads but
// does not use.
func adminOnly(cmd *cobra.Command, own ...string) {
	shown := map[string]bool{"admin-listen": true, "admin-token": true, "token": true, "config": true, "print-config": true}
	for _, name := range own {
		shown[name] = true
	}
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if !shown[f.Name] {
			f.Hidden = true
		}
	})
}

// adminPost posts body (JSON, or nothing) to path on serve's admin
// listener with the admin token, and decodes the JSON answer into res.
func adminPost(ctx context.Context, o *options, timeout time.Duration, path string, body []byte, res any) (int, error) {
	base, err := adminBase(o.adminListen)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", o.settings.blame("admin-listen"), err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", base+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	token := o.adminToken
	if token == "" {
		token = o.cfg.Token
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("cannot reach serve's admin listener at %s (%s): is ivrouter serve running with it? %w",
			o.adminListen, o.settings.blame("admin-listen"), err)
	}
	defer r.Body.Close()
	data, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return r.StatusCode, err
	}
	if err := json.Unmarshal(data, res); err != nil {
		return r.StatusCode, fmt.Errorf("%s answered %s, not ivrouter's JSON: %.200q", base+path, r.Status, data)
	}
	if r.StatusCode == http.StatusUnauthorized && token == "" {
		return r.StatusCode, errors.New("serve wants the admin token: pass --admin-token (or --token), or set IVROUTER_ADMIN_TOKEN as serve has it")
	}
	return r.StatusCode, nil
}

// adminBase is the URL of the admin listener at addr: an address of every
// interface (":9090", "0.0.0.0:9090") is reached on loopback.
func adminBase(addr string) (string, error) {
	if addr == "" || addr == "off" {
		return "", errors.New("the admin listener is off: serve with --admin-listen 127.0.0.1:9090, or send serve SIGHUP (its PID is in its serving line, pid=...)")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("%q is not an address (use host:port)", addr)
	}
	if port == "0" {
		return "", errors.New("port 0 is picked when serve starts: pass the address its \"admin serving\" log line names")
	}
	if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
		if err == nil && ip.Is6() {
			host = "::1"
		}
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	return "http://" + net.JoinHostPort(host, port), nil
}
