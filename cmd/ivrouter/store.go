package main

import "github.com/ivrouter/ivrouter/bridge/redisstore"

// addStoreFlags declares --store and --store-timeout: Redis for the cache
// and state of many instances (server.Config.Store).
func addStoreFlags(fl flags, kind string, o *options) {
	fl.str(kind, &o.cfg.Store, "store", "", "Redis that holds cache and state for every instance given it: redis://[user:pass@]host:port/db, rediss:// for TLS; a Cluster's other nodes as ?addr=host:port (repeatable), Sentinels the same with ?master_set=NAME (default none: each instance keeps its own, in memory)").Annotations[secretKey] = []string{"true"}
	fl.duration(kind, &o.cfg.StoreTimeout, "store-timeout", redisstore.DefaultTimeout, "the longest one --store round trip may take out of a call's deadline; past it Redis counts as down (the cache asks the CRM directly, state fails) until it answers again")
}

// checkStore refuses a --store serve could not use; nothing is connected.
func (o *options) checkStore(bad func(name, format string, args ...any)) {
	switch {
	case o.cfg.Store == secretMask:
		bad("store", "%s is --print-config's mask, not a URL: set the real one", secretMask)
	case o.cfg.Store != "":
		if _, err := redisstore.ParseURL(o.cfg.Store); err != nil {
			bad("store", "%v", err)
		}
	}
	if o.cfg.StoreTimeout <= 0 {
		bad("store-timeout", "want a duration over 0, got %v", o.cfg.StoreTimeout)
	}
}
