package index

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"
	"testing/fstest"
)

func TestEmbeddedMigrationsAreNumbered(t *testing.T) {
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].name != "0001_init.sql" {
		t.Fatalf("first migration = %+v, want 0001_init.sql", ms)
	}
}

func TestLoadMigrationsRejectsBadSets(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"gap":        {"migrations/0001_a.sql": {}, "migrations/0003_c.sql": {}},
		"repeat":     {"migrations/0001_a.sql": {}, "migrations/0001_b.sql": {}},
		"zero":       {"migrations/0000_a.sql": {}},
		"unnumbered": {"migrations/init.sql": {}},
	} {
		if _, err := loadMigrations(fsys); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func appliedMigrations(t *testing.T, path string) map[int]int64 {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT version, applied_at FROM schema_migrations`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int]int64{}
	for rows.Next() {
		var v int
		var at int64
		if err := rows.Scan(&v, &at); err != nil {
			t.Fatal(err)
		}
		out[v] = at
	}
	return out
}

func TestSecondOpenIsNoop(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "index.db")
	logger := slog.New(slog.DiscardHandler)
	ix, err := Open(ctx, path, logger)
	if err != nil {
		t.Fatal(err)
	}
	m := corpus()["plain"]
	if err := ix.Put(ctx, m); err != nil {
		t.Fatal(err)
	}
	ix.Close()
	first := appliedMigrations(t, path)
	ms, _ := loadMigrations(migrationFiles)
	if len(first) != len(ms) {
		t.Fatalf("applied %v, want %d steps", first, len(ms))
	}

	ix, err = Open(ctx, path, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	second := appliedMigrations(t, path)
	for v, at := range first {
		if second[v] != at {
			t.Errorf("step %d re-applied (applied_at %d, then %d)", v, at, second[v])
		}
	}
	if len(second) != len(first) {
		t.Errorf("steps %v after the second open, want %v", second, first)
	}
	if _, err := ix.Get(ctx, m.ID); err != nil {
		t.Errorf("data lost across opens: %v", err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "index.db")
	logger := slog.New(slog.DiscardHandler)
	ix, err := Open(ctx, path, logger)
	if err != nil {
		t.Fatal(err)
	}
	ix.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO schema_migrations VALUES (9999, '9999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	ix, err = Open(ctx, path, logger)
	if !errors.Is(err, ErrSchemaTooNew) {
		if ix != nil {
			ix.Close()
		}
		t.Fatalf("Open of a newer schema: err = %v, want ErrSchemaTooNew", err)
	}
}

func TestMigrationsApplyInOrderAndResume(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	logger := slog.New(slog.DiscardHandler)
	step1 := migration{1, "0001_a.sql", "CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (1);"}
	step2 := migration{2, "0002_b.sql", "CREATE TABLE b AS SELECT x + 1 AS y FROM a;"}
	if err := applyMigrations(ctx, db, []migration{step1}, logger); err != nil {
		t.Fatal(err)
	}
	// A later program with one more step applies only that one.
	if err := applyMigrations(ctx, db, []migration{step1, step2}, logger); err != nil {
		t.Fatal(err)
	}
	var y int
	if err := db.QueryRow(`SELECT y FROM b`).Scan(&y); err != nil || y != 2 {
		t.Fatalf("step 2 result = %d, %v", y, err)
	}
	var n int
	db.QueryRow(`SELECT count(*) FROM a`).Scan(&n)
	if n != 1 {
		t.Errorf("step 1 ran %d times", n)
	}
	// A failing step leaves the version where it was.
	bad := migration{3, "0003_bad.sql", "CREATE TABLE c (z INTEGER); THIS IS NOT SQL;"}
	if err := applyMigrations(ctx, db, []migration{step1, step2, bad}, logger); err == nil {
		t.Fatal("bad step applied")
	}
	var v int
	db.QueryRow(`SELECT max(version) FROM schema_migrations`).Scan(&v)
	if v != 2 {
		t.Errorf("version after a failed step = %d, want 2", v)
	}
	if err := db.QueryRow(`SELECT count(*) FROM c`).Scan(&n); err == nil {
		t.Error("failed step left table c behind")
	}
}
