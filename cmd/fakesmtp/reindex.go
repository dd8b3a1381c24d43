package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"fakesmtp/internal/index"
)

// reindexCmd rebuilds the message index from the message files, which
// are the source of truth: every file is read again, files added behind
// fakesmtp's back are indexed, and entries whose file is gone are
// removed. It may run while the server runs (SQLite WAL).
//
//	fakesmtp reindex [flags]
func reindexCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, code := settings("reindex", args, stderr)
	if cfg == nil {
		return code
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ix, err := index.Open(ctx, cfg.IndexFile(), logger)
	if err != nil {
		fmt.Fprintf(stderr, "fakesmtp: %v\n", err)
		return 1
	}
	defer ix.Close()
	began := time.Now()
	added, removed, err := index.NewIndexer(ix, cfg.StorePath, logger).Reconcile(ctx, true)
	if err != nil {
		fmt.Fprintf(stderr, "fakesmtp: reindex: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "reindexed %s from %s: %d indexed, %d removed, in %s\n", cfg.IndexFile(), cfg.StorePath, added, removed, time.Since(began).Round(time.Millisecond))
	return 0
}
