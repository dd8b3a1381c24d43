package config_test

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"fakesmtp/internal/config"
)

// Example shows how main wires the package: bind the flags, parse, load,
// and on problems print them all.
func Example() {
	fs := flag.NewFlagSet("fakesmtp", flag.ContinueOnError)
	fv := config.BindFlags(fs)
	args := []string{"--mode", "fakemx", "--max-sessions", "64", "--set", "hostname=mx.example.org", "--listen", ":2525"}
	if err := fs.Parse(args); err != nil {
		fmt.Println(err)
		return
	}
	cfg, prov, err := config.Load(config.Options{
		Mode:     fv.Mode(),
		File:     fv.File(),
		Env:      []string{"FAKESMTP_BANNER_DELAY=3s"}, // os.Environ() in main
		Flags:    fv.Flags(),
		Hostname: os.Hostname,
		TempDir:  "/var/tmp",
	})
	if err != nil {
		fmt.Printf("configuration problems:\n%v\n", err)
		return
	}
	var b strings.Builder
	config.Describe(&b, cfg, prov)
	for _, line := range strings.Split(b.String(), "\n") {
		for _, key := range []string{"#", "mode ", "hostname ", "listen ", "max_sessions ", "banner_delay ", "do_temp_fail "} {
			if strings.HasPrefix(line, key) {
				fmt.Println(line)
			}
		}
	}
	// Output:
	// # fakesmtp configuration: mode "fakemx" (flag), file none
	// mode                              = "fakemx"                  (flag)
	// hostname                          = "mx.example.org"          (flag)
	// listen                            = [":2525"]                 (flag)
	// max_sessions                      = 64                        (flag)
	// banner_delay                      = 3s                        (env)
	// do_temp_fail                      = true                      (mode)
}

// ExampleLoad shows that every problem is reported at once.
func ExampleLoad() {
	_, _, err := config.Load(config.Options{
		Env:      []string{"FAKESMTP_MAX_SESSIONS=0", "FAKESMTP_RECEIVE_TIMEOUT=8"},
		Flags:    []config.Flag{{Key: "max_smtp_error", Value: "3"}},
		Hostname: func() (string, error) { return "mx.example.org", nil },
	})
	fmt.Println(err)
	// Output:
	// env FAKESMTP_RECEIVE_TIMEOUT: want a duration with a unit, got "8" (write "8s" or "8ms")
	// flag max_smtp_error: unknown key (did you mean "max_smtp_errors"?)
	// max_sessions = 0, from env FAKESMTP_MAX_SESSIONS: must be at least 1
}
