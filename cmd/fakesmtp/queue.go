package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"fakesmtp/internal/relay"
)

// queueCmd shows and edits the relay queue, also while "fakesmtp serve"
// runs (postqueue -p / postsuper for Postfix's queue). The folder comes
// from the same settings as serve: relay_queue_path, or
// <store_path>/queue.
//
//	fakesmtp queue list [flags]
//	fakesmtp queue retry ID... | --all [flags]
//	fakesmtp queue delete ID... | --all [flags]
//
// A retried queued message is tried at the server's next scan (within
// two seconds); a retried failed message goes back to the queue.
func queueCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		queueUsage(stderr)
		return 2
	}
	action, rest := args[0], args[1:]
	switch action {
	case "help", "-h", "--help", "-help":
		queueUsage(stdout)
		return 0
	case "list", "retry", "delete":
	default:
		fmt.Fprintf(stderr, "fakesmtp queue: unknown action %q\n\n", action)
		queueUsage(stderr)
		return 2
	}
	// The IDs come first; --all may be anywhere among the settings flags,
	// and takes a value like any Go bool flag (--all=false).
	var ids, flags []string
	all := false
	for _, a := range rest {
		switch name, value, hasValue := splitFlag(a); {
		case name == "all":
			all = true
			if hasValue {
				var err error
				if all, err = strconv.ParseBool(value); err != nil {
					fmt.Fprintf(stderr, "fakesmtp queue: %s: want true or false\n", a)
					return 2
				}
			}
		case strings.HasPrefix(a, "-") || len(flags) > 0:
			flags = append(flags, a)
		default:
			ids = append(ids, a)
		}
	}
	if action == "list" && (len(ids) > 0 || all) {
		fmt.Fprintln(stderr, "fakesmtp queue: list takes no argument")
		return 2
	}
	if action != "list" && (len(ids) == 0) == !all {
		fmt.Fprintf(stderr, "fakesmtp queue: %s needs message IDs or --all\n", action)
		return 2
	}
	cfg, code := settings("queue "+action, flags, stderr)
	if cfg == nil {
		return code
	}
	dir := cfg.QueuePath()
	entries, err := relay.List(dir)
	if err != nil {
		fmt.Fprintf(stderr, "fakesmtp: %v\n", err)
		return 1
	}
	if action == "list" {
		printQueue(stdout, entries, dir)
		return 0
	}
	if all {
		for _, e := range entries {
			ids = append(ids, e.ID)
		}
	}
	var done []string
	if action == "retry" {
		done, err = relay.Retry(dir, ids, time.Now())
	} else {
		done, err = relay.Delete(dir, ids)
	}
	for _, msgID := range done {
		fmt.Fprintf(stdout, "%s: %s\n", msgID, map[string]string{"retry": "will be retried now", "delete": "deleted"}[action])
	}
	if err != nil {
		fmt.Fprintf(stderr, "fakesmtp queue: %v\n", err)
		return 1
	}
	return 0
}

// printQueue writes the entries as a table, times in UTC.
func printQueue(w io.Writer, es []relay.Entry, dir string) {
	if len(es) == 0 {
		fmt.Fprintf(w, "the queue is empty (%s)\n", dir)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tSIZE\tQUEUED\tATTEMPTS\tNEXT\tFROM\tRECIPIENT\tSTATUS\tLAST REPLY")
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	for _, e := range es {
		state, next := "queued", ts(e.Next)
		if e.Failed {
			state, next = "failed", "-"
		}
		from := "<" + e.From + ">"
		for i, r := range e.Rcpts {
			reply := r.Reply
			if reply == "" {
				reply = "-"
			}
			if i == 0 {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", e.ID, state, e.Size, ts(e.Created), e.Attempts, next, from, r.Addr, r.Status, reply)
			} else {
				fmt.Fprintf(tw, "\t\t\t\t\t\t\t%s\t%s\t%s\n", r.Addr, r.Status, reply)
			}
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "%d message(s) in %s\n", len(es), dir)
}

func queueUsage(w io.Writer) {
	fmt.Fprint(w, `Usage:
  fakesmtp queue list [flags]                 show the relay queue and failed/
  fakesmtp queue retry ID... | --all [flags]  try queued messages now; put failed ones back
  fakesmtp queue delete ID... | --all [flags] remove messages from the queue or failed/

The flags are serve's (--config FILE, --set key=value, ...): they locate
the queue (relay_queue_path, default <store_path>/queue).
`)
}
