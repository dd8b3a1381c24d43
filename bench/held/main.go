// Command held measures what fakesmtp pays to hold many hostile
// connections at once, and what a well-behaved client sees meanwhile: N
// connections held in the banner delay (mode banner) or in the stutter
// tarpit (mode stutter), server RSS per held connection, and the
// post-banner transaction time of a well-behaved client, unloaded and
// loaded. It is a benchmark run by hand (bench/held.sh), not a test.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

func main() {
	bin := flag.String("bin", "", "fakesmtp binary")
	n := flag.Int("n", 1000, "connections to hold")
	mode := flag.String("mode", "banner", "banner (held in the banner delay) or stutter (held in the stutter tarpit)")
	port := flag.Int("port", 2599, "port for fakesmtp on 127.0.0.1")
	samples := flag.Int("samples", 20, "well-behaved transactions per measurement")
	flag.Parse()
	if err := run(*bin, *n, *mode, *port, *samples); err != nil {
		fmt.Fprintln(os.Stderr, "held:", err)
		os.Exit(1)
	}
}

func run(bin string, n int, mode string, port, samples int) error {
	dir, err := os.MkdirTemp("", "fakesmtp-held-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	args := []string{"serve", "--mode", "collector", "--listen", addr,
		"--store-path", filepath.Join(dir, "spool"), "--log-path", filepath.Join(dir, "logs"),
		"--max-sessions", strconv.Itoa(n + 200), "--receive-timeout", "10m", "--max-tarpitted", "0",
		"--tarpit-max-time", "0", "--max-smtp-errors", "100"}
	switch mode {
	case "banner":
		// Everyone waits 60 s for the banner; the held clients never
		// get further. The well-behaved client is timed after its banner.
		args = append(args, "--banner-delay", "60s", "--do-early-talk=true", "--error-delay", "0")
	case "stutter":
		// No banner delay; each held client makes one error, and its
		// error reply is stuttered one byte per second (~40 s).
		args = append(args, "--banner-delay", "0", "--tarpit", "stutter", "--stutter-interval", "1s",
			"--error-delay", "1s", "--do-early-talk=false")
	default:
		return fmt.Errorf("unknown mode %q", mode)
	}
	cmd := exec.Command(bin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
	if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
		return fmt.Errorf("fakesmtp did not start: %v", err)
	}
	pid := cmd.Process.Pid
	bannerWait := 0 * time.Second
	if mode == "banner" {
		bannerWait = 60 * time.Second
	}

	// Warm up, then the unloaded baseline.
	if _, err := transaction(addr, bannerWait+10*time.Second); err != nil {
		return fmt.Errorf("warm-up: %v", err)
	}
	unloaded, err := measure(addr, samples, bannerWait, mode == "banner")
	if err != nil {
		return err
	}
	rss0 := rssKB(pid)

	// Hold n connections from 127.0.0.11-14 (four source addresses give
	// room beyond one address's ephemeral ports).
	start := time.Now()
	var held []net.Conn
	for i := 0; i < n; i++ {
		src := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(11+i%4))}
		d := net.Dialer{LocalAddr: src, Timeout: 10 * time.Second}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			return fmt.Errorf("connection %d: %v", i, err)
		}
		held = append(held, c)
		if mode == "stutter" {
			// Read the banner, then make the error that earns the tarpit.
			br := bufio.NewReader(c)
			c.SetReadDeadline(time.Now().Add(30 * time.Second))
			if _, err := br.ReadString('\n'); err != nil {
				return fmt.Errorf("connection %d banner: %v", i, err)
			}
			c.Write([]byte("FOO\r\n"))
		}
		if i%500 == 499 {
			time.Sleep(100 * time.Millisecond) // ramp: about 5,000 connections/s at most
		}
	}
	ramp := time.Since(start)
	time.Sleep(3 * time.Second) // let the server settle before sampling
	rss1 := rssKB(pid)
	threads := procField(pid, "Threads:")
	loaded, err := measure(addr, samples, bannerWait, mode == "banner")
	if err != nil {
		return err
	}
	rss2 := rssKB(pid)
	for _, c := range held {
		c.Close()
	}
	per := float64(rss1-rss0) * 1024 / float64(n)
	fmt.Printf("mode=%s n=%d ramp=%s rss_before=%dKiB rss_held=%dKiB rss_after_probe=%dKiB bytes_per_conn=%.0f threads=%s\n",
		mode, n, ramp.Round(time.Millisecond), rss0, rss1, rss2, per, threads)
	fmt.Printf("well-behaved post-banner transaction: unloaded median %s, loaded median %s, ratio %.2f\n",
		unloaded.Round(time.Microsecond), loaded.Round(time.Microsecond), float64(loaded)/float64(unloaded))
	fmt.Printf("BenchmarkHeld/mode=%s/n=%d 1 %.0f bytes/conn %.0f probe-ns/op %.2f probe-ratio\n",
		mode, n, per, float64(loaded), float64(loaded)/float64(unloaded))
	return nil
}

// measure runs samples transactions and returns the median time from the
// end of the banner to the 250 after DATA. In banner mode they run in
// parallel so the samples share one banner delay.
func measure(addr string, samples int, bannerWait time.Duration, parallel bool) (time.Duration, error) {
	ds := make([]time.Duration, samples)
	errs := make(chan error, samples)
	run := func(i int) {
		d, err := transaction(addr, bannerWait+30*time.Second)
		ds[i] = d
		errs <- err
	}
	for i := 0; i < samples; i++ {
		if parallel {
			go run(i)
		} else {
			run(i)
		}
	}
	for i := 0; i < samples; i++ {
		if err := <-errs; err != nil {
			return 0, err
		}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2], nil
}

// transaction delivers one small message and returns the time from the
// banner's arrival to the final 250.
func transaction(addr string, timeout time.Duration) (time.Duration, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	br := bufio.NewReader(c)
	expect := func(code string) error {
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				return err
			}
			if !strings.HasPrefix(l, code) {
				return fmt.Errorf("got %q, want %s", l, code)
			}
			if len(l) > 3 && l[3] == ' ' {
				return nil
			}
		}
	}
	if err := expect("220"); err != nil {
		return 0, err
	}
	t0 := time.Now()
	for _, step := range []struct{ send, code string }{
		{"EHLO probe.example\r\n", "250"},
		{"MAIL FROM:<probe@example.org>\r\n", "250"},
		{"RCPT TO:<rcpt@example.net>\r\n", "250"},
		{"DATA\r\n", "354"},
		{"Subject: probe\r\n\r\nhello\r\n.\r\n", "250"},
	} {
		if _, err := c.Write([]byte(step.send)); err != nil {
			return 0, err
		}
		if err := expect(step.code); err != nil {
			return 0, err
		}
	}
	d := time.Since(t0)
	c.Write([]byte("QUIT\r\n"))
	return d, nil
}

func rssKB(pid int) int {
	v, _ := strconv.Atoi(strings.Fields(procField(pid, "VmRSS:") + " 0")[0])
	return v
}

func procField(pid int, name string) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, name) {
			return strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(l, name), "kB"))
		}
	}
	return ""
}
