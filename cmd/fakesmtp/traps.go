package main

import (
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"fakesmtp/internal/config"
	"fakesmtp/internal/policy/traps"
)

// trapsCmd lists and edits the spam-trap list, also while "fakesmtp
// serve" runs: it changes the state file under its lock, and the server
// picks the change up within traps.StateCheckInterval (spamdb(8) for
// spamd does the same job). The action and its operands come first, then
// the same settings flags as serve, so the state path and TTL are the
// server's:
//
//	fakesmtp traps list [flags]
//	fakesmtp traps add IP [reason ...] [flags]
//	fakesmtp traps remove IP [flags]
func trapsCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		trapsUsage(stderr)
		return 2
	}
	action, rest := args[0], args[1:]
	switch action {
	case "help", "-h", "--help", "-help":
		trapsUsage(stdout)
		return 0
	}
	n := 0
	for n < len(rest) && !strings.HasPrefix(rest[n], "-") {
		n++
	}
	operands, flags := rest[:n], rest[n:]
	var want string
	switch {
	case action == "list" && len(operands) != 0:
		want = "list takes no argument"
	case action == "add" && len(operands) < 1:
		want = "add needs an IP address"
	case action == "remove" && len(operands) != 1:
		want = "remove needs one IP address"
	case action != "list" && action != "add" && action != "remove":
		want = fmt.Sprintf("unknown action %q", action)
	}
	if want != "" {
		fmt.Fprintf(stderr, "fakesmtp traps: %s\n\n", want)
		trapsUsage(stderr)
		return 2
	}
	var ip netip.Addr
	if action != "list" {
		var err error
		if ip, err = netip.ParseAddr(operands[0]); err != nil {
			fmt.Fprintf(stderr, "fakesmtp traps: %q is not an IP address\n", operands[0])
			return 2
		}
	}

	cfg, code := settings("traps "+action, flags, stderr)
	if cfg == nil {
		return code
	}
	tc := trapsConfig(cfg)
	tc.Mailboxes = "" // the CLI never matches recipients
	tr, err := traps.New(tc, time.Now, nil)
	if err != nil {
		fmt.Fprintf(stderr, "fakesmtp: %v\n", err)
		return 1
	}

	switch action {
	case "list":
		printTraps(stdout, tr, tc.StatePath)
	case "add":
		if err := tr.Add(ip, strings.Join(operands[1:], " ")); err != nil {
			fmt.Fprintf(stderr, "fakesmtp: %v\n", err)
			return 1
		}
		e, _ := tr.Listed(ip)
		fmt.Fprintf(stdout, "%s listed until %s (%s)\n", e.IP, e.Last.Add(tr.TTL()).UTC().Format(time.RFC3339), e.Reason)
	case "remove":
		ok, err := tr.Remove(ip)
		if err != nil {
			fmt.Fprintf(stderr, "fakesmtp: %v\n", err)
			return 1
		}
		if !ok {
			fmt.Fprintf(stderr, "fakesmtp traps: %s is not listed\n", ip.Unmap())
			return 1
		}
		fmt.Fprintf(stdout, "%s removed\n", ip.Unmap())
	}
	return 0
}

// trapsConfig hands the traps their part of the settings; serve uses it
// too. The state file defaults to traps.json in the store folder.
func trapsConfig(c *config.Config) traps.Config {
	state := c.TrapState
	if state == "" {
		state = filepath.Join(c.StorePath, "traps.json")
	}
	return traps.Config{
		Mailboxes:      c.TrapMailboxes,
		UnknownDomains: c.TrapUnknownDomains,
		TTL:            c.TrapTTL,
		StatePath:      state,
		ListFile:       c.TrapListFile,
	}
}

// printTraps writes the live entries as a table, times in UTC.
func printTraps(w io.Writer, tr *traps.Traps, statePath string) {
	es := tr.Entries()
	if len(es) == 0 {
		fmt.Fprintf(w, "no client is listed (%s)\n", statePath)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "IP\tHITS\tFIRST\tLAST\tEXPIRES\tRCPT\tREASON")
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	for _, e := range es {
		rcpt := e.Rcpt
		if rcpt == "" {
			rcpt = "-"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\n", e.IP, e.Hits, ts(e.First), ts(e.Last), ts(e.Last.Add(tr.TTL())), rcpt, e.Reason)
	}
	tw.Flush()
}

func trapsUsage(w io.Writer) {
	fmt.Fprint(w, `Usage:
  fakesmtp traps list [flags]                 show the listed clients
  fakesmtp traps add IP [reason ...] [flags]  list a client for one trap_ttl
  fakesmtp traps remove IP [flags]            delist a client

The action comes first, then the flags of serve (--config FILE, --mode M,
--set key=value, --<key> value), so that trap_state and trap_ttl are the
server's. A running server sees the change within a second.
`)
}
