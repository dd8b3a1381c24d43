package config

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// Describe writes the effective settings, one line per key in Keys order,
// with the layer each value came from, after a header naming the mode and
// the configuration file. It is the output of `fakesmtp check-config` and of
// the startup log: when a setting surprises someone, the source column says
// which layer to look at.
//
//	# fakesmtp configuration: mode "dev" (default), file none
//	mode                = "dev"              (default)
//	max_smtp_errors     = 4                  (default)
//
// Values print as in TOML, except durations, which print in Go notation.
// A key missing from p prints "?" as its source.
func Describe(w io.Writer, c *Config, p Provenance) {
	file := "none"
	if c.File != "" {
		file = fmt.Sprintf("%q", c.File)
	}
	fmt.Fprintf(w, "# fakesmtp configuration: mode %q (%s), file %s\n", c.Mode, sourceOf(p, keyMode), file)
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	for i := range keyDefs {
		k := &keyDefs[i]
		fmt.Fprintf(tw, "%s\t= %s\t(%s)\n", k.Name, formatValue(k.get(c)), sourceOf(p, k.Name))
	}
	tw.Flush()
}

// sourceOf returns p[key], or "?" when the caller built p by hand and left
// the key out.
func sourceOf(p Provenance, key string) Source {
	if s, ok := p[key]; ok {
		return s
	}
	return "?"
}
