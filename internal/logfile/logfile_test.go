package logfile

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// fakeClock is an injectable clock whose time tests move by hand. It is
// locked because Write reads it from many goroutines.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// date builds a UTC time; tests use 2012, the original's year, which also
// keeps fake months well away from the real mtimes the OS gives files.
func date(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, time.UTC)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return string(b)
}

func mustWrite(t *testing.T, w *Writer, s string) {
	t.Helper()
	n, err := w.Write([]byte(s))
	if err != nil || n != len(s) {
		t.Fatalf("Write(%q) = %d, %v; want %d, nil", s, n, err, len(s))
	}
}

func mustNew(t *testing.T, dir, prefix string, now func() time.Time) *Writer {
	t.Helper()
	w, err := New(dir, prefix, now)
	if err != nil {
		t.Fatalf("New(%q, %q): %v", dir, prefix, err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func TestWriteLandsInMonthFile(t *testing.T) {
	tests := []struct {
		prefix string
		now    time.Time
		want   string
	}{
		{"fakesmtp", date(2012, time.November, 5, 10, 0), "fakesmtp-11.log"},
		{"sessions", date(2012, time.November, 30, 23, 59), "sessions-11.log"},
		{"fakesmtp", date(2013, time.January, 1, 0, 0), "fakesmtp-01.log"},
		{"fakesmtp", date(2012, time.December, 31, 23, 59), "fakesmtp-12.log"},
		// The month is taken in the clock's location, not UTC.
		{"fakesmtp", time.Date(2012, time.March, 1, 0, 30, 0, 0, time.FixedZone("UTC+2", 2*3600)), "fakesmtp-03.log"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "logs", "nested") // New creates it
			w := mustNew(t, dir, tt.prefix, newClock(tt.now).Now)

			want := filepath.Join(dir, tt.want)
			if got := w.Path(); got != want {
				t.Errorf("Path() = %q, want %q", got, want)
			}
			mustWrite(t, w, "one\n")
			mustWrite(t, w, "two\n")
			if got := readFile(t, want); got != "one\ntwo\n" {
				t.Errorf("%s = %q, want %q", tt.want, got, "one\ntwo\n")
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 {
				t.Errorf("dir has %d entries, want only %s", len(entries), tt.want)
			}
		})
	}
}

func TestMonthChangeSwitchesFile(t *testing.T) {
	dir := t.TempDir()
	clock := newClock(date(2012, time.October, 31, 23, 59))
	w := mustNew(t, dir, "fakesmtp", clock.Now)

	oct := filepath.Join(dir, "fakesmtp-10.log")
	nov := filepath.Join(dir, "fakesmtp-11.log")

	mustWrite(t, w, "october\n")
	if got := w.Path(); got != oct {
		t.Fatalf("Path() = %q, want %q", got, oct)
	}

	clock.Set(date(2012, time.November, 1, 0, 0))
	mustWrite(t, w, "november 1\n")
	mustWrite(t, w, "november 2\n")
	if got := w.Path(); got != nov {
		t.Fatalf("after month change Path() = %q, want %q", got, nov)
	}

	if got := readFile(t, oct); got != "october\n" {
		t.Errorf("october file = %q, want %q", got, "october\n")
	}
	if got := readFile(t, nov); got != "november 1\nnovember 2\n" {
		t.Errorf("november file = %q, want %q", got, "november 1\nnovember 2\n")
	}
}

// TestExistingFile checks the decision made when a month's file already
// exists: append if it was written this month (a restart), truncate if it
// is left over from the same month of an earlier year.
func TestExistingFile(t *testing.T) {
	now := date(2012, time.November, 15, 12, 0)
	plus2 := time.FixedZone("UTC+2", 2*3600)

	tests := []struct {
		name     string
		now      time.Time
		mtime    time.Time
		truncate bool
	}{
		{"same month earlier day", now, date(2012, time.November, 1, 0, 0), false},
		{"same month a moment ago", now, now.Add(-time.Second), false},
		{"same month later (clock skew)", now, date(2012, time.November, 30, 23, 0), false},
		{"a year earlier", now, now.AddDate(-1, 0, 0), true},
		{"two years earlier", now, now.AddDate(-2, 0, 0), true},
		{"last moment of last year's month", now, time.Date(2011, time.November, 30, 23, 59, 59, 0, time.UTC), true},
		{"last moment of the previous month", now, time.Date(2012, time.October, 31, 23, 59, 59, 0, time.UTC), true},
		// A future mtime means the clock was stepped back; those lines
		// are recent, so they are kept rather than overwritten.
		{"a year later (clock stepped back)", now, now.AddDate(1, 0, 0), false},
		{"next month (clock stepped back)", now, date(2012, time.December, 1, 0, 30), false},
		// 23:30 UTC on 31 October is already November in UTC+2, the
		// clock's zone, so the file is this month's.
		{"same month in the clock's zone", time.Date(2012, time.November, 15, 12, 0, 0, 0, plus2), date(2012, time.October, 31, 23, 30), false},
		{"previous month in the clock's zone", time.Date(2012, time.November, 15, 12, 0, 0, 0, plus2), date(2012, time.October, 31, 21, 30), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "fakesmtp-11.log")
			if err := os.WriteFile(path, []byte("earlier\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(path, tt.mtime, tt.mtime); err != nil {
				t.Fatal(err)
			}

			w := mustNew(t, dir, "fakesmtp", newClock(tt.now).Now)
			mustWrite(t, w, "later\n")

			want := "earlier\nlater\n"
			if tt.truncate {
				want = "later\n"
			}
			if got := readFile(t, path); got != want {
				t.Errorf("file = %q, want %q", got, want)
			}
		})
	}
}

// TestTwelveFilesAtMost runs the clock through 25 months, as the original
// would run for two years, and checks that each month's file holds only
// its latest year.
func TestTwelveFilesAtMost(t *testing.T) {
	dir := t.TempDir()
	start := date(2012, time.January, 10, 9, 0)
	clock := newClock(start)
	w := mustNew(t, dir, "fakesmtp", clock.Now)

	for i := range 25 {
		now := start.AddDate(0, i, 0)
		clock.Set(now)
		mustWrite(t, w, now.Format("2006-01")+"\n")
		// Make the file's mtime agree with the fake clock, as the real
		// clock and the file system agree in production; left at today's
		// real date it would look like the future, and be kept.
		if err := os.Chtimes(w.Path(), now, now); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 12 {
		t.Errorf("dir has %d files, want 12", len(entries))
	}
	for m := time.January; m <= time.December; m++ {
		year := 2013
		if m == time.January {
			year = 2014
		}
		path := filepath.Join(dir, fmt.Sprintf("fakesmtp-%02d.log", m))
		want := fmt.Sprintf("%d-%02d\n", year, m)
		if got := readFile(t, path); got != want {
			t.Errorf("%s = %q, want %q", filepath.Base(path), got, want)
		}
	}
}

// boundaryClock reads 30 November until it has been read switchAfter
// times, then 1 December, so concurrent Writes cross a month boundary
// part-way through without the test sleeping or coordinating.
//
// Its year is far in the future so that the real mtimes the OS gives the
// files look stale: a Writer that wrongly reopened a month's file after
// switching away from it (say, by reading the clock before taking its
// lock) would truncate it, and the lost lines would fail the test.
type boundaryClock struct {
	calls       atomic.Int64
	switchAfter int64
}

func (c *boundaryClock) Now() time.Time {
	if c.calls.Add(1) > c.switchAfter {
		return date(2999, time.December, 1, 0, 0)
	}
	return date(2999, time.November, 30, 23, 59)
}

// TestConcurrentWritesStayWhole has 50 goroutines write 200 lines each,
// some far longer than PIPE_BUF, while the month changes under them, and
// checks every line arrives exactly once and intact, in one of the two
// months' files, with no line lost to a switch.
func TestConcurrentWritesStayWhole(t *testing.T) {
	const goroutines, lines = 50, 200

	dir := t.TempDir()
	clock := &boundaryClock{switchAfter: goroutines * lines / 2}
	w := mustNew(t, dir, "fakesmtp", clock.Now)
	nov := w.Path()

	line := func(g, i int) string {
		// Lengths vary from tens of bytes to ~8 KiB; the filler repeats
		// the goroutine's letter, so any splice shows up as a wrong byte.
		fill := strings.Repeat(string(rune('a'+g%26)), (g*131+i*17)%8000)
		return fmt.Sprintf("g=%02d i=%03d %s end\n", g, i, fill)
	}

	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range lines {
				s := line(g, i)
				if n, err := w.Write([]byte(s)); err != nil || n != len(s) {
					t.Errorf("Write = %d, %v; want %d, nil", n, err, len(s))
					return
				}
			}
		})
	}
	wg.Wait()

	dec := w.Path()
	if dec == nov {
		t.Fatalf("Path() = %q after the month changed", dec)
	}
	seen := make(map[[2]int]bool)
	for _, path := range []string{nov, dec} {
		n := len(seen)
		checkLines(t, path, line, seen)
		if len(seen) == n {
			t.Errorf("%s has no lines; want the writes split across both months", filepath.Base(path))
		}
	}
	if len(seen) != goroutines*lines {
		t.Errorf("got %d whole lines, want %d", len(seen), goroutines*lines)
	}
}

// checkLines reads path and checks each line is some line(g, i), whole
// and not seen before, recording it in seen.
func checkLines(t *testing.T, path string, line func(g, i int) string, seen map[[2]int]bool) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 16<<10), 16<<10)
	for sc.Scan() {
		var g, i int
		if _, err := fmt.Sscanf(sc.Text(), "g=%d i=%d", &g, &i); err != nil {
			t.Fatalf("mangled line %.60q: %v", sc.Text(), err)
		}
		if want := line(g, i); sc.Text()+"\n" != want {
			t.Fatalf("line g=%d i=%d is not intact: got %d bytes, want %d", g, i, len(sc.Text())+1, len(want))
		}
		if seen[[2]int{g, i}] {
			t.Fatalf("line g=%d i=%d written twice", g, i)
		}
		seen[[2]int{g, i}] = true
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

func TestNewErrors(t *testing.T) {
	tmp := t.TempDir()
	afile := filepath.Join(tmp, "afile")
	if err := os.WriteFile(afile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// The log file's own name is taken by a directory.
	clash := filepath.Join(tmp, "clash")
	if err := os.MkdirAll(filepath.Join(clash, "fakesmtp-11.log"), 0o755); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		dir    string
		prefix string
		is     error // nil: any error will do
	}{
		// Tests may run as root, which ignores permission bits, so an
		// unwritable path is made by putting it under a regular file.
		{"dir under a regular file", filepath.Join(afile, "sub"), "fakesmtp", syscall.ENOTDIR},
		{"dir is a regular file", afile, "fakesmtp", syscall.ENOTDIR},
		{"file name is a directory", clash, "fakesmtp", syscall.EISDIR},
		{"empty prefix", tmp, "", nil},
		{"prefix with slash", tmp, "../escape", nil},
		{"prefix dot-dot", tmp, "..", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := New(tt.dir, tt.prefix, newClock(date(2012, time.November, 5, 10, 0)).Now)
			if err == nil {
				w.Close()
				t.Fatalf("New(%q, %q) succeeded, want error", tt.dir, tt.prefix)
			}
			if !strings.HasPrefix(err.Error(), "logfile: ") {
				t.Errorf("error %q lacks the logfile: prefix", err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
		})
	}
}

// TestWriteErrorOnSwitch checks that a month whose file cannot be opened
// makes Write fail rather than drop records silently, and that the next
// Write retries once the path is fixed.
func TestWriteErrorOnSwitch(t *testing.T) {
	dir := t.TempDir()
	clock := newClock(date(2012, time.November, 30, 23, 0))
	w := mustNew(t, dir, "fakesmtp", clock.Now)
	mustWrite(t, w, "november\n")
	nov := w.Path()

	dec := filepath.Join(dir, "fakesmtp-12.log")
	if err := os.Mkdir(dec, 0o755); err != nil {
		t.Fatal(err)
	}
	clock.Set(date(2012, time.December, 1, 0, 0))
	if n, err := w.Write([]byte("lost\n")); err == nil || n != 0 {
		t.Fatalf("Write into unopenable month = %d, %v; want 0 and an error", n, err)
	}
	if got := w.Path(); got != nov {
		t.Errorf("after failed switch Path() = %q, want %q", got, nov)
	}

	if err := os.Remove(dec); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, w, "december\n")
	if got := w.Path(); got != dec {
		t.Errorf("Path() = %q, want %q", got, dec)
	}
	if got := readFile(t, dec); got != "december\n" {
		t.Errorf("december file = %q", got)
	}
	if got := readFile(t, nov); got != "november\n" {
		t.Errorf("november file = %q", got)
	}
}

func TestWriteAfterClose(t *testing.T) {
	w := mustNew(t, t.TempDir(), "fakesmtp", newClock(date(2012, time.November, 5, 10, 0)).Now)
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := w.Write([]byte("x\n")); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after Close = %v, want os.ErrClosed", err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
}

func TestNilClockUsesTimeNow(t *testing.T) {
	before := time.Now()
	w := mustNew(t, t.TempDir(), "fakesmtp", nil)
	after := time.Now()
	// Accept the month at either end, in case New ran across a boundary.
	got := filepath.Base(w.Path())
	if got != fmt.Sprintf("fakesmtp-%02d.log", before.Month()) && got != fmt.Sprintf("fakesmtp-%02d.log", after.Month()) {
		t.Errorf("Path() base = %q, want fakesmtp-%02d.log", got, after.Month())
	}
}
