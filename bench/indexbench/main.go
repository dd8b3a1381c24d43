// Command indexbench measures the message index (internal/index) at the
// size a busy catcher reaches: it fills a fresh index with synthetic but
// varied messages, then times the queries the web UI makes most (first
// page of the list, searches) and prints a Markdown table. It is run by
// hand, not in CI:
//
//	go run ./bench/indexbench                 # 100,000 messages, 9 runs each
//	go run ./bench/indexbench -n 20000 -runs 5 -files 2000
//
// The figures go in bench/indexbench/README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"fakesmtp/internal/id"
	"fakesmtp/internal/index"
	"fakesmtp/internal/store"
)

func main() {
	n := flag.Int("n", 100000, "messages to index")
	runs := flag.Int("runs", 9, "timed runs per query (the median is reported)")
	batch := flag.Int("batch", 256, "messages per transaction while filling")
	files := flag.Int("files", 2000, "message files for the Indexer throughput run (0: skip)")
	dir := flag.String("dir", "", "folder for the index and files (default: a temporary folder, removed after)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the fill to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "indexbench:", err)
			os.Exit(1)
		}
		profile = f
	}
	if err := run(*n, *runs, *batch, *files, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "indexbench:", err)
		os.Exit(1)
	}
}

// profile, when set, receives a CPU profile of the fill.
var profile *os.File

func run(n, runs, batch, files int, dir string) error {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if dir == "" {
		d, err := os.MkdirTemp("", "indexbench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	ix, err := index.Open(ctx, filepath.Join(dir, "index.db"), logger)
	if err != nil {
		return err
	}
	defer ix.Close()

	g := newGen(1)
	fmt.Fprintf(os.Stderr, "filling %d messages in batches of %d...\n", n, batch)
	if profile != nil {
		pprof.StartCPUProfile(profile)
	}
	start := time.Now()
	var textBytes int64
	for done := 0; done < n; {
		k := min(batch, n-done)
		ms := make([]index.Message, k)
		for i := range ms {
			ms[i] = g.message(done+i, n)
			textBytes += int64(len(ms[i].Text))
		}
		if err := ix.PutMany(ctx, ms); err != nil {
			return err
		}
		done += k
	}
	fill := time.Since(start)
	if profile != nil {
		pprof.StopCPUProfile()
		profile.Close()
	}
	fi, _ := os.Stat(filepath.Join(dir, "index.db"))
	var dbSize int64
	if fi != nil {
		dbSize = fi.Size()
	}
	if wal, err := os.Stat(filepath.Join(dir, "index.db-wal")); err == nil {
		dbSize += wal.Size()
	}

	queries := []struct{ name, q, sort string }{
		{"first page (50, newest first, Total+Unread)", "", ""},
		{"first page sorted by size", "", "-size"},
		{"page 100 (offset 4,950)", "", "offset"},
		{"free text, common word", "invoice", ""},
		{"free text, rare word", g.rareWord(), ""},
		{"free text, two words", "shipping delayed", ""},
		{"phrase", `"order confirmation"`, ""},
		{"from: (one sender)", "from:" + g.sender(), ""},
		{"from: (busiest domain)", "from:" + g.commonDomain(), ""},
		{"combined from:x subject:y -is:read", "from:" + g.commonDomain() + " subject:order -is:read", ""},
		{"is:unread", "is:unread", ""},
		{"verdict:dnsbl has:attachment", "verdict:dnsbl has:attachment", ""},
	}
	type result struct {
		name, q      string
		median, best time.Duration
		total        int
	}
	var results []result
	for _, qq := range queries {
		q, err := index.ParseQuery(qq.q)
		if err != nil {
			return err
		}
		opt := index.ListOptions{Query: q, Limit: 50, Sort: qq.sort}
		if qq.sort == "offset" {
			opt.Sort, opt.Offset = "", 4950
		}
		var times []time.Duration
		var total int
		for r := 0; r < runs+1; r++ {
			t := time.Now()
			p, err := ix.List(ctx, opt)
			if err != nil {
				return fmt.Errorf("%s: %w", qq.q, err)
			}
			if r > 0 { // the first run warms the cache
				times = append(times, time.Since(t))
			}
			total = p.Total
		}
		slices.Sort(times)
		results = append(results, result{qq.name, qq.q, times[len(times)/2], times[0], total})
	}

	var fileRate float64
	if files > 0 {
		if fileRate, err = indexerRun(ctx, dir, files, g, logger); err != nil {
			return err
		}
	}

	fmt.Printf("## Index benchmark, %s\n\n", time.Now().UTC().Format(time.DateOnly))
	fmt.Printf("%d messages (%.0f bytes of body text on average), %s %s, GOMAXPROCS %d, %s; load average at the end: %s.\n\n",
		n, float64(textBytes)/float64(n), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), runtime.Version(), loadavg())
	fmt.Printf("| measure | value |\n|---|---|\n")
	fmt.Printf("| fill: messages/s (PutMany, %d per transaction) | %.0f |\n", batch, float64(n)/fill.Seconds())
	fmt.Printf("| fill: total time | %s |\n", fill.Round(time.Millisecond))
	fmt.Printf("| index file size | %.1f MiB |\n", float64(dbSize)/(1<<20))
	if files > 0 {
		fmt.Printf("| Indexer: message files/s (read, MIME parse, index; Reconcile of %d files) | %.0f |\n", files, fileRate)
	}
	fmt.Printf("\n| query | search | matches | median | best |\n|---|---|---:|---:|---:|\n")
	for _, r := range results {
		fmt.Printf("| %s | `%s` | %d | %.1f ms | %.1f ms |\n", r.name, r.q, r.total,
			float64(r.median.Microseconds())/1000, float64(r.best.Microseconds())/1000)
	}
	return nil
}

// indexerRun writes message files the way the SMTP session does and
// times an Indexer reconciling them into a fresh index: the end-to-end
// rate at which received mail becomes searchable.
func indexerRun(ctx context.Context, dir string, n int, g *gen, logger *slog.Logger) (float64, error) {
	spool := filepath.Join(dir, "spool")
	st, err := store.New(store.Config{Path: spool}, logger)
	if err != nil {
		return 0, err
	}
	for i := 0; i < n; i++ {
		m := g.message(i, n)
		env := &store.Envelope{
			ID: m.ID, Session: m.Session, ClientIP: netip.MustParseAddr(m.ClientIP), ClientPort: uint16(m.ClientPort),
			Helo: m.Helo, MailFrom: m.MailFrom, RcptTo: m.RcptTo, ReceivedAt: m.ReceivedAt,
			Hostname: "mx.bench.test", Protocol: "ESMTP",
		}
		for _, v := range m.Verdicts {
			if zone, ok := strings.CutPrefix(v, "dnsbl:"); ok {
				env.Extra = append(env.Extra, "X-FakeSMTP-DNSBL: "+zone+"=127.0.0.2")
			}
		}
		for _, f := range m.Findings {
			env.Extra = append(env.Extra, "X-FakeSMTP-Finding: "+f+": explanation (RFC 5322 3.6)")
		}
		if err := st.Put(ctx, env, strings.NewReader(rfc5322(m))); err != nil {
			return 0, err
		}
	}
	ix, err := index.Open(ctx, filepath.Join(dir, "files.db"), logger)
	if err != nil {
		return 0, err
	}
	defer ix.Close()
	x := index.NewIndexer(ix, spool, logger)
	start := time.Now()
	added, _, err := x.Reconcile(ctx, false)
	if err != nil {
		return 0, err
	}
	if added != n {
		return 0, fmt.Errorf("indexer indexed %d of %d files", added, n)
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// rfc5322 renders a synthetic message as the client would send it.
func rfc5322(m index.Message) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\n", m.From[0], strings.Join(m.To, ", "))
	if len(m.Cc) > 0 {
		fmt.Fprintf(&b, "Cc: %s\r\n", strings.Join(m.Cc, ", "))
	}
	fmt.Fprintf(&b, "Subject: %s\r\nDate: %s\r\nMessage-ID: <%s>\r\nMIME-Version: 1.0\r\n", m.Subject,
		m.Date.Format(time.RFC1123Z), m.MessageID)
	if m.Attachments == 0 {
		fmt.Fprintf(&b, "Content-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n", wrap(m.Text))
		return b.String()
	}
	fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=bb\r\n\r\n--bb\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n", wrap(m.Text))
	fmt.Fprintf(&b, "--bb\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=a.pdf\r\n"+
		"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--bb--\r\n")
	return b.String()
}

// wrap breaks text into lines of about 72 characters.
func wrap(s string) string {
	var b strings.Builder
	line := 0
	for _, w := range strings.Fields(s) {
		if line+len(w) > 72 {
			b.WriteString("\r\n")
			line = 0
		} else if line > 0 {
			b.WriteByte(' ')
			line++
		}
		b.WriteString(w)
		line += len(w)
	}
	return b.String()
}

// newID returns the ID of a message received at t.
func newID(t time.Time) string { return id.NewGenerator(func() time.Time { return t }).New() }

// loadavg returns the first three fields of /proc/loadavg, or "?": on a
// shared machine other work skews the figures, and this says how much
// there was.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}
