package logfile_test

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"fakesmtp/internal/logfile"
)

func ExampleNew() {
	dir, err := os.MkdirTemp("", "logfile-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	// A fixed clock for the example; main passes time.Now (or nil).
	now := func() time.Time { return time.Date(2012, time.November, 5, 10, 0, 0, 0, time.UTC) }
	w, err := logfile.New(dir, "fakesmtp", now)
	if err != nil {
		fmt.Println("log path not writable:", err)
		return
	}
	defer w.Close()

	logger := slog.New(slog.NewTextHandler(w, nil))
	logger.Info("listening", "addr", "127.0.0.1:25")

	fmt.Println(filepath.Base(w.Path()))
	// Output:
	// fakesmtp-11.log
}

func ExampleNewLocked() {
	// Two handlers on one stream: without the shared lock their records
	// could interleave when logged from different goroutines.
	out := logfile.NewLocked(os.Stdout)
	noTime := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	console := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{ReplaceAttr: noTime}))
	sessions := slog.New(slog.NewJSONHandler(out, &slog.HandlerOptions{ReplaceAttr: noTime}))

	console.Info("listening", "addr", "127.0.0.1:25")
	sessions.Info("connect", "session", "s1", "client", "192.0.2.7")
	// Output:
	// level=INFO msg=listening addr=127.0.0.1:25
	// {"level":"INFO","msg":"connect","session":"s1","client":"192.0.2.7"}
}
