package config

import (
	"errors"
	"fmt"
	"io"
	"os"

	"fakesmtp/internal/policy/traps"
)

// CheckFiles checks the files and directories c names, as the running
// receiver will use them, and returns every problem:
//
//   - local_domains, local_mailboxes, trap_mailboxes and auth_users_file,
//     when set, can be opened and read;
//   - trap_mailboxes holds one local@domain address per line, as serve
//     requires;
//   - store_path, when store_data is on, exists or can be created, and a
//     file can be created in it and removed again;
//   - log_path, when set, is a folder that exists or can be created, and
//     in which the monthly log files can be created.
//
// Load does not call it, because a pure function of its inputs is easier to
// test and reuse; main and check-config do. It creates the directories it
// checks (the receiver would create them anyway) and removes any file it
// had to create.
func CheckFiles(c *Config) Problems {
	var probs Problems
	for _, f := range []struct{ key, path string }{
		{"local_domains", c.LocalDomains},
		{"local_mailboxes", c.LocalMailboxes},
		{"trap_mailboxes", c.TrapMailboxes},
		{"auth_users_file", c.AuthUsersFile},
	} {
		if f.path == "" {
			continue
		}
		if err := checkReadable(f.path); err != nil {
			probs.add("%s: %v", f.key, err)
			continue
		}
		if f.key == "trap_mailboxes" {
			if err := checkTrapMailboxes(f.path); err != nil {
				probs.add("%s: %v", f.key, err)
			}
		}
	}
	if c.StoreData {
		if err := checkWritableDir(c.StorePath); err != nil {
			probs.add("%s: %v", keyStorePath, err)
		}
	}
	if c.LogPath != "" {
		if err := checkWritableDir(c.LogPath); err != nil {
			probs.add("log_path: %v", err)
		}
	}
	return probs
}

// checkReadable opens path and reads from it; reading is what fails for a
// directory.
func checkReadable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Read(make([]byte, 1)); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// checkTrapMailboxes parses the trap address file the way serve does, so a
// line that is not local@domain is reported here rather than at start.
func checkTrapMailboxes(path string) error {
	_, err := traps.ReadMailboxes(path)
	return err
}

// checkWritableDir creates dir if needed and proves a file can be created
// in it. Permission bits alone would not tell: root ignores them, and a
// read-only mount does not show in them.
func checkWritableDir(dir string) error {
	if dir == "" {
		return errors.New("empty path")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".fakesmtp-check-*")
	if err != nil {
		return err
	}
	name := f.Name()
	cerr := f.Close()
	if err := os.Remove(name); err != nil {
		return err
	}
	return cerr
}
