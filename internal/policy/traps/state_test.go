package traps

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestSurvivesRestart(t *testing.T) {
	clk := newClock()
	state := filepath.Join(t.TempDir(), "sub", "traps.json") // folder created on first write
	tr := newTraps(t, Config{StatePath: state, TTL: time.Hour}, clk)
	mustRecord(t, tr, "192.0.2.1", "trap@example.test", ReasonMailbox)
	mustRecord(t, tr, "2001:db8::1", "x@elsewhere.test", ReasonUnknownDomain)
	before := tr.Entries()

	clk.Advance(10 * time.Minute)
	again := newTraps(t, Config{StatePath: state, TTL: time.Hour}, clk)
	after := again.Entries()
	if len(after) != 2 || after[0] != before[0] || after[1] != before[1] {
		t.Errorf("after restart:\n got %v\nwant %v", after, before)
	}
	// Expiry still runs from the recorded last hit, not from the restart.
	clk.Advance(50 * time.Minute)
	if listed(again, "192.0.2.1") {
		t.Error("listed past last hit + TTL after a restart")
	}
}

func TestStateFileFormat(t *testing.T) {
	clk := newClock()
	state := filepath.Join(t.TempDir(), "traps.json")
	tr := newTraps(t, Config{StatePath: state}, clk)
	mustRecord(t, tr, "192.0.2.1", "Trap@Example.test", ReasonMailbox)
	var st struct {
		Version int
		Updated time.Time
		Entries []map[string]any
	}
	if err := json.Unmarshal([]byte(readFile(t, state)), &st); err != nil {
		t.Fatal(err)
	}
	if st.Version != 1 || !st.Updated.Equal(clk.Now()) || len(st.Entries) != 1 {
		t.Fatalf("state = %+v", st)
	}
	want := map[string]any{"ip": "192.0.2.1", "first": "2026-03-01T12:00:00Z", "last": "2026-03-01T12:00:00Z",
		"hits": 1.0, "rcpt": "trap@example.test", "reason": "trap mailbox"}
	if fmt.Sprint(st.Entries[0]) != fmt.Sprint(want) {
		t.Errorf("entry = %v\nwant %v", st.Entries[0], want)
	}
	if fi, err := os.Stat(state); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode: %v %v", fi.Mode(), err)
	}
}

// TestOtherProcessEdits is what "fakesmtp traps add|remove" does while
// the server runs: a second Traps on the same state file changes it, and
// the first sees the change once StateCheckInterval has passed on its
// clock.
func TestOtherProcessEdits(t *testing.T) {
	clk := newClock()
	state := filepath.Join(t.TempDir(), "traps.json")
	server := newTraps(t, Config{StatePath: state, TTL: time.Hour}, clk)
	mustRecord(t, server, "192.0.2.1", "trap@example.test", ReasonMailbox)
	cli := newTraps(t, Config{StatePath: state, TTL: time.Hour}, clk)
	if !listed(cli, "192.0.2.1") {
		t.Fatal("CLI does not see the server's entry")
	}

	ip := netip.MustParseAddr("198.51.100.5")
	if err := cli.Add(ip, "from the logs"); err != nil {
		t.Fatal(err)
	}
	if listed(server, "198.51.100.5") {
		t.Error("server re-read the state before the check interval")
	}
	clk.Advance(StateCheckInterval)
	e, ok := server.Listed(ip)
	if !ok || e.Reason != "from the logs" {
		t.Errorf("server after the interval: %+v, %v", e, ok)
	}

	if ok, err := cli.Remove(netip.MustParseAddr("192.0.2.1")); !ok || err != nil {
		t.Fatalf("CLI Remove = %v, %v", ok, err)
	}
	if !listed(server, "192.0.2.1") {
		t.Error("removal seen before the check interval")
	}
	clk.Advance(StateCheckInterval)
	if listed(server, "192.0.2.1") {
		t.Error("removal not seen after the check interval")
	}

	// The server's next hit keeps the CLI's edits: writes re-read the file
	// under the lock instead of writing back a stale copy.
	if err := cli.Add(netip.MustParseAddr("203.0.113.3"), ""); err != nil {
		t.Fatal(err)
	}
	mustRecord(t, server, "192.0.2.99", "trap@example.test", ReasonMailbox)
	clk.Advance(StateCheckInterval)
	var gotServer []string
	for _, e := range server.Entries() {
		gotServer = append(gotServer, e.IP.String())
	}
	want := "192.0.2.99 198.51.100.5 203.0.113.3"
	if strings.Join(gotServer, " ") != want {
		t.Errorf("server entries = %v, want %s", gotServer, want)
	}
}

// TestMtimeOnlyChange covers a file replaced in place by hand (same
// inode): the modification time alone triggers the reload.
func TestMtimeOnlyChange(t *testing.T) {
	clk := newClock()
	state := filepath.Join(t.TempDir(), "traps.json")
	tr := newTraps(t, Config{StatePath: state, TTL: time.Hour}, clk)
	mustRecord(t, tr, "192.0.2.1", "trap@example.test", ReasonMailbox)
	data := strings.Replace(readFile(t, state), "192.0.2.1", "192.0.2.2", 1)
	if err := os.WriteFile(state, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Hour)
	if err := os.Chtimes(state, future, future); err != nil {
		t.Fatal(err)
	}
	clk.Advance(StateCheckInterval)
	if listed(tr, "192.0.2.1") || !listed(tr, "192.0.2.2") {
		t.Error("in-place edit not picked up")
	}
}

func TestBrokenStateKeepsList(t *testing.T) {
	clk := newClock()
	state := filepath.Join(t.TempDir(), "traps.json")
	tr := newTraps(t, Config{StatePath: state, TTL: time.Hour}, clk)
	mustRecord(t, tr, "192.0.2.1", "trap@example.test", ReasonMailbox)
	writeFile(t, state, "{broken")
	clk.Advance(StateCheckInterval)
	if !listed(tr, "192.0.2.1") {
		t.Error("a broken state file emptied the list in memory")
	}
	if err := tr.Record(netip.MustParseAddr("192.0.2.2"), "trap@example.test", ReasonMailbox); err == nil {
		t.Error("Record over a broken state file succeeded (it would drop the file's entries)")
	}
}

func TestPruneRemovesExpired(t *testing.T) {
	clk := newClock()
	state := filepath.Join(t.TempDir(), "traps.json")
	tr := newTraps(t, Config{StatePath: state, TTL: time.Hour}, clk)
	mustRecord(t, tr, "192.0.2.1", "trap@example.test", ReasonMailbox)
	clk.Advance(30 * time.Minute)
	mustRecord(t, tr, "192.0.2.2", "trap@example.test", ReasonMailbox)
	clk.Advance(30 * time.Minute)
	if err := tr.Prune(); err != nil {
		t.Fatal(err)
	}
	s := readFile(t, state)
	if strings.Contains(s, "192.0.2.1") || !strings.Contains(s, "192.0.2.2") {
		t.Errorf("state after Prune:\n%s", s)
	}
}

// TestRunPrunes runs the pruning loop in a synctest bubble, where the
// ticker's time is fake and the test never sleeps.
func TestRunPrunes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		tr, err := New(Config{StatePath: filepath.Join(dir, "traps.json"), ListFile: filepath.Join(dir, "traps.rbl"), TTL: time.Minute}, time.Now, nil)
		if err != nil {
			t.Fatal(err)
		}
		mustRecord(t, tr, "192.0.2.1", "trap@example.test", ReasonMailbox)
		ctx, cancel := contextWithCancel(t)
		done := make(chan struct{})
		go func() { tr.Run(ctx); close(done) }()
		time.Sleep(PruneInterval + time.Second) // fake time in the bubble
		synctest.Wait()
		if s := readFile(t, filepath.Join(dir, "traps.rbl.cidr")); strings.Contains(s, "192.0.2.1") {
			t.Errorf("cidr file after Run's prune still lists the client:\n%s", s)
		}
		cancel()
		<-done
	})
}

// TestConcurrentWriters has two Traps on one state file (two processes)
// record different clients at once: the lock makes every hit survive.
func TestConcurrentWriters(t *testing.T) {
	clk := newClock()
	state := filepath.Join(t.TempDir(), "traps.json")
	a := newTraps(t, Config{StatePath: state}, clk)
	b := newTraps(t, Config{StatePath: state}, clk)
	var wg sync.WaitGroup
	for i := range 20 {
		for j, tr := range []*Traps{a, b} {
			wg.Go(func() {
				ip := netip.AddrFrom4([4]byte{192, 0, 2, byte(i*2 + j + 1)})
				if err := tr.Record(ip, "trap@example.test", ReasonMailbox); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	c := newTraps(t, Config{StatePath: state}, clk)
	if n := len(c.Entries()); n != 40 {
		t.Errorf("%d entries after 40 concurrent hits from two writers", n)
	}
}
