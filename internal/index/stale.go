package index

import (
	"context"
	"database/sql"
	"fmt"
)

// staleText returns the IDs of the messages whose words are missing from
// the full-text index and must be read again from their files: the
// table fts_stale, filled by migrations that had to empty messages_fts
// (0002_seq_micro.sql renumbered seq, and a contentless FTS5 table can
// neither renumber its rows nor give their text back). Indexer.Reconcile
// refills them.
func (ix *Index) staleText(ctx context.Context) ([]string, error) {
	rows, err := ix.r.QueryContext(ctx, `SELECT id FROM fts_stale ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("index: stale text: %w", err)
	}
	ids, err := scanStrings(rows)
	if err != nil {
		return nil, fmt.Errorf("index: stale text: %w", err)
	}
	return ids, nil
}

// clearStaleText takes ids off the list of staleText, once their
// messages were indexed again (or found gone).
func (ix *Index) clearStaleText(ctx context.Context, ids []string) error {
	err := ix.write(ctx, func(tx *sql.Tx) ([]Event, error) {
		st, err := tx.PrepareContext(ctx, `DELETE FROM fts_stale WHERE id = ?`)
		if err != nil {
			return nil, err
		}
		defer st.Close()
		for _, i := range ids {
			if _, err := st.ExecContext(ctx, i); err != nil {
				return nil, err
			}
		}
		return nil, nil
	})
	if err != nil {
		return fmt.Errorf("index: clear stale text: %w", err)
	}
	return nil
}
