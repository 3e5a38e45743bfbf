// Command ivrouter answers Voicenter's External Layer IVR requests with
// routing decisions written in Lua.
//
//	ivrouter serve [flags]        serve the scripts directory (SIGHUP or ivrouter reload reloads it)
//	ivrouter check [DIR]          load and lint every script as serve would; exit 1 on errors
//	ivrouter test [DIR]           run the scripts' test cases offline; exit 1 on failures
//	ivrouter simulate --layer N   answer one request as serve would, and say what the caller
//	                              hears; --follow walks the whole call (simulate.go)
//	ivrouter reload               make a running serve reload, through its admin listener
//	ivrouter cache flush [--prefix P]
//	                              drop a running serve's cached entries
//	ivrouter version              (or --version)
//	ivrouter help COMMAND         (or COMMAND --help) its flags, IVROUTER_* variables and defaults
//
// The commands are in cli.go, serve's settings and their resolution (flag >
// IVROUTER_* > --config file > default) in cli.go and config.go.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr))
}
