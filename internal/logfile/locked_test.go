package logfile

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// byteWriter appends one byte at a time with no locking of its own, like
// a stream that may split a write. Unserialised writers would interleave
// inside a record, and the race detector would flag the slice.
type byteWriter struct{ buf []byte }

func (bw *byteWriter) Write(p []byte) (int, error) {
	for _, c := range p {
		bw.buf = append(bw.buf, c)
	}
	return len(p), nil
}

// TestLockedWriterTwoHandlers has two separately built slog handlers, each
// with its own internal lock, share one LockedWriter, as the console and
// session handlers share os.Stderr.
func TestLockedWriterTwoHandlers(t *testing.T) {
	const goroutines, records = 20, 100

	var out byteWriter
	lw := NewLocked(&out)
	loggers := []*slog.Logger{
		slog.New(slog.NewTextHandler(lw, nil)),
		slog.New(slog.NewJSONHandler(lw, nil)),
	}

	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			l := loggers[g%2]
			for i := range records {
				l.Info("record", "g", g, "i", i, "pad", strings.Repeat("x", g*50))
			}
		})
	}
	wg.Wait()

	got := strings.Split(strings.TrimSuffix(string(out.buf), "\n"), "\n")
	if len(got) != goroutines*records {
		t.Fatalf("got %d lines, want %d", len(got), goroutines*records)
	}
	for _, line := range got {
		text := strings.HasPrefix(line, "time=") && strings.Contains(line, " msg=record ")
		json := strings.HasPrefix(line, `{"time":`) && strings.HasSuffix(line, `"}`)
		if !text && !json {
			t.Fatalf("interleaved or mangled line: %.80q", line)
		}
	}
}

// shortWriter writes at most n bytes and returns err.
type shortWriter struct {
	n   int
	err error
}

func (sw shortWriter) Write(p []byte) (int, error) {
	return min(len(p), sw.n), sw.err
}

func TestLockedWriterResult(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name  string
		w     io.Writer
		wantN int
		is    error
	}{
		{"whole", shortWriter{n: 100}, 5, nil},
		{"short without error", shortWriter{n: 2}, 2, io.ErrShortWrite},
		{"short with error", shortWriter{n: 2, err: boom}, 2, boom},
		{"error only", shortWriter{n: 0, err: boom}, 0, boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := NewLocked(tt.w).Write([]byte("hello"))
			if n != tt.wantN {
				t.Errorf("n = %d, want %d", n, tt.wantN)
			}
			if tt.is == nil && err != nil || tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want %v", err, tt.is)
			}
		})
	}
}
