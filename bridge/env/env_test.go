package env_test

import (
	"strings"
	"testing"

	"github.com/ivrouter/ivrouter/bridge/env"
	lua "github.com/yuin/gopher-lua"
)

// eval runs a chunk with env a local and returns its first result.
func eval(t *testing.T, m *env.Module, src string) (lua.LValue, error) {
	t.Helper()
	L := lua.NewState()
	t.Cleanup(L.Close)
	L.PreloadModule("env", m.Loader)
	if err := L.DoString(`local env = require("env")` + "\n" + src); err != nil {
		return nil, err
	}
	return L.Get(1), nil
}

var config = map[string]string{
	"CRM_URL":   "https://crm.example.com",
	"CRM_TOKEN": "s3cret-t0ken",
	"EMPTY":     "",
}

func TestGet(t *testing.T) {
	m := env.New(config)
	for _, tc := range []struct {
		src  string
		want lua.LValue
	}{
		{`return env.get("CRM_URL")`, lua.LString("https://crm.example.com")},
		{`return env.get("CRM_TOKEN")`, lua.LString("s3cret-t0ken")},
		{`return env.get("EMPTY")`, lua.LNil},
		{`return env.get("EMPTY", "fallback")`, lua.LString("fallback")},
		{`return env.get("EMPTY", 30)`, lua.LNumber(30)},
		{`return env.get("EMPTY", nil)`, lua.LNil},
		{`return env.get("CRM_URL", "ignored")`, lua.LString("https://crm.example.com")},
		{`return env.get("EMPTY") or "or works"`, lua.LString("or works")},
		{`return select("#", env.get("EMPTY"))`, lua.LNumber(1)},
		{`return type(env.get("CRM_URL"))`, lua.LString("string")},
	} {
		got, err := eval(t, m, tc.src)
		if err != nil {
			t.Errorf("%s: %v", tc.src, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s = %v, want %v", tc.src, got, tc.want)
		}
	}
}

func TestGetRaises(t *testing.T) {
	m := env.New(config)
	for _, tc := range []struct {
		src, want string
	}{
		{`env.get("CRM_ULR")`, "env.get: CRM_ULR is not allowed (allowed: CRM_TOKEN, CRM_URL, EMPTY)"},
		{`env.get("crm_url")`, "env.get: crm_url is not allowed"},
		{`env.get("PATH")`, "env.get: PATH is not allowed"},
		{`env.get("CRM_URL ")`, `env.get: "CRM_URL " is not allowed`},
		{`env.get("")`, `env.get: "" is not allowed`},
		{`env.get()`, "env.get: name must be a string, got nil"},
		{`env.get(42)`, "env.get: name must be a string, got number"},
		{`env.get({})`, "env.get: name must be a string, got table"},
		{`env:get("CRM_URL")`, "env.get: name must be a string, got table"},
	} {
		_, err := eval(t, m, tc.src)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.src, err, tc.want)
			continue
		}
		// Errors end up in logs: they must never carry a value.
		for _, v := range config {
			if v != "" && strings.Contains(err.Error(), v) {
				t.Errorf("%s: error %q leaks a value", tc.src, err)
			}
		}
	}
}

func TestNothingAllowed(t *testing.T) {
	for _, m := range []*env.Module{env.New(nil), env.New(map[string]string{})} {
		_, err := eval(t, m, `return env.get("CRM_URL")`)
		if err == nil || !strings.Contains(err.Error(), "env.get: CRM_URL is not allowed (allowed: none)") {
			t.Errorf("error %v", err)
		}
	}
}

// The module keeps its own copy: a server that reuses or edits the map it
// built must not change what running scripts read.
func TestValuesCopiedAtConstruction(t *testing.T) {
	vals := map[string]string{"CRM_URL": "https://a.example.com", "EMPTY": ""}
	m := env.New(vals)
	vals["CRM_URL"] = "https://b.example.com"
	vals["EMPTY"] = "set later"
	vals["ADDED"] = "x"
	delete(vals, "CRM_URL")
	for _, tc := range []struct {
		src  string
		want lua.LValue
	}{
		{`return env.get("CRM_URL")`, lua.LString("https://a.example.com")},
		{`return env.get("EMPTY")`, lua.LNil},
		{`return pcall(env.get, "ADDED")`, lua.LFalse},
	} {
		got, err := eval(t, m, tc.src)
		if err != nil || got != tc.want {
			t.Errorf("%s = %v, %v; want %v", tc.src, got, err, tc.want)
		}
	}
}
