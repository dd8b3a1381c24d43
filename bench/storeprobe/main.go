//go:build linux

// Command storeprobe measures what the disk under the spool costs before
// any SMTP is spoken, so that bench/smtp-source.sh can explain its
// figures. It has two modes:
//
//   - raw: one goroutine appends 4 KiB to a file and fsyncs it, again and
//     again (the fio "write + fsync" loop, for machines without fio);
//   - store: W goroutines each store 2 KiB messages through
//     fakesmtp's own internal/store (create in .tmp, write; then, with
//     fsync on, group commit: one data flush per batch (syncfs on Linux,
//     an fsync per file elsewhere), the renames, one folder fsync), with
//     fsync on or off.
//
// The store folder must be new or empty, and the message files are left
// in it: deleting them is the caller's business, and is best done once
// at the very end, because ext4 without a journal avoids reusing inodes
// freed in the last 60 s (300 s while their table block is dirty) and
// scans past every one of them at each file creation (fs/ext4/ialloc.c,
// recently_deleted), which would slow whatever creates files next.
//
// It prints one line per run in Go benchmark format, e.g.
//
//	BenchmarkStore/fsync=on/workers=20 1 123456 ns/op 8100 msgs/s 95.2 cpu-us/msg
//
// where ns/op is the wall time per message (1/throughput) and cpu-us/msg
// the process's user+system CPU per message (getrusage). It is a
// benchmark aid, not part of fakesmtp.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"fakesmtp/internal/id"
	"fakesmtp/internal/store"
)

// rawBlock is the write size of the raw loop: one page, as fio --bs=4k.
const rawBlock = 4096

// rawFileSize bounds the raw loop's file; it wraps to offset 0 there, so
// the loop measures overwrite + fsync after the first pass, like fio's
// time_based runs.
const rawFileSize = 16 << 20

func main() {
	var (
		mode     = flag.String("mode", "store", "raw or store")
		dir      = flag.String("dir", "", "scratch folder on the file system to measure (required; emptied)")
		dur      = flag.Duration("duration", 5*time.Second, "length of each run")
		workers  = flag.Int("workers", 20, "concurrent writers (store mode)")
		fsync    = flag.Bool("fsync", true, "fsync each message (store mode)")
		bodySize = flag.Int("size", 2048, "message body bytes (store mode)")
	)
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "storeprobe: -dir is required")
		os.Exit(2)
	}
	var err error
	switch *mode {
	case "raw":
		err = raw(*dir, *dur)
	case "store":
		err = storeRun(*dir, *dur, *workers, *fsync, *bodySize)
	default:
		err = fmt.Errorf("unknown mode %q", *mode)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "storeprobe: %v\n", err)
		os.Exit(1)
	}
}

// raw appends 4 KiB and fsyncs, for dur, and prints the fsync latency
// percentiles and the rate.
func raw(dir string, dur time.Duration) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "raw-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	block := bytes.Repeat([]byte{'x'}, rawBlock)
	var lat []time.Duration
	var off int64
	end := time.Now().Add(dur)
	for time.Now().Before(end) {
		if _, err := f.WriteAt(block, off); err != nil {
			return err
		}
		off = (off + rawBlock) % rawFileSize
		t := time.Now()
		if err := f.Sync(); err != nil {
			return err
		}
		lat = append(lat, time.Since(t))
	}
	slices.Sort(lat)
	n := len(lat)
	fmt.Printf("raw fsync (4 KiB write + fsync, 1 writer): %d fsyncs, p50 %.0f us, p99 %.0f us, %.0f fsync/s\n",
		n, us(lat[n/2]), us(lat[n*99/100]), float64(n)/dur.Seconds())
	return nil
}

// storeRun stores messages through internal/store from workers
// goroutines for dur.
func storeRun(dir string, dur time.Duration, workers int, fsync bool, bodySize int) error {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s is not empty", dir)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.New(store.Config{Path: dir, Fsync: fsync}, logger)
	if err != nil {
		return err
	}
	body := message(bodySize)
	ids := id.NewGenerator(nil)
	client := netip.MustParseAddr("127.0.0.1")
	ctx := context.Background()

	var (
		count  atomic.Int64
		stop   atomic.Bool
		wg     sync.WaitGroup
		errMu  sync.Mutex
		runErr error
	)
	cpu0 := cpuTime()
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for !stop.Load() {
				env := &store.Envelope{
					ID: ids.New(), Session: "probe", ClientIP: client, ClientPort: 2525,
					Helo: "client.example.test", MailFrom: "bench@example.test",
					RcptTo: []string{"rcpt@example.test"}, ReceivedAt: time.Now(),
					Hostname: "probe.example.test", Protocol: "SMTP",
				}
				if err := st.Put(ctx, env, bytes.NewReader(body)); err != nil {
					errMu.Lock()
					runErr = err
					errMu.Unlock()
					stop.Store(true)
					return
				}
				count.Add(1)
			}
		})
	}
	time.Sleep(dur)
	stop.Store(true)
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	if runErr != nil {
		return runErr
	}
	n := count.Load()
	stored, err := st.List()
	if err != nil {
		return err
	}
	if int64(len(stored)) != n {
		return fmt.Errorf("stored %d files for %d messages", len(stored), n)
	}
	onOff := map[bool]string{true: "on", false: "off"}[fsync]
	fmt.Printf("BenchmarkStore/fsync=%s/workers=%d 1 %.0f ns/op %.0f msgs/s %.1f cpu-us/msg\n",
		onOff, workers, float64(elapsed.Nanoseconds())/float64(n), float64(n)/elapsed.Seconds(),
		us(cpu)/float64(n))
	return nil
}

// message is a body like smtp-source's: 80-byte lines of X ending CRLF.
func message(size int) []byte {
	var b bytes.Buffer
	b.WriteString("From: <bench@example.test>\r\nTo: <rcpt@example.test>\r\nSubject: probe\r\n\r\n")
	for b.Len() < size {
		b.WriteString("XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\r\n")
	}
	return b.Bytes()
}

// cpuTime is the process's user+system CPU so far, all threads.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
