package config

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCheckFiles(t *testing.T) {
	dir := t.TempDir()
	readable := filepath.Join(dir, "domains.txt")
	if err := os.WriteFile(readable, []byte("example.org\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.txt")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// Tests run as root in CI, and root ignores permission bits, so an
	// unusable path is one under a regular file.
	regular := filepath.Join(dir, "file")
	if err := os.WriteFile(regular, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	traps := filepath.Join(dir, "traps.txt")
	if err := os.WriteFile(traps, []byte("# comment\n<Trap@Example.ORG.>\n\nspam@example.org # inline\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	badTraps := filepath.Join(dir, "bad-traps.txt")
	if err := os.WriteFile(badTraps, []byte("trap@example.org\nnot-an-address\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	existingLog := filepath.Join(dir, "old.log")
	if err := os.WriteFile(existingLog, []byte("kept\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		edit func(c *Config)
		want []string // substrings, one per expected problem
	}{
		{"all fine", func(c *Config) {
			c.LocalDomains, c.LocalMailboxes = readable, empty
			c.StorePath = filepath.Join(dir, "new", "spool")
			c.LogPath = filepath.Join(dir, "logs")
		}, nil},
		{"nothing to check", func(c *Config) { c.StoreData, c.StorePath = false, regular }, nil},
		{"trap mailboxes in every form serve accepts", func(c *Config) { c.TrapMailboxes = traps }, nil},
		// serve refuses this file at start (traps.New), so check-config must.
		{"trap mailbox not local@domain", func(c *Config) { c.TrapMailboxes = badTraps },
			[]string{`trap_mailboxes: traps: mailboxes ` + badTraps + `: line 2: "not-an-address" is not local@domain`}},
		// A file that cannot be read is one problem, not two.
		{"trap mailboxes missing", func(c *Config) { c.TrapMailboxes = filepath.Join(dir, "nope3.txt") },
			[]string{"trap_mailboxes: open"}},
		{"missing lists", func(c *Config) {
			c.LocalDomains = filepath.Join(dir, "nope.txt")
			c.LocalMailboxes = filepath.Join(dir, "nope2.txt")
		}, []string{"local_domains: open", "local_mailboxes: open"}},
		{"list is a directory", func(c *Config) { c.LocalDomains = dir }, []string{"local_domains: read"}},
		{"store path under a file", func(c *Config) { c.StorePath = filepath.Join(regular, "sub") }, []string{"store_path: mkdir"}},
		{"store path is a file", func(c *Config) { c.StorePath = regular }, []string{"store_path: mkdir"}},
		{"log under a file", func(c *Config) { c.LogPath = filepath.Join(regular, "sub") }, []string{"log_path: mkdir"}},
		{"log path is a file", func(c *Config) { c.LogPath = existingLog }, []string{"log_path: mkdir"}},
		{"existing log folder", func(c *Config) { c.LogPath = dir }, nil},
		{"everything at once", func(c *Config) {
			c.LocalDomains = filepath.Join(dir, "nope.txt")
			c.LocalMailboxes = dir
			c.StorePath = filepath.Join(regular, "a")
			c.LogPath = filepath.Join(regular, "b")
		}, []string{"local_domains", "local_mailboxes", "store_path", "log_path"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			c.StorePath = filepath.Join(dir, "spool")
			tt.edit(c)
			probs := CheckFiles(c)
			if len(probs) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(probs), len(tt.want), probs)
			}
			containsAll(t, probs, tt.want...)
		})
	}

	// The checks leave no files behind and do not touch existing ones.
	if entries, _ := os.ReadDir(filepath.Join(dir, "logs")); len(entries) != 0 {
		t.Errorf("log check left %d files behind", len(entries))
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "new", "spool")); len(entries) != 0 {
		t.Errorf("store check left %d files behind", len(entries))
	}
	if b, _ := os.ReadFile(existingLog); string(b) != "kept\n" {
		t.Errorf("existing log changed to %q", b)
	}
}
