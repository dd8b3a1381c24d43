package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"fakesmtp/internal/config"
)

// loadSettings parses the flags of serve and check-config and loads the
// settings. On failure it prints every problem and returns nil.
func loadSettings(name string, args []string, stderr io.Writer) (*config.Config, config.Provenance, error) {
	fs := flag.NewFlagSet("fakesmtp "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fv := config.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	if fs.NArg() > 0 {
		return nil, nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return config.Load(config.Options{
		Mode:     fv.Mode(),
		File:     fv.File(),
		Env:      os.Environ(),
		Flags:    fv.Flags(),
		Hostname: os.Hostname,
		TempDir:  os.TempDir(),
	})
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
