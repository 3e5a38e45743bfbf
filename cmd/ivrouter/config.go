package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// settings resolves serve's flags from four places, highest first: the
// command line, IVROUTER_* environment variables, the --config file, the
// defaults. It remembers where each value came from, so --print-config can
// answer "why is it set to that?".
type settings struct {
	fs     *flag.FlagSet
	source map[string]string
	// secrets are flags --print-config masks.
	secrets map[string]bool
	// cliOnly are flags a config file may not set.
	cliOnly map[string]bool
	// maxArgs is how many arguments may follow the flags (check's and
	// test's DIR).
	maxArgs int
}

// envName is the variable that sets a flag: --max-body is IVROUTER_MAX_BODY.
func envName(flagName string) string {
	return "IVROUTER_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// resolve parses args, then fills each flag not given there from the
// environment, else from the config file (configPath, read after parsing so
// --config and IVROUTER_CONFIG both work).
func (st *settings) resolve(args []string, env lookupEnv, configPath *string) error {
	if err := st.fs.Parse(args); err != nil {
		return err
	}
	if st.fs.NArg() > st.maxArgs {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(st.fs.Args()[st.maxArgs:], " "))
	}
	st.source = map[string]string{}
	st.fs.Visit(func(f *flag.Flag) { st.source[f.Name] = "flag" })
	if st.source["config"] == "" {
		if v, ok := env(envName("config")); ok && v != "" {
			*configPath, st.source["config"] = v, envName("config")
		}
	}
	file, err := readConfig(*configPath)
	if err != nil {
		return err
	}
	for name, e := range file {
		if st.fs.Lookup(name) == nil || st.cliOnly[name] {
			return fmt.Errorf("%s:%d: unknown setting %q (settings are serve's flag names, like deadline or allow-ip)", *configPath, e.line, name)
		}
	}
	var errs []error
	st.fs.VisitAll(func(f *flag.Flag) {
		if st.source[f.Name] != "" {
			return
		}
		if v, ok := env(envName(f.Name)); ok && !st.cliOnly[f.Name] {
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
			errs = append(errs, fmt.Errorf("%s:%d: %s takes one value, not a list", *configPath, e.line, f.Name))
			return
		}
		st.source[f.Name] = fmt.Sprintf("%s:%d", *configPath, e.line)
		for _, v := range e.values {
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s:%d: %s: %w", *configPath, e.line, f.Name, err))
			}
		}
	})
	return errors.Join(errs...)
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

// print writes the effective settings as a config file, each value with
// where it came from, secrets masked. The output read back with --config
// gives the same settings once the masks are replaced: a mask left in is
// refused, not taken as the secret.
func (st *settings) print(w io.Writer) error {
	root := &yaml.Node{Kind: yaml.MappingNode}
	st.fs.VisitAll(func(f *flag.Flag) {
		if st.cliOnly[f.Name] {
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
		if st.secrets[f.Name] && f.Value.String() != "" {
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

// listValue is a repeatable flag; each use may hold several
// comma-separated values, so one environment variable can set a list.
type listValue []string

func (l *listValue) String() string { return strings.Join(*l, ",") }

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

func (l *layerValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return fmt.Errorf("want a layer number, got %q", s)
	}
	l.n, l.set = n, true
	return nil
}

// bytesValue is a size: 65536, 64KiB, 1MiB.
type bytesValue int

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
