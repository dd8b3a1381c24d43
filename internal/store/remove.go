package store

import (
	"errors"
	"fmt"
	"os"
)

// Remove deletes the message file of msgID (the web UI's delete). A file
// that is already gone is not an error: deletes may race with retention
// pruning.
func (s *Store) Remove(msgID string) error {
	p, err := s.FilePath(msgID)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("store: remove %s: %w", msgID, err)
	}
	return nil
}
