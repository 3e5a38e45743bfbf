package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// settings resolves a command's flags from four places, highest first: the
// command line (parsed by cobra), IVROUTER_* environment variables, the
// --config file, the defaults. It remembers where each value came from, so
// --print-config can answer "why is it set to that?" and an invalid value
// is blamed on the place that gave it.
//
// Each flag the resolver handles carries its kind as the annotation
// kindKey (see the kinds below); others (cobra's --help) are left alone.
type settings struct {
	fs     *pflag.FlagSet
	source map[string]string
	// path is the config file read, if any.
	path string
}

const (
	kindKey   = "ivrouter/kind"
	secretKey = "ivrouter/secret"

	// kindServe is one of serve's settings: a flag, an IVROUTER_*
	// variable or a config file key; --print-config prints it.
	kindServe = "serve"
	// kindOwn is a command's own flag (check's --strict, --config): a flag
	// or an IVROUTER_* variable, not a config file key.
	kindOwn = "own"
	// kindFlagOnly is a flag alone (--print-config): IVROUTER_PRINT_CONFIG
	// must not turn a server into a config printer.
	kindFlagOnly = "flag"
)

func kindOf(f *pflag.Flag) string {
	if k := f.Annotations[kindKey]; len(k) == 1 {
		return k[0]
	}
	return ""
}

func isSecret(f *pflag.Flag) bool { return len(f.Annotations[secretKey]) > 0 }

// flagEnv is the variable that sets f, or "" for none.
func flagEnv(f *pflag.Flag) string {
	switch kindOf(f) {
	case kindServe, kindOwn:
		return envName(f.Name)
	}
	return ""
}

// envName is the variable that sets a flag: --max-body is IVROUTER_MAX_BODY.
func envName(flagName string) string {
	return "IVROUTER_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// resolve fills each flag not given on the command line from the
// environment, else from the config file (--config, else IVROUTER_CONFIG,
// read after the command line so both work).
func (st *settings) resolve(env lookupEnv) error {
	st.source = map[string]string{}
	st.fs.Visit(func(f *pflag.Flag) {
		if kindOf(f) != "" {
			st.source[f.Name] = "flag"
		}
	})
	config := st.fs.Lookup("config")
	if st.source["config"] == "" {
		if v, ok := env(envName("config")); ok && v != "" {
			config.Value.Set(v)
			st.source["config"] = envName("config")
		}
	}
	st.path = config.Value.String()
	file, err := readConfig(st.path)
	if err != nil {
		return err
	}
	for name, e := range file {
		if f := st.fs.Lookup(name); f == nil || kindOf(f) != kindServe {
			return fmt.Errorf("%s:%d: unknown setting %q (settings are serve's flag names, like deadline or allow-ip)", st.path, e.line, name)
		}
	}
	var errs []error
	st.fs.VisitAll(func(f *pflag.Flag) {
		kind := kindOf(f)
		if kind == "" || st.source[f.Name] != "" {
			return
		}
		if v, ok := env(envName(f.Name)); ok && kind != kindFlagOnly {
			st.source[f.Name] = envName(f.Name)
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", envName(f.Name), err))
			}
			return
		}
		e, ok := file[f.Name]
		if !ok {
			st.source[f.Name] = "default"
			return
		}
		if _, isList := f.Value.(*listValue); e.list && !isList {
			errs = append(errs, fmt.Errorf("%s:%d: %s takes one value, not a list", st.path, e.line, f.Name))
			return
		}
		st.source[f.Name] = fmt.Sprintf("%s:%d", st.path, e.line)
		for _, v := range e.values {
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s:%d: %s: %w", st.path, e.line, f.Name, err))
			}
		}
	})
	return errors.Join(errs...)
}

// blame names where a setting's value came from, to start an error about
// it: "--deadline", "IVROUTER_DEADLINE" or "ivrouter.yaml:7: deadline".
func (st *settings) blame(name string) string {
	switch src := st.source[name]; {
	case strings.HasPrefix(src, "IVROUTER_"):
		return src
	case src == "flag", src == "default", src == "":
		return "--" + name
	default:
		return src + ": " + name
	}
}

// entry is one setting of a config file: its values (several for a list)
// and its line, for error messages.
type entry struct {
	values []string
	list   bool
	line   int
}

// readConfig reads a YAML mapping of flag names to values: scalars as they
// are written ("3s", "64KiB", "true"), lists for repeatable flags. Null or
// empty values leave the default.
func readConfig(path string) (map[string]entry, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && err != io.EOF {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var more yaml.Node
	if err := dec.Decode(&more); err != io.EOF {
		return nil, fmt.Errorf("%s:%d: one document of settings, not several", path, more.Line)
	}
	out := map[string]entry{}
	if len(doc.Content) == 0 {
		return out, nil // an empty file
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: want a mapping of setting: value", path, root.Line)
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if _, dup := out[k.Value]; dup {
			return nil, fmt.Errorf("%s:%d: %q is set twice", path, k.Line, k.Value)
		}
		e := entry{line: k.Line}
		switch v.Kind {
		case yaml.ScalarNode:
			if v.Tag != "!!null" && v.Value != "" {
				e.values = []string{v.Value}
			}
		case yaml.SequenceNode:
			e.list = true
			for _, item := range v.Content {
				if item.Kind != yaml.ScalarNode {
					return nil, fmt.Errorf("%s:%d: %s: want a list of values", path, item.Line, k.Value)
				}
				e.values = append(e.values, item.Value)
			}
		default:
			return nil, fmt.Errorf("%s:%d: %s: want a value or a list", path, v.Line, k.Value)
		}
		if len(e.values) > 0 {
			out[k.Value] = e
		}
	}
	return out, nil
}

// print writes serve's effective settings as a config file, each value
// with where it came from, secrets masked. The output read back with
// --config gives the same settings once the masks are replaced: a mask
// left in is refused, not taken as the secret.
func (st *settings) print(w io.Writer) error {
	root := &yaml.Node{Kind: yaml.MappingNode}
	st.fs.VisitAll(func(f *pflag.Flag) {
		if kindOf(f) != kindServe {
			return
		}
		key := &yaml.Node{Kind: yaml.ScalarNode, Value: f.Name}
		var val *yaml.Node
		if l, ok := f.Value.(*listValue); ok {
			val = &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
			for _, s := range *l {
				val.Content = append(val.Content, scalar(s))
			}
		} else {
			val = scalar(f.Value.String())
		}
		if isSecret(f) && f.Value.String() != "" {
			val = scalar(secretMask)
		}
		val.LineComment = st.source[f.Name]
		root.Content = append(root.Content, key, val)
	})
	doc := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root},
		HeadComment: "ivrouter serve: effective settings (flag > IVROUTER_* environment > config file > default)"}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return err
	}
	return enc.Close()
}

// secretMask stands for a secret in --print-config's output.
const secretMask = "********"

func scalar(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Value: s}
	if s == "" {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

// The values below are pflag.Values whose Set errors say what was
// expected; the resolver prefixes them with where the value came from.

type stringValue struct{ p *string }

func (v stringValue) String() string     { return *v.p }
func (v stringValue) Set(s string) error { *v.p = s; return nil }
func (v stringValue) Type() string       { return "string" }

// intValue is a whole number, 0 or more.
type intValue struct{ p *int }

func (v intValue) String() string { return strconv.Itoa(*v.p) }
func (v intValue) Type() string   { return "int" }
func (v intValue) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return fmt.Errorf("%q is not a whole number of 0 or more", s)
	}
	*v.p = n
	return nil
}

type boolValue struct{ p *bool }

func (v boolValue) String() string { return strconv.FormatBool(*v.p) }
func (v boolValue) Type() string   { return "bool" }
func (v boolValue) Set(s string) error {
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q is not true or false", s)
	}
	*v.p = b
	return nil
}

// durationValue is a duration of 0 or more: 2s, 500ms, 1m30s.
type durationValue struct{ p *time.Duration }

func (v durationValue) String() string { return v.p.String() }
func (v durationValue) Type() string   { return "duration" }
func (v durationValue) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q is not a duration (use 2s, 500ms)", s)
	}
	if d < 0 {
		return fmt.Errorf("%q is negative: want a duration of 0 or more", s)
	}
	*v.p = d
	return nil
}

type levelValue struct{ p *slog.Level }

func (v levelValue) String() string { return v.p.String() }
func (v levelValue) Type() string   { return "level" }
func (v levelValue) Set(s string) error {
	if err := v.p.UnmarshalText([]byte(strings.TrimSpace(s))); err != nil {
		return fmt.Errorf("%q is not a log level (use debug, info, warn or error)", s)
	}
	return nil
}

// listValue is a repeatable flag; each use may hold several
// comma-separated values, so one environment variable can set a list.
type listValue []string

func (l *listValue) String() string { return strings.Join(*l, ",") }
func (l *listValue) Type() string   { return "list" }

func (l *listValue) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

// layerValue is an optional layer number.
type layerValue struct {
	n   int
	set bool
}

func (l *layerValue) String() string {
	if !l.set {
		return ""
	}
	return strconv.Itoa(l.n)
}

func (l *layerValue) Type() string { return "layer" }

func (l *layerValue) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return fmt.Errorf("%q is not a layer number", s)
	}
	l.n, l.set = n, true
	return nil
}

// bytesValue is a size: 65536, 64KiB, 1MiB.
type bytesValue int

func (b *bytesValue) Type() string { return "size" }

func (b *bytesValue) String() string {
	switch n := int(*b); {
	case n > 0 && n%(1<<30) == 0:
		return strconv.Itoa(n>>30) + "GiB"
	case n > 0 && n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + "MiB"
	case n > 0 && n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + "KiB"
	default:
		return strconv.Itoa(n)
	}
}

func (b *bytesValue) Set(s string) error {
	n, err := parseBytes(s)
	if err != nil {
		return err
	}
	*b = bytesValue(n)
	return nil
}

func parseBytes(s string) (int, error) {
	num, mult := strings.TrimSpace(s), 1
	for _, u := range []struct {
		suffix string
		mult   int
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}} {
		if strings.HasSuffix(num, u.suffix) {
			num, mult = strings.TrimSuffix(num, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.Atoi(strings.TrimSpace(num))
	if err != nil || n < 0 || n > 1<<40/mult {
		return 0, fmt.Errorf("%q is not a size (use 65536, 64KiB or 1MiB)", s)
	}
	return n * mult, nil
}
