package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"fakesmtp/internal/config"
)

// loadSettings parses the settings flags of a command (serve, check-config,
// and the tools that work on serve's folders) and loads the settings.
func loadSettings(name string, args []string, stderr io.Writer) (*config.Config, config.Provenance, error) {
	fs := flag.NewFlagSet("fakesmtp "+name, flag.ContinueOnError)
	fv := config.BindFlags(fs)
	unknown, err := parseFlags(fs, args)
	if err == flag.ErrHelp {
		// Asked for: the list of every setting's flag.
		fs.SetOutput(stderr)
		fmt.Fprintf(stderr, "Usage of %s:\n", fs.Name())
		fs.PrintDefaults()
		return nil, nil, err
	}
	if err != nil {
		return nil, nil, err
	}
	if fs.NArg() > 0 {
		return nil, nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return config.Load(config.Options{
		Mode:     fv.Mode(),
		File:     fv.File(),
		Env:      os.Environ(),
		Flags:    append(fv.Flags(), unknown...),
		Hostname: os.Hostname,
		TempDir:  os.TempDir(),
	})
}

// parseFlags is fs.Parse(args), except that an unknown flag does not stop
// it: the flag and its value are returned as settings, so that Load
// reports it with the nearest key ("did you mean") together with every
// other problem, as it does for an unknown key in a file or the
// environment. The flag package's own report would be the first problem
// only, with all 390-odd flags printed after it. Nothing is written to
// fs's output; the caller prints the usage after -h.
func parseFlags(fs *flag.FlagSet, args []string) ([]config.Flag, error) {
	fs.SetOutput(io.Discard)
	var unknown []config.Flag
	for {
		err := fs.Parse(args)
		// The flag package has reported an unknown flag with this text
		// since Go 1; it offers no typed error for it.
		name, ok := "", false
		if err != nil {
			name, ok = strings.CutPrefix(err.Error(), "flag provided but not defined: -")
		}
		if !ok {
			return unknown, err
		}
		// The unknown flag is the last argument Parse took.
		rest := fs.Args()
		fl := config.Flag{Key: name}
		if _, v, hasValue := strings.Cut(args[len(args)-len(rest)-1], "="); hasValue {
			fl.Value = v
		} else if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
			// Its value, most likely: these commands take no operand
			// after their flags, and every key but the bools has a value.
			fl.Value, rest = rest[0], rest[1:]
		}
		unknown = append(unknown, fl)
		args = rest
	}
}

// splitFlag splits a command's own flag, in the forms the flag package
// accepts (-name, --name, -name=value, --name=value), into its name and
// the value after "=", so the commands that pick their flags out of the
// settings flags by hand accept the same forms. The name is "" when a is
// not a flag.
func splitFlag(a string) (name, value string, hasValue bool) {
	n, ok := strings.CutPrefix(a, "--")
	if !ok {
		if n, ok = strings.CutPrefix(a, "-"); !ok {
			return "", "", false
		}
	}
	return strings.Cut(n, "=")
}

// settings is loadSettings for the commands that just stop on a bad
// configuration: nil and the exit code (0 after -help, 2 after the
// problems are printed) when there is nothing to go on with.
func settings(name string, args []string, stderr io.Writer) (*config.Config, int) {
	cfg, _, err := loadSettings(name, args, stderr)
	if err == flag.ErrHelp {
		return nil, 0
	}
	if err != nil {
		printProblems(stderr, err)
		return nil, 2
	}
	return cfg, 0
}

// printProblems writes a config error as one problem per line.
func printProblems(w io.Writer, err error) {
	if ps, ok := err.(config.Problems); ok {
		fmt.Fprintf(w, "fakesmtp: %d problem(s) in the settings:\n", len(ps))
		for _, p := range ps {
			fmt.Fprintf(w, "  - %s\n", p)
		}
		return
	}
	fmt.Fprintf(w, "fakesmtp: %v\n", err)
}

// checkConfig validates the settings, prints the effective values and
// their sources, and exits non-zero listing every problem.
func checkConfig(args []string, stdout, stderr io.Writer) int {
	cfg, prov, err := loadSettings("check-config", args, stderr)
	if err == flag.ErrHelp {
		return 0
	}
	if cfg != nil {
		config.Describe(stdout, cfg, prov)
	}
	var probs config.Problems
	if err != nil {
		if ps, ok := err.(config.Problems); ok {
			probs = append(probs, ps...)
		} else {
			fmt.Fprintf(stderr, "fakesmtp: %v\n", err)
			return 2
		}
	}
	if cfg != nil {
		probs = append(probs, config.CheckFiles(cfg)...)
	}
	if len(probs) > 0 {
		printProblems(stderr, probs)
		return 1
	}
	fmt.Fprintln(stdout, "# configuration OK")
	return 0
}
