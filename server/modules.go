package server

import (
	"github.com/ivrouter/ivrouter/bridge/cache"
	"github.com/ivrouter/ivrouter/bridge/env"
	bhttp "github.com/ivrouter/ivrouter/bridge/http"
	"github.com/ivrouter/ivrouter/bridge/ivr"
	bjson "github.com/ivrouter/ivrouter/bridge/json"
	scriptlog "github.com/ivrouter/ivrouter/bridge/log"
	"github.com/ivrouter/ivrouter/bridge/phone"
	"github.com/ivrouter/ivrouter/bridge/state"
	btime "github.com/ivrouter/ivrouter/bridge/time"
	"github.com/ivrouter/ivrouter/luavm"
)

// modules are the bridge modules a server gives its scripts.
type modules struct {
	ivr   *ivr.Module
	http  *bhttp.Module
	cache *cache.Module
	state *state.Module
}

func (s *Server) modules() ([]luavm.Module, error) {
	iv, err := ivr.New(ivr.Options{Language: s.cfg.Language, Call: s.ivrCall})
	if err != nil {
		return nil, err
	}
	// Config.Store, when set, holds what CacheStore and StateStore leave.
	cacheStore, stateStore, shared := s.cfg.CacheStore, s.cfg.StateStore, state.Shared(nil)
	if s.store != nil && cacheStore == nil {
		cacheStore = s.store.Cache()
	}
	if s.store != nil && stateStore == nil {
		shared = s.store.State()
	}
	m := &modules{
		ivr: iv,
		http: bhttp.New(bhttp.Options{AllowHosts: s.cfg.AllowHosts, Deny: s.cfg.DenyHosts,
			Observe: s.metrics.observeHTTP, Transport: s.cfg.HTTPTransport}),
		cache: cache.New(cache.Options{MaxEntries: s.cfg.CacheEntries, MaxBytes: s.cfg.CacheBytes,
			MaxValueBytes: s.cfg.CacheValueBytes, Store: cacheStore, Now: s.cfg.Clock}),
		state: state.New(state.Options{TTL: s.cfg.StateTTL, MaxBytes: s.cfg.StateBytes, Store: stateStore,
			Shared: shared, Now: s.cfg.Clock}),
	}
	s.mods = m
	clock := btime.New(btime.Options{Zone: s.cfg.Timezone, Clock: s.cfg.Clock})
	// Every bundled module gives up at the call's deadline: Bounded, so
	// calls run inline on the connection's goroutine.
	return []luavm.Module{
		{Name: "ivr", Loader: m.ivr.Loader, Global: true, Signatures: ivr.Signatures(), Bounded: true},
		{Name: "http", Loader: m.http.Loader, Signatures: bhttp.Signatures(), Bounded: true},
		{Name: "cache", Loader: m.cache.Loader, Bounded: true},
		{Name: "state", Loader: m.state.Loader, Bounded: true},
		{Name: "json", Loader: bjson.New().Loader, Bounded: true},
		{Name: "log", Loader: scriptlog.New(s.log).Loader, Bounded: true},
		{Name: "phone", Loader: phone.New().Loader, Bounded: true},
		{Name: "env", Loader: env.New(s.cfg.ScriptEnv).Loader, Bounded: true},
		{Name: "time", Loader: clock.Loader, Load: clock.Load, Signatures: clock.Signatures(), Bounded: true},
	}, nil
}
