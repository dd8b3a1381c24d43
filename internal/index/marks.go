package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Delete removes the entries of the given IDs; IDs not in the index are
// skipped. It removes index entries only: deleting the files is the
// store's business.
func (ix *Index) Delete(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	err := ix.write(ctx, func(tx *sql.Tx) ([]Event, error) {
		gone, err := deleteTx(ctx, tx, ids)
		if err != nil || len(gone) == 0 {
			return nil, err
		}
		return []Event{{Kind: EventDelete, IDs: gone}}, nil
	})
	// A deleted seq may be a hole in the run putStmts.freeSeq skips.
	ix.run.Store(nil)
	if err != nil {
		return fmt.Errorf("index: delete: %w", err)
	}
	return nil
}

// deleteTx deletes the rows of ids and their FTS entries (labels go by
// ON DELETE CASCADE) and returns the IDs that were there.
func deleteTx(ctx context.Context, tx *sql.Tx, ids []string) ([]string, error) {
	del, err := tx.PrepareContext(ctx, `DELETE FROM messages WHERE id = ? RETURNING seq`)
	if err != nil {
		return nil, err
	}
	defer del.Close()
	fts, err := tx.PrepareContext(ctx, `DELETE FROM messages_fts WHERE rowid = ?`)
	if err != nil {
		return nil, err
	}
	defer fts.Close()
	var gone []string
	for _, msgID := range ids {
		var seq int64
		err := del.QueryRowContext(ctx, msgID).Scan(&seq)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if _, err := fts.ExecContext(ctx, seq); err != nil {
			return nil, err
		}
		gone = append(gone, msgID)
	}
	return gone, nil
}

// DeleteAll empties the message index and returns the IDs it held, so
// that the caller can remove their files. Sessions are kept.
func (ix *Index) DeleteAll(ctx context.Context) ([]string, error) {
	var ids []string
	err := ix.write(ctx, func(tx *sql.Tx) ([]Event, error) {
		rows, err := tx.QueryContext(ctx, `SELECT id FROM messages ORDER BY id`)
		if err != nil {
			return nil, err
		}
		if ids, err = scanStrings(rows); err != nil {
			return nil, err
		}
		// 'delete-all' drops the whole FTS index at once instead of
		// row by row.
		for _, q := range []string{
			`INSERT INTO messages_fts(messages_fts) VALUES ('delete-all')`,
			// Children first: then the cascades find nothing to do.
			`DELETE FROM message_info`,
			`DELETE FROM labels`,
			`DELETE FROM messages`,
			// Nothing is left to refill (see Indexer.Reconcile).
			`DELETE FROM fts_stale`,
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return nil, err
			}
		}
		return []Event{{Kind: EventDeleteAll, IDs: ids}}, nil
	})
	ix.run.Store(nil)
	if err != nil {
		return nil, fmt.Errorf("index: delete all: %w", err)
	}
	return ids, nil
}

// SetRead sets the read mark of the given messages and returns how many
// changed: IDs not in the index, and messages already marked so, are
// skipped and not counted.
func (ix *Index) SetRead(ctx context.Context, read bool, ids ...string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	var n int
	err := ix.write(ctx, func(tx *sql.Tx) ([]Event, error) {
		st, err := tx.PrepareContext(ctx, `UPDATE messages SET read = ? WHERE id = ? AND read != ?`)
		if err != nil {
			return nil, err
		}
		defer st.Close()
		var changed []string
		for _, msgID := range ids {
			res, err := st.ExecContext(ctx, read, msgID, read)
			if err != nil {
				return nil, err
			}
			if n, _ := res.RowsAffected(); n > 0 {
				changed = append(changed, msgID)
			}
		}
		n = len(changed)
		if len(changed) == 0 {
			return nil, nil
		}
		return []Event{{Kind: EventUpdate, IDs: changed}}, nil
	})
	if err != nil {
		return 0, fmt.Errorf("index: set read: %w", err)
	}
	return n, nil
}

// AddTags adds tags to a message (ErrNotFound if it is not indexed).
// Tags are trimmed; empty ones are dropped and a tag the message already
// has, in any case, is not added again.
func (ix *Index) AddTags(ctx context.Context, msgID string, tags ...string) error {
	return ix.changeTags(ctx, "add tags", msgID, `INSERT OR IGNORE INTO labels(msg, kind, value) VALUES (?, 3, ?)`, tags)
}

// RemoveTags removes tags from a message (ErrNotFound if it is not
// indexed), compared without regard to case.
func (ix *Index) RemoveTags(ctx context.Context, msgID string, tags ...string) error {
	return ix.changeTags(ctx, "remove tags", msgID, `DELETE FROM labels WHERE msg = ? AND kind = 3 AND value = ?`, tags)
}

func (ix *Index) changeTags(ctx context.Context, op, msgID, q string, tags []string) error {
	err := ix.write(ctx, func(tx *sql.Tx) ([]Event, error) {
		var seq int64
		err := tx.QueryRowContext(ctx, `SELECT seq FROM messages WHERE id = ?`, msgID).Scan(&seq)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		if err != nil {
			return nil, err
		}
		n := int64(0)
		for _, t := range cleanLabels(tags) {
			res, err := tx.ExecContext(ctx, q, seq, t)
			if err != nil {
				return nil, err
			}
			k, _ := res.RowsAffected()
			n += k
		}
		if n == 0 {
			return nil, nil
		}
		return []Event{{Kind: EventUpdate, IDs: []string{msgID}}}, nil
	})
	if err != nil {
		return fmt.Errorf("index: %s %s: %w", op, msgID, err)
	}
	return nil
}
