package config

import (
	"flag"
	"fmt"
	"strings"
)

// FlagValues collects what BindFlags' flags were given, once fs.Parse has
// run. Values are kept as text: Load parses them, so a bad flag value is
// reported together with every other problem instead of aborting the parse.
type FlagValues struct {
	file  string
	mode  string
	flags []Flag
}

// File returns the --config path, "" if not given.
func (v *FlagValues) File() string { return v.file }

// Mode returns the --mode value, "" if not given.
func (v *FlagValues) Mode() string { return v.mode }

// Flags returns the settings given by --set and the per-key flags, in
// command-line order.
func (v *FlagValues) Flags() []Flag { return append([]Flag(nil), v.flags...) }

// BindFlags registers on fs:
//
//   - --config path and --mode name;
//   - --set key=value, repeatable, for any key;
//   - one flag per key (except mode), in two spellings, --max-smtp-errors
//     and --max_smtp_errors, so the flag can be copied from the TOML key.
//
// Bool keys are bool flags: "--store-data" alone means true, and
// "--store-data=false" turns it off ("--store-data false" does not, as with
// every Go bool flag). A list flag takes a comma-separated value; repeating
// it replaces the earlier value, since a later setting always wins.
func BindFlags(fs *flag.FlagSet) *FlagValues {
	v := &FlagValues{}
	fs.StringVar(&v.file, "config", "", "configuration `file`: TOML, or a legacy FakeSMTP.exe.config")
	fs.StringVar(&v.mode, "mode", "", "preset of defaults: dev (default), proxy, collector or fakemx")
	fs.Var(setFlag{v}, "set", "set any key, as `key=value` (repeatable)")
	for _, k := range Keys() {
		if k.Name == keyMode {
			continue // --mode above, which the command line needs by name
		}
		dashed := strings.ReplaceAll(k.Name, "_", "-")
		fs.Var(keyFlag{v: v, key: k.Name, kind: k.Kind}, dashed, flagUsage(k))
		if dashed != k.Name {
			fs.Var(keyFlag{v: v, key: k.Name, kind: k.Kind}, k.Name, "same as --"+dashed)
		}
	}
	return v
}

// flagUsage is the help text of a key's flag, with its defaults, since the
// flag itself has none: the default depends on the mode.
func flagUsage(k Key) string {
	u := k.Help
	if k.Default == k.BaseDefault {
		return fmt.Sprintf("%s (default %s)", u, k.Default)
	}
	return fmt.Sprintf("%s (default %s; dev: %s)", u, k.BaseDefault, k.Default)
}

// setFlag is the --set flag.
type setFlag struct{ v *FlagValues }

func (f setFlag) String() string { return "" }

// Set records key=value. A missing "=" is refused at once: that is a
// command-line syntax error, not a configuration value.
func (f setFlag) Set(s string) error {
	key, value, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(key) == "" {
		return fmt.Errorf("want key=value, got %q", s)
	}
	f.v.flags = append(f.v.flags, Flag{Key: strings.TrimSpace(key), Value: value})
	return nil
}

// keyFlag is the flag of one key.
type keyFlag struct {
	v    *FlagValues
	key  string
	kind Kind
}

// String returns "": defaults are in the usage text, and the flag package
// calls String on a zero value, which has no FlagValues.
func (f keyFlag) String() string { return "" }

func (f keyFlag) Set(s string) error {
	f.v.flags = append(f.v.flags, Flag{Key: f.key, Value: s})
	return nil
}

// IsBoolFlag lets "--store-data" stand alone; the flag package then calls
// Set("true").
func (f keyFlag) IsBoolFlag() bool { return f.kind == KindBool }

// fromFlags parses command-line settings in order.
func fromFlags(flags []Flag) ([]assignment, Problems) {
	var out []assignment
	var probs Problems
	for _, fl := range flags {
		k := lookupKey(fl.Key)
		if k == nil {
			probs.add("flag %s: unknown key%s", fl.Key, suggestKey(fl.Key))
			continue
		}
		where := "flag " + k.Name
		v, err := k.parseText(fl.Value)
		if err != nil {
			probs.add("%s: %v", where, err)
			continue
		}
		out = append(out, assignment{key: k, value: v, src: SourceFlag, where: where})
	}
	return out, probs
}
