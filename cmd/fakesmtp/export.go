package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"fakesmtp/internal/outputs"
	"fakesmtp/internal/store"
)

// exportCmd writes stored messages to an mbox file or a Maildir, for
// tools such as sa-learn --mbox or rspamc:
//
//	fakesmtp export --format mbox|maildir --to PATH [--since 2026-11-01|24h] [settings flags]
func exportCmd(args []string, stdout, stderr io.Writer) int {
	var format, to, since string
	var rest []string
	// The export flags, anywhere; everything else is the settings'
	// (store_path).
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, value, hasValue := splitFlag(a)
		var dst *string
		switch name {
		case "format":
			dst = &format
		case "to":
			dst = &to
		case "since":
			dst = &since
		default:
			rest = append(rest, a)
			continue
		}
		if !hasValue {
			if i+1 == len(args) {
				fmt.Fprintf(stderr, "fakesmtp export: %s needs a value\n", a)
				return 2
			}
			i++
			value = args[i]
		}
		*dst = value
	}
	if (format != "mbox" && format != "maildir") || to == "" {
		fmt.Fprintln(stderr, "usage: fakesmtp export --format mbox|maildir --to PATH [--since 2026-11-01|24h] [--config FILE] [--store-path DIR]")
		return 2
	}
	var from time.Time
	if since != "" {
		if d, err := time.ParseDuration(since); err == nil {
			from = time.Now().Add(-d)
		} else if t, err := time.Parse("2006-01-02", since); err == nil {
			from = t
		} else if t, err := time.Parse(time.RFC3339, since); err == nil {
			from = t
		} else {
			fmt.Fprintf(stderr, "fakesmtp export: --since %q: want a date (2026-11-01), a time (RFC 3339) or a duration (24h)\n", since)
			return 2
		}
	}
	cfg, code := settings("export", rest, stderr)
	if cfg == nil {
		return code
	}
	st, err := store.Open(cfg.StorePath, discardLogger())
	if err != nil {
		fmt.Fprintf(stderr, "fakesmtp export: %v\n", err)
		return 1
	}
	ids, err := st.List()
	if err != nil {
		fmt.Fprintf(stderr, "fakesmtp export: %v\n", err)
		return 1
	}
	n, err := export(st, ids, from, format, to)
	if err != nil {
		fmt.Fprintf(stderr, "fakesmtp export: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "exported %d message(s) to %s (%s)\n", n, to, format)
	return 0
}

// export writes the messages received at or after from.
func export(st *store.Store, ids []string, from time.Time, format, to string) (int, error) {
	var mbox *os.File
	var set *outputs.Set
	switch format {
	case "mbox":
		f, err := os.CreateTemp(filepath.Dir(to), "."+filepath.Base(to)+".tmp-*")
		if err != nil {
			return 0, err
		}
		defer os.Remove(f.Name())
		defer f.Close()
		mbox = f
	case "maildir":
		s, err := outputs.New(outputs.Config{MaildirPath: to, KeepEML: true, Hostname: "export"}, nil)
		if err != nil {
			return 0, err
		}
		set = s
	}
	n := 0
	for _, msgID := range ids {
		data, path, err := store.ReadID(st.Path(), msgID)
		if errors.Is(err, os.ErrNotExist) {
			continue // pruned or deleted meanwhile
		}
		if err != nil {
			return n, err
		}
		env, body, err := store.Read(data)
		if err != nil {
			return n, fmt.Errorf("%s: %w", path, err)
		}
		if env.ReceivedAt.Before(from) {
			continue
		}
		if mbox != nil {
			err = outputs.WriteMbox(mbox, env, body)
		} else {
			err = set.DeliverData(context.Background(), path, data)
		}
		if err != nil {
			return n, err
		}
		n++
	}
	if mbox != nil {
		if err := mbox.Sync(); err != nil {
			return n, err
		}
		if err := mbox.Close(); err != nil {
			return n, err
		}
		if err := os.Rename(mbox.Name(), to); err != nil {
			return n, err
		}
	}
	return n, nil
}
