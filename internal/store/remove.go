package store

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// Remove deletes the message file of msgID (the web UI's delete). A file
// that is already gone is not an error: deletes may race with retention
// pruning.
func (s *Store) Remove(msgID string) error {
	p, err := s.FilePath(msgID)
	if err != nil {
		return err
	}
	// Every form (see Compact); a shared body stays until no .ref file
	// names it (collectBodies).
	for _, f := range []string{p, p + ".zst", strings.TrimSuffix(p, Ext) + ExtRef} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("store: remove %s: %w", msgID, err)
		}
	}
	return nil
}
