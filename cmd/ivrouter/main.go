// Command ivrouter answers Voicenter's External Layer IVR requests with
// routing decisions written in Lua.
//
//	ivrouter serve [flags]   serve the scripts directory (SIGHUP reloads it)
//	ivrouter check [DIR]     load and lint every script as serve would; exit 1 on errors
//	ivrouter test [DIR]      run the scripts' test cases offline; exit 1 on failures
//	ivrouter version
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
