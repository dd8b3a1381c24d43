package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"fakesmtp/internal/config"
)

// loadSettings parses the settings flags of a command (serve, check-config,
// and the tools that work on serve's folders) and loads the settings.
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
