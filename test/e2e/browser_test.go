package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// The web UI in Debian's headless Chromium, driven by playwright-core
// (test/browser, installed by test.sh with npm ci): live updates, the
// sandboxed HTML view, attachment download, search, delete, dark mode
// and a phone viewport, against this test run's binary.
func TestBrowserUI(t *testing.T) {
	t.Parallel()
	node := tool(t, "node", "apt-get install nodejs")
	tool(t, "chromium", "apt-get install chromium")
	dir := filepath.Join(moduleDir(t), "test", "browser")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); err != nil {
		t.Fatalf("playwright-core is not installed: run (cd test/browser && npm ci): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "ui.test.mjs")
	cmd.Dir = dir
	cmd.Env = append(childEnv(t), "FAKESMTP_BIN="+binPath, "SCREENSHOTS="+filepath.Join(t.TempDir(), "screenshots"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("browser tests failed: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
