package index

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// migrationFiles are the schema steps, migrations/NNNN_name.sql, numbered
// from 1 without gaps and applied in order. A released step is never
// edited: a change is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// ErrSchemaTooNew means the database was migrated by a newer fakesmtp
// than this one: its tables may mean something this code does not know,
// so it is not touched. Delete the file to rebuild the index from the
// message files (read marks and tags are lost).
var ErrSchemaTooNew = errors.New("index: database schema is newer than this program")

// migration is one schema step.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads and checks the embedded steps.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, n := range names {
		base := path.Base(n)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name is not NNNN_name.sql", base)
		}
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: expected version %d (numbers start at 1, no gaps or repeats)", m.name, i+1)
		}
	}
	return ms, nil
}

// migrate applies the steps the database has not seen yet, each in its
// own transaction together with its row in schema_migrations, so a crash
// leaves the database at a whole step.
func migrate(ctx context.Context, db *sql.DB, logger *slog.Logger) error {
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		return err
	}
	return applyMigrations(ctx, db, ms, logger)
}

func applyMigrations(ctx context.Context, db *sql.DB, ms []migration, logger *slog.Logger) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// Each step re-reads the version inside its write transaction, so
	// two processes opening a fresh index at once apply every step once.
	for {
		done, err := applyNext(ctx, db, ms, logger)
		if err != nil || done {
			return err
		}
	}
}

// applyNext applies the first step the database lacks; done reports that
// there was none.
func applyNext(ctx context.Context, db *sql.DB, ms []migration, logger *slog.Logger) (done bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return false, fmt.Errorf("migrate: %w", err)
	}
	if current > len(ms) {
		return false, fmt.Errorf("%w: version %d, this program knows up to %d", ErrSchemaTooNew, current, len(ms))
	}
	if current == len(ms) {
		return true, nil
	}
	m := ms[current]
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, fmt.Errorf("migrate %s: %w", m.name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)`,
		m.version, m.name, time.Now().UnixNano()); err != nil {
		return false, fmt.Errorf("migrate %s: %w", m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migrate %s: %w", m.name, err)
	}
	logger.Info("index schema migrated", "version", m.version, "step", m.name)
	return false, nil
}
